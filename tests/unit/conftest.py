"""Unit tests need no services: no database, no Redis, no worker.

pytest-django already refuses database access to a test without the ``django_db`` mark; here a unit test that asks
for the database or a worker (mark or fixture) is a collection error, and any Redis connection fails the test.
"""
from pathlib import Path

import pytest
import redis.connection

UNIT = Path(__file__).resolve().parent
SERVICE_MARKS = ("django_db", "services")
SERVICE_FIXTURES = ("db", "transactional_db", "django_db_setup", "live_server", "celery_worker_real")


def _needs_services(item) -> list[str]:
    return ([f"mark {name}" for name in SERVICE_MARKS if item.get_closest_marker(name)]
            + [f"fixture {name}" for name in SERVICE_FIXTURES if name in getattr(item, "fixturenames", ())])


def pytest_collection_modifyitems(config, items):
    wrong = [f"{item.nodeid} ({', '.join(found)})" for item in items
             if UNIT in Path(item.path).resolve().parents and (found := _needs_services(item))]
    if wrong:
        raise pytest.UsageError("tests/unit needs no services; move these to tests/integration:\n  "
                                + "\n  ".join(wrong))


@pytest.fixture(autouse=True)
def _no_redis(monkeypatch):
    """Any Redis client (redis-py, Celery's broker, a Redis cache) connects through this method."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("a unit test connected to Redis: it belongs in tests/integration")

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", refuse)
