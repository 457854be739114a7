from django.contrib import admin

from .models import Appeal, Case, Decision

admin.site.register([Case, Decision, Appeal])
