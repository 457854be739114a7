"""Creating users for a role (demo accounts, admin invitations)."""
from django.contrib.auth import get_user_model
from django.db import transaction

from anticounterfeit.core import audit

from .models import Profile, Role


@transaction.atomic
def create_user_with_role(
    username: str, password: str, role: str, *, brands=(), seller=None, email: str = "", acting_user=None
):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    if role == Role.ADMIN:
        user.is_staff = user.is_superuser = True
    user.save()
    profile, _ = Profile.objects.update_or_create(user=user, defaults={"role": role, "seller": seller})
    if brands:
        profile.brands.set(brands)
    audit.record("user.create" if created else "user.update", profile, actor=acting_user, after={"role": role})
    return user
