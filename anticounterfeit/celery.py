"""The Celery app. Tasks live in the top-level ``workers`` package."""
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anticounterfeit.settings")

app = Celery("anticounterfeit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.include = ["workers.scan", "workers.banks", "workers.notify", "workers.maintenance", "workers.retro", "workers.training",
                    "workers.trust"]


@worker_init.connect
def _share_cores(sender=None, **_kwargs) -> None:
    from workers.runtime import share_cores_among_pool

    pool = getattr(sender, "concurrency", None)
    share_cores_among_pool(pool if isinstance(pool, int) else 1)  # "auto" (autoscale): left as configured
