"""Fixtures shared by the integration modules: a marketplace API client, a brand with a reference, staff users."""
import pytest

from anticounterfeit.accounts.models import Role
from tests.factories import make_brand, make_reference, market_api


@pytest.fixture
def api(make_user):
    """The API client of marketplace "Market A" (user ``market``)."""
    return market_api(make_user, "market", "Market A")


@pytest.fixture
def acme():
    """Brand ``acme`` and its reference ``ref-a``."""
    brand = make_brand("acme", "Acme")
    return brand, make_reference(brand, "ref-a")


@pytest.fixture
def moderator(make_user):
    return make_user("mod", Role.MODERATOR)


@pytest.fixture
def staff(moderator, make_user):
    """A moderator and a lead."""
    return moderator, make_user("lead", Role.LEAD)
