"""The login lockout as a person sees it: a clear message, and the right password does not slip through."""
import pytest
from django.core.cache import cache

from anticounterfeit.accounts.models import Role

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_lockout_message(live_server, browser, make_user, shot, settings):
    cache.clear()
    settings.LOGIN_RATE_LIMIT = {**settings.LOGIN_RATE_LIMIT, "FAILURES": 2}
    make_user("mod", Role.MODERATOR)
    page = browser.new_page(viewport={"width": 1200, "height": 700})
    login(page, live_server.url, "mod", "wrong")
    assert "Wrong username or password" in page.inner_text("body")
    shot(page, "login-wrong-password")
    login(page, live_server.url, "mod", "wrong")
    login(page, live_server.url, "mod")  # right password, but the account is locked for now
    assert "Too many failed attempts" in page.inner_text("body")
    assert page.url.rstrip("/").endswith("/login")
    shot(page, "login-locked")
    page.close()
    cache.clear()
