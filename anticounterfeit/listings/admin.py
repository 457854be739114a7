from django.contrib import admin

from .models import Listing, Seller

admin.site.register([Seller, Listing])
