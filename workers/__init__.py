"""Celery tasks: thin glue that loads ids, calls one action or service of the Django apps, and maybe queues more.

Tasks take primary keys, are idempotent and are routed by name (settings.CELERY_TASK_ROUTES):
``workers.scan.*`` → scan (``scan_ocr`` → ocr), ``workers.bank_builds.*`` → index, ``workers.notify.*`` → notify.
"""
from celery.signals import worker_init


@worker_init.connect
def _share_cores(sender=None, **_kwargs) -> None:
    """Before the worker forks its pool: give each pool process its share of the cores."""
    from anticounterfeit.detection.detector_cache import (
        share_cores_among_pool,  # Django is set up only by now
    )

    pool = getattr(sender, "concurrency", None)
    share_cores_among_pool(pool if isinstance(pool, int) else 1)  # "auto" (autoscale): left as configured
