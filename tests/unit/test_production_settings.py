"""Production settings: ``check --deploy`` is clean with DEBUG off, and the app refuses to start without a secret."""
import os
import secrets
import subprocess
import sys

from tests.support import REPO


def _check_deploy(**env_overrides: str) -> subprocess.CompletedProcess:
    # A production-like environment: no test services, and not the async override the browser tests set.
    skip = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update({"DEBUG": "false", "ALLOWED_HOSTS": "console.example.com", "VAR_DIR": "/tmp/ac-check-deploy",
                **env_overrides})
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_debug_off():
    result = _check_deploy(SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_refuses_to_start_without_a_secret_key():
    result = _check_deploy()
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
