from django.contrib import admin

from .models import Detection, Listing, Seller

admin.site.register([Seller, Listing, Detection])
