"""A marketplace that sends listings through the API; its user holds the API token.

Every marketplace client is a tenant: seller ids and listing ids are unique per client, and sellers, listings,
notices, ratings and sales reports belong to one client only (brands, references and the counterfeit bank are
shared). Rows that came in without a client (catalog imports, ``ingest_listings``, data from before tenancy) belong
to the *default tenant*, a client with no API user.
"""
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
    # Null only for the default tenant (no API user can act as it).
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="marketplace_client")
    is_default = models.BooleanField(default=False, editable=False)
    webhook_url = models.URLField(blank=True)
    # The webhook signing secret is derived from this number (notifications.webhooks.signing_secret): rotating
    # bumps it, so no secret is stored and the old one stops verifying at once.
    secret_version = models.PositiveIntegerField(default=0)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MarketplaceClientQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_tenant")]

    def __str__(self) -> str:
        return self.name


DEFAULT_TENANT_NAME = "default"


def default_tenant() -> MarketplaceClient:
    """The tenant of rows that arrive without an API client (catalog imports, ``ingest_listings``)."""
    tenant = MarketplaceClient.objects.filter(is_default=True).first()
    if tenant is None:
        tenant, _ = MarketplaceClient.objects.get_or_create(is_default=True, defaults={"name": DEFAULT_TENANT_NAME})
    return tenant


def tenant_of(user) -> MarketplaceClient | None:
    """The tenant an API user acts for (None for everyone else)."""
    if role_of(user) != Role.API_CLIENT:
        return None
    return MarketplaceClient.objects.filter(user=user).first()
