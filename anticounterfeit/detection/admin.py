from django.contrib import admin

from anticounterfeit.detection import actions
from anticounterfeit.detection.models import AllowRule, BrandPolicy, ScorerVersion


@admin.register(ScorerVersion)
class ScorerVersionAdmin(admin.ModelAdmin):
    """Read-only: versions change only through ``detection.actions`` (train / activate / rollback)."""

    list_display = ("number", "version", "is_active", "n_decisions", "n_counterfeit", "created_at", "created_by")
    readonly_fields = [f.name for f in ScorerVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BrandPolicy)
class BrandPolicyAdmin(admin.ModelAdmin):
    """Per-brand threshold overrides; saving goes through the audited action."""

    list_display = ("brand", "review_threshold", "updated_at")

    def save_model(self, request, obj, form, change) -> None:
        actions.set_brand_threshold(obj.brand, obj.review_threshold, acting_user=request.user)


@admin.register(AllowRule)
class AllowRuleAdmin(admin.ModelAdmin):
    list_display = ("scope", "seller", "reference", "image_sha256", "decision", "created_by", "created_at")
    list_filter = ("scope",)
    readonly_fields = ("decision", "created_by", "created_at")
