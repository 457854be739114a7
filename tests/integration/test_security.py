"""Abuse limits on PostgreSQL: login lockout, API throttling (production settings: tests/unit/test_production_settings.py)."""
import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from anticounterfeit.accounts.models import Role
from anticounterfeit.core.models import AuditEvent
from tests.factories import market_api

pytestmark = [pytest.mark.services]


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_login_locks_after_repeated_failures_without_touching_other_accounts(client, make_user, settings):
    settings.LOGIN_RATE_LIMIT = {**settings.LOGIN_RATE_LIMIT, "FAILURES": 3}
    victim = make_user("victim", Role.MODERATOR)
    make_user("bystander", Role.MODERATOR)
    for _ in range(3):
        assert client.post("/login/", {"username": "victim", "password": "guess"}).status_code == 200
    locked = client.post("/login/", {"username": "victim", "password": "pw-123456"})
    assert locked.status_code == 429 and locked["Retry-After"]
    assert b"Too many failed attempts" in locked.content
    assert "_auth_user_id" not in client.session, "a locked account must not log in even with the right password"
    assert AuditEvent.objects.filter(action="login.locked", object_id=str(victim.pk)).count() == 1
    ok = client.post("/login/", {"username": "bystander", "password": "pw-123456"})
    assert ok.status_code == 302, "another account from the same address is not locked by one account's failures"


@pytest.mark.django_db
def test_login_success_resets_the_failure_count(client, make_user, settings):
    settings.LOGIN_RATE_LIMIT = {**settings.LOGIN_RATE_LIMIT, "FAILURES": 3}
    make_user("mod", Role.MODERATOR)
    for _ in range(2):
        client.post("/login/", {"username": "mod", "password": "guess"})
    assert client.post("/login/", {"username": "mod", "password": "pw-123456"}).status_code == 302
    client.logout()
    for _ in range(2):
        assert client.post("/login/", {"username": "mod", "password": "guess"}).status_code == 200
    assert client.post("/login/", {"username": "mod", "password": "pw-123456"}).status_code == 302


@pytest.mark.django_db
def test_api_is_throttled_per_client(make_user, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})
    clients = []
    for name in ("a", "b"):
        clients.append(market_api(make_user, f"market-{name}", f"Market {name}"))
    a, b = clients
    assert [a.get("/api/v1/listings/nope").status_code for _ in range(3)] == [404, 404, 404]
    throttled = a.get("/api/v1/listings/nope")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert b.get("/api/v1/listings/nope").status_code == 404, "one client's flood must not throttle another"
