from django.contrib import admin

from .models import AuditEvent, DetectionPolicy


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor_name", "request_id"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DetectionPolicy)
class DetectionPolicyAdmin(admin.ModelAdmin):
    list_display = ["review_threshold", "high_priority_threshold", "updated_at"]
