"""The embedded mode (no broker): queued work runs on a background thread of the same process, after the commit,
and its outbox row is done only once its task has run."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import threading
from django.db import transaction
from anticounterfeit.core import queue, tasks
from anticounterfeit.core.models import OutboxMessage
with transaction.atomic():
    message = queue.enqueue(tasks.CREDIT_ACCOUNT_AGE, 0)
    assert OutboxMessage.objects.get(pk=message.pk).status == "pending"
queue.wait_until_idle()
message.refresh_from_db()
runner = [t.name for t in threading.enumerate() if t.name == "embedded-tasks"]
print("RESULT", message.status, message.attempts, runner)
"""


def test_embedded_mode_runs_queued_work_beside_the_caller(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}}
    env.update(VAR_DIR=str(tmp_path), SECRET_KEY="test-only-key")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    out = subprocess.run([*manage, "shell", "-c", SCRIPT], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True, timeout=300).stdout
    assert "RESULT done 0 ['embedded-tasks']" in out, out  # its consumer (an OutboxTask) completed it
