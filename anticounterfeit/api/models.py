"""A marketplace that sends listings through the API; its user holds the API token."""
from django.conf import settings
from django.db import models


class MarketplaceClient(models.Model):
    name = models.CharField(max_length=120, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketplace_client")
    webhook_url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
