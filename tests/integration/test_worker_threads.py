"""A real ``celery worker -c 2`` shares the cores among its pool processes before it forks them."""
import os

import pytest

from .procs import private_redis, service_env, start_worker, stop, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_prefork_worker_splits_the_cores_between_its_processes(tmp_path):
    want = max(1, (os.cpu_count() or 1) // 2)
    with private_redis() as broker:
        env = service_env(broker.url, tmp_path, LOG_LEVEL="INFO")
        env.pop("TORCH_THREADS")  # the default: every core of the worker, shared among its pool
        worker = start_worker(env, tmp_path, "split", concurrency=2, loglevel="INFO")
        try:
            log = tmp_path / "split.log"
            wait_until(lambda: "ready." in log.read_text(), 60, "the worker to start")
            assert f"worker pool of 2 processes: {want} torch threads each" in log.read_text()
        finally:
            stop(worker)
