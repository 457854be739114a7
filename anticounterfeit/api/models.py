"""A marketplace that sends listings through the API; its user holds the API token."""
from django.conf import settings
from django.db import models

from anticounterfeit.accounts.models import Role, is_lead, role_of


class MarketplaceClientQuerySet(models.QuerySet):
    def visible_to(self, user) -> "MarketplaceClientQuerySet":
        """Leads and admins manage every client; a client's own API user sees only its own record."""
        if is_lead(user):
            return self
        if role_of(user) == Role.API_CLIENT:
            return self.filter(user=user)
        return self.none()


class MarketplaceClient(models.Model):
    name = models.CharField(max_length=120, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketplace_client")
    webhook_url = models.URLField(blank=True)
    # The webhook signing secret is derived from this number (notifications.webhooks.signing_secret): rotating
    # bumps it, so no secret is stored and the old one stops verifying at once.
    secret_version = models.PositiveIntegerField(default=0)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MarketplaceClientQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name
