from django.contrib import admin

from .models import AuthorizedSeller, Brand, ImportJob, ReferenceImage, ReferenceItem


class ReferenceImageInline(admin.TabularInline):
    model = ReferenceImage
    extra = 0


@admin.register(ReferenceItem)
class ReferenceItemAdmin(admin.ModelAdmin):
    list_display = ["ref_key", "brand", "title", "kind", "msrp", "quarantined"]
    list_filter = ["brand", "kind", "quarantined"]
    inlines = [ReferenceImageInline]


admin.site.register([Brand, AuthorizedSeller, ImportJob])
