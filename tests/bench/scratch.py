"""The throwaway project every benchmark script runs in: a scratch PostgreSQL database (created on the server
of DATABASE_URL, dropped afterwards) and a work folder, migrated, with Django set up in this process."""
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parents[2]


def scratch_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database next to ``base_url``'s; returns its URL and a function that drops it."""
    import psycopg

    parsed = urlparse(base_url)
    name = f"ac_bench_{uuid.uuid4().hex[:8]}"
    admin = urlunparse(parsed._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunparse(parsed._replace(path=f"/{name}")), drop


@contextmanager
def scratch_project(prefix: str, broker_url: str = "redis://127.0.0.1:1/0") -> Iterator[Path]:
    """Yield the work folder of a migrated scratch project; the database is dropped on the way out.

    ``broker_url`` is what this process enqueues to (the default points nowhere: the script starts its own
    redis-server and passes that to the subprocesses it runs).
    """
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (a scratch database is created there)")
    url, drop = scratch_database(base)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update({"DATABASE_URL": url, "MEDIA_ROOT": str(workdir / "media"), "VAR_DIR": str(workdir / "var"),
                       "CELERY_BROKER_URL": broker_url, "LOG_LEVEL": "WARNING",
                       "DJANGO_SETTINGS_MODULE": "anticounterfeit.settings"})
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=os.environ, check=True)
        import django

        django.setup()
        yield workdir
    finally:
        from django.db import connections

        connections.close_all()
        drop()
