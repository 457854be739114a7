"""Safe by default: a deployment that leaves DEBUG unset runs with DEBUG off, serves plain error pages and passes
``check --deploy``; only the embedded demo turns DEBUG on, and says so loudly. Each case starts a fresh process
with its own environment (settings are read once, at import)."""
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.services

PROBE = """
import json, sys, types
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.urls import path

def boom(request):
    raise RuntimeError("a bug in production")

module = types.ModuleType("boom_urls")
module.urlpatterns = [path("boom/", boom)]
sys.modules["boom_urls"] = module
with override_settings(ROOT_URLCONF="boom_urls", ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
    answer = Client(raise_request_exception=False).get("/boom/", secure=True)
print(json.dumps({"debug": settings.DEBUG, "status": answer.status_code, "body": answer.content.decode()}))
"""


def clean_env(**values: str) -> dict[str, str]:
    """The process environment without any of the settings these tests are about."""
    drop = {"DEBUG", "EMBEDDED_DEMO", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"VAR_DIR": "/tmp/ac-safe-defaults", "DJANGO_SETTINGS_MODULE": "anticounterfeit.settings", **values})
    return env


def probe(env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_is_off_by_default_in_a_deployment_and_errors_are_plain():
    """Finding 7: with DATABASE_URL and a broker set and DEBUG unset, DEBUG was on and a 500 served Django's
    debug page (settings and stack)."""
    env = clean_env(DATABASE_URL=os.environ["DATABASE_URL"], CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
                    SECRET_KEY=secrets.token_urlsafe(50))
    answer = probe(env)
    assert answer["debug"] is False
    assert answer["status"] == 500
    assert len(answer["body"]) < 2000 and "Traceback" not in answer["body"] and "SECRET_KEY" not in answer["body"]
    assert "a bug in production" not in answer["body"]


def test_the_embedded_demo_turns_debug_on_and_says_so_loudly():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=clean_env(EMBEDDED_DEMO="true"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "EMBEDDED MODE" in result.stderr and "DEBUG IS ON" in result.stderr
    assert probe(clean_env(EMBEDDED_DEMO="true"))["debug"] is True
    # The demo switch means nothing once a broker is configured (a deployment).
    assert probe(clean_env(EMBEDDED_DEMO="true", SECRET_KEY=secrets.token_urlsafe(50),
                           CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"]))["debug"] is False


def test_check_deploy_is_clean_with_only_secret_key_and_allowed_hosts():
    env = clean_env(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="console.example.com")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
