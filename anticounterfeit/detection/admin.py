from django.contrib import admin

from anticounterfeit.detection.models import ScorerVersion


@admin.register(ScorerVersion)
class ScorerVersionAdmin(admin.ModelAdmin):
    """Read-only: versions change only through ``detection.actions`` (train / activate / rollback)."""

    list_display = ("number", "version", "is_active", "n_decisions", "n_counterfeit", "created_at", "created_by")
    readonly_fields = [f.name for f in ScorerVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
