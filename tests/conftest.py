"""Shared fixtures: real services detection, a real Celery worker on Redis, demo bundles, users.

Service-backed tests are marked ``services``. They skip when PostgreSQL/Redis are not configured,
and with AC_REQUIRE_SERVICES=1 (CI) any such skip fails the run.
"""
import os
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def services_configured() -> tuple[bool, str]:
    db = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not db.startswith(("postgres://", "postgresql://")):
        return False, "DATABASE_URL is not a PostgreSQL URL (run the suite with ./run test)"
    if not broker.startswith("redis://"):
        return False, "CELERY_BROKER_URL is not a Redis URL (run the suite with ./run test)"
    try:
        import redis

        redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return False, f"Redis at {broker} is not reachable: {exc}"
    return True, ""


_skipped_services: list[str] = []


SUITE_ORDER = ("unit", "integration", "browser", "bench")  # fast rules first, then services, then the browser


def _suite_rank(item) -> int:
    path = Path(item.path).resolve()
    folder = path.relative_to(TESTS).parts[0] if TESTS in path.parents else ""
    return SUITE_ORDER.index(folder) if folder in SUITE_ORDER else len(SUITE_ORDER)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_suite_rank)  # stable: each folder keeps its own order
    service_items = [item for item in items if item.get_closest_marker("services")]
    if not service_items:  # a unit-only run never touches Redis
        return
    ok, why = services_configured()
    if ok:
        return
    for item in service_items:
        item.add_marker(pytest.mark.skip(reason=f"needs real services: {why}"))


def pytest_runtest_logreport(report):
    if report.skipped and "needs real services" in str(report.longrepr):
        _skipped_services.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("AC_REQUIRE_SERVICES") == "1" and _skipped_services:
        print(f"\nFAIL: {len(_skipped_services)} service-backed test(s) were skipped, but AC_REQUIRE_SERVICES=1:")
        for nodeid in _skipped_services[:10]:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def demo_bundle(tmp_path_factory) -> Path:
    """A small bundle made by the project's own generator (no shared/ needed)."""
    from ml.synth import generate_bundle

    out = tmp_path_factory.mktemp("demo-bundle")
    generate_bundle(str(out), seed=11, n_brands=3, n_listings=36)
    return out


@pytest.fixture(autouse=True)
def _media_root(request, tmp_path_factory):
    """Each Django test gets its own media folder (uploads, banks); the embedding cache is shared; mail stays in memory."""
    if not request.config.pluginmanager.hasplugin("django") or "/unit/" in f"/{request.node.nodeid}":
        yield
        return
    settings = request.getfixturevalue("settings")
    root = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = root
    settings.DETECTION = {**settings.DETECTION, "BANK_DIR": root / "banks",
                          "EMBED_CACHE_DIR": tmp_path_factory.getbasetemp() / "embed-cache"}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Real hashing costs ~0.5 s per user on this machine; tests create many users and test no crypto.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


WORKER_QUEUES = ["scan", "index", "notify", "ocr"]
_worker_running: list[bool] = []


def _purge_worker_queues() -> None:
    from anticounterfeit.celery import app

    with app.connection_for_write() as conn:
        app.amqp.TaskConsumer(conn, queues=[app.amqp.queues[name] for name in WORKER_QUEUES]).purge()


def _quiesce_worker(timeout_s: float = 90.0) -> None:
    """Drop what a finished test left queued and wait for the running task to end.

    The session's worker outlives each test: a task still running while the test database is flushed
    deadlocks the flush, and a queued one would run against the next test's rows.
    """
    from celery.worker import state

    _purge_worker_queues()
    deadline, idle_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if state.active_requests or state.reserved_requests:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 0.15:
            break
        time.sleep(0.05)
    _purge_worker_queues()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    if _worker_running:  # after the test body, before its fixtures (and the database flush) tear down
        _quiesce_worker()


@pytest.fixture(scope="session")
def celery_worker_real(django_db_setup, django_db_blocker):
    """A real Celery worker (thread) consuming the scan/index/notify/ocr queues from Redis (as ``./run worker``)."""
    from celery.contrib.testing.worker import start_worker

    from anticounterfeit.celery import app

    assert not app.conf.task_always_eager, "worker tests need a real broker, not eager mode"
    _purge_worker_queues()  # leftovers of an earlier run name rows of another database
    with django_db_blocker.unblock():
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False,
                          queues=WORKER_QUEUES, shutdown_timeout=30, loglevel="WARNING") as worker:
            _worker_running.append(True)
            try:
                yield worker
            finally:
                _worker_running.clear()


@pytest.fixture
def make_user(db):
    from anticounterfeit.accounts.actions import create_user_with_role

    def make(username, role, **kwargs):
        return create_user_with_role(username, "pw-123456", role, **kwargs)

    return make


@pytest.fixture
def local_webhooks(settings):
    """Webhook tests deliver to a local receiver on http://127.0.0.1, which production refuses (no server-side
    request forgery, notifications.webhook_guard): allow plain http and private hosts for this test only."""
    settings.NOTIFY = {**settings.NOTIFY, "WEBHOOK_ALLOW_HTTP": True, "WEBHOOK_ALLOW_PRIVATE_HOSTS": True}
