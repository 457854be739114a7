"""Scan tasks survive a lost worker and retry only what may pass: their Celery options."""
from workers.scan import SCAN_TASK_OPTIONS, scan_batch, scan_listing


def test_scan_tasks_are_late_acked_bounded_and_retry_only_transient_errors():
    from django.db import IntegrityError, OperationalError

    for task in (scan_listing, scan_batch):
        assert task.acks_late and task.reject_on_worker_lost
        assert task.max_retries == SCAN_TASK_OPTIONS["max_retries"] and task.retry_backoff
        assert task.soft_time_limit < task.time_limit
        assert OperationalError in task.autoretry_for and IntegrityError in task.dont_autoretry_for
