from django.contrib import admin

from anticounterfeit.core.admin import ReadOnlyAdmin
from anticounterfeit.detection import actions
from anticounterfeit.detection.models import (
    AllowRule,
    BankVersion,
    BrandPolicy,
    Detection,
    DetectionPolicy,
    ScorerVersion,
)


@admin.register(ScorerVersion)
class ScorerVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "version", "is_active", "n_decisions", "n_counterfeit", "created_at", "created_by")


@admin.register(DetectionPolicy)
class DetectionPolicyAdmin(ReadOnlyAdmin):
    """Edited on the console's settings page (``update_detection_policy``)."""

    list_display = ("review_threshold", "high_priority_threshold", "updated_at")


@admin.register(BankVersion)
class BankVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "reason", "created_at")


@admin.register(Detection)
class DetectionAdmin(ReadOnlyAdmin):
    list_display = ("listing", "score", "brand", "bank_version", "model_version", "created_at")
    list_select_related = ("listing", "brand")


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
