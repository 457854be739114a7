"""The Celery app. Tasks live in the top-level ``workers`` package (named in ``include``, never imported here)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anticounterfeit.settings")

# Every task is keyed by its outbox id (workers.outbox.OutboxTask): redeliveries of a completed one do nothing.
app = Celery("anticounterfeit", task_cls="workers.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.include = ["workers.scan", "workers.bank_builds", "workers.notify", "workers.maintenance", "workers.retro", "workers.training",
                    "workers.trust"]
