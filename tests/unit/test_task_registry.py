"""Every task the apps queue by name, and every beat job, is a registered task keyed by its outbox id; only the
idempotent tasks are acknowledged late (a worker death must not send an e-mail or a webhook twice)."""
from django.conf import settings

from anticounterfeit.core import tasks


def _app():
    from anticounterfeit.celery import app

    app.loader.import_default_modules()
    return app


def test_queued_and_scheduled_names_are_registered_outbox_tasks():
    from workers.outbox import OutboxTask

    app = _app()
    names = {value for key, value in vars(tasks).items() if key.isupper()}
    names |= {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    missing = sorted(name for name in names if name not in app.tasks)
    assert not missing, missing
    assert all(isinstance(app.tasks[name], OutboxTask) for name in names)


def test_only_idempotent_tasks_are_acknowledged_late():
    app = _app()
    assert settings.CELERY_TASK_ACKS_LATE is False
    for name in (tasks.SEND_NOTIFICATION_EMAIL, tasks.DELIVER_WEBHOOK):
        assert not app.tasks[name].acks_late, name
    for name in (tasks.SCAN_LISTING, tasks.SCAN_BATCH, tasks.REBUILD_BANKS, tasks.RECORD_COUNTERFEIT,
                 tasks.LINK_SELLERS):
        assert app.tasks[name].acks_late, name
