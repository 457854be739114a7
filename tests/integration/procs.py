"""Real service processes for fault tests and the end-to-end benchmark: a private Redis, a web server and
Celery workers as subprocesses, all pointed at the test database and at a broker of the test's own.

A private ``redis-server`` on another port lets a test stop and restart "the broker" without touching the
Redis that other developers and test sessions share.
"""
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import redis

from tests.support import wait_for

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))


def wait_until(predicate, timeout: float, message: str, interval: float = 0.2):
    """``wait_for`` with the argument order the process helpers use."""
    return wait_for(predicate, timeout=timeout, interval=interval, message=message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for the subprocesses."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def assert_schema_current() -> None:
    """Fail fast when the code has migrations the test database lacks (code changed during the run):
    subprocesses load the code from disk and would fail every task instead."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    missing = executor.migration_plan(executor.loader.graph.leaf_nodes())
    assert not missing, f"test database lacks migrations {[str(m) for m, _ in missing]}; rerun the tests"


def service_env(broker_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    from django.conf import settings

    assert_schema_current()

    env = {**os.environ, "DATABASE_URL": test_database_url(), "CELERY_BROKER_URL": broker_url,
           "MEDIA_ROOT": str(settings.MEDIA_ROOT), "VAR_DIR": str(workdir / "var"), "DEBUG": "true",
           "TORCH_THREADS": "1", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}  # this checkout
    env.pop("REDIS_URL", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class RedisServer:
    """A private, non-persistent redis-server, started exactly like the run script starts the shared one."""

    def __init__(self, port: int):
        self.port, self.proc = port, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ping, 10, f"redis on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@contextlib.contextmanager
def private_redis(port: int | None = None):
    server = RedisServer(port or free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def _log(workdir: Path, name: str):
    workdir.mkdir(parents=True, exist_ok=True)
    return open(workdir / f"{name}.log", "ab")


def start_worker(env: dict, workdir: Path, name: str, *, beat: bool = False, concurrency: int = 1,
                 loglevel: str = "WARNING", queues: str = "scan,index,notify") -> subprocess.Popen:
    """``celery worker`` (prefork pool) consuming ``queues``, optionally with embedded beat."""
    cmd = [CELERY, "-A", "anticounterfeit", "worker", "-Q", queues, "-P", "prefork",
           "-c", str(concurrency), "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
           "-l", loglevel]
    if beat:
        cmd += ["-B", "-s", str(workdir / f"{name}-beat-schedule")]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=_log(workdir, name), stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_web(env: dict, workdir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
                            cwd=REPO, env=env, stdout=_log(workdir, "web"), stderr=subprocess.STDOUT,
                            start_new_session=True)

    def up() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        assert proc.poll() is None, f"web server exited: {(workdir / 'web.log').read_text()[-2000:]}"
        return False

    wait_until(up, 60, "the web server")
    return proc


def children_of(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(p) for p in (task / "children").read_text().split()]
    return kids


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process we started and its process group (workers fork pool children)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def http_json(method: str, url: str, payload: dict | None = None, token: str = "", timeout: float = 60) -> tuple[int, dict]:
    """A plain HTTP call (urllib) to a server subprocess: (status, decoded JSON body or {})."""
    import json
    import urllib.error
    import urllib.request

    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                            **({"Authorization": f"Token {token}"}
                                                                               if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, {"raw": body[:500].decode(errors="replace")}


def api_token(username: str = "market") -> str:
    """An API client with a token, committed so the server subprocess sees it."""
    from rest_framework.authtoken.models import Token

    from anticounterfeit.accounts.actions import create_user_with_role
    from anticounterfeit.accounts.models import Role
    from anticounterfeit.api.models import MarketplaceClient

    user = create_user_with_role(username, "pw-123456", Role.API_CLIENT)
    MarketplaceClient.objects.create(name=f"Market {username}", user=user)
    return Token.objects.create(user=user).key


def indexed_catalog(bundle: Path) -> int:
    """Import a bundle's catalog and build bank v1 in this process (no worker needed)."""
    from anticounterfeit.catalog.actions import import_bundle
    from anticounterfeit.detection.bank_builds import build_bank

    job = import_bundle(str(bundle), rebuild=False)
    assert job.errors == [], job.errors
    return build_bank("test catalog")


def start_relay(env: dict, workdir: Path, interval: float = 0.5) -> subprocess.Popen:
    """``manage.py relay_outbox`` (as ``./run relay``): publishes what the commit hooks could not."""
    return subprocess.Popen([PYTHON, "manage.py", "relay_outbox", "--interval", str(interval)], cwd=REPO, env=env,
                            stdout=_log(workdir, "relay"), stderr=subprocess.STDOUT, start_new_session=True)


@contextlib.contextmanager
def publishing_to(broker_url: str):
    """Point this process's Celery app (its commit hooks, as in a web process) at the test's own broker."""
    from anticounterfeit.celery import app

    def reset():
        app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            app.__dict__["amqp"]._producer_pool = None

    before = app.conf.broker_write_url  # what publishing uses (broker_url cannot be overridden once read)
    app.conf.broker_write_url = broker_url
    reset()
    try:
        yield
    finally:
        app.conf.broker_write_url = before
        reset()
