from django.contrib import admin

from . import actions
from .models import AuditEvent, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that change only through actions (audited), never by hand in the admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor_name", "request_id"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Queued consequences: what is still pending (broker down) and the dead letters, which admins retry."""

    list_display = ["pk", "created_at", "task_name", "status", "attempts", "last_error", "published_at"]
    list_filter = ["status", "task_name"]
    actions = ["retry"]

    @admin.action(description="Retry the selected dead letters")
    def retry(self, request, queryset) -> None:
        count = actions.retry_dead_letters(list(queryset.values_list("pk", flat=True)), acting_user=request.user)
        self.message_user(request, f"{count} dead letter(s) queued again.")
