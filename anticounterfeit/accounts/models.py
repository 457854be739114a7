"""Who a user is to the system: a role, and for brand owners and sellers, which party."""
from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    MODERATOR = "moderator", "Moderator"
    LEAD = "lead", "Lead moderator"
    ADMIN = "admin", "Administrator"
    BRAND_OWNER = "brand_owner", "Brand owner"
    SELLER = "seller", "Seller"
    API_CLIENT = "api_client", "Marketplace API client"


STAFF_ROLES = {Role.MODERATOR, Role.LEAD, Role.ADMIN}
LEAD_ROLES = {Role.LEAD, Role.ADMIN}


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=20, choices=Role.choices)
    brands = models.ManyToManyField("catalog.Brand", blank=True, related_name="owners")
    seller = models.ForeignKey("listings.Seller", null=True, blank=True, on_delete=models.SET_NULL, related_name="users")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"


def role_of(user) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    profile = getattr(user, "profile", None)
    if profile is None:
        return Role.ADMIN if user.is_superuser else None
    return profile.role


def is_staff_role(user) -> bool:
    return role_of(user) in STAFF_ROLES


def is_lead(user) -> bool:
    return role_of(user) in LEAD_ROLES


def brand_ids_of(user) -> list[int]:
    profile = getattr(user, "profile", None)
    return list(profile.brands.values_list("pk", flat=True)) if profile else []


def seller_of(user):
    profile = getattr(user, "profile", None)
    return profile.seller if profile else None
