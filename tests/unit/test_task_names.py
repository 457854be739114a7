"""The apps queue work by task name (``core.tasks``) through one helper (``core.queue``): the names must exist."""
import re
from pathlib import Path

from celery import current_app
from django.conf import settings

from anticounterfeit.core import tasks

ROOT = Path(__file__).resolve().parents[2]


def registered_tasks() -> set[str]:
    current_app.loader.import_default_modules()
    return {name for name in current_app.tasks if name.startswith("workers.")}


def test_every_queued_name_and_beat_entry_is_a_registered_task():
    names = {value for key, value in vars(tasks).items() if key.isupper()}
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert names | beat <= registered_tasks(), sorted((names | beat) - registered_tasks())


def test_every_task_is_routed_to_a_queue_the_workers_consume():
    queues = set(re.search(r"WORKER_QUEUES:-([\w,]+)", (ROOT / "run").read_text()).group(1).split(","))
    routes = settings.CELERY_TASK_ROUTES
    for name in registered_tasks():
        route = next((r for pattern, r in routes.items() if re.fullmatch(pattern.replace("*", ".*"), name)), None)
        assert route is not None and route["queue"] in queues, name


def test_the_apps_queue_only_through_the_outbox():
    """No raw ``.delay``/``apply_async``/``send_task`` or commit-hook lambdas outside ``core.queue``."""
    raw = re.compile(r"\.delay\(|\.apply_async\(|send_task\(|on_commit\(lambda")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for folder in ("anticounterfeit", "workers")
                 for path in (ROOT / folder).rglob("*.py") if path.name != "queue.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if raw.search(line)]
    assert not offenders, offenders
