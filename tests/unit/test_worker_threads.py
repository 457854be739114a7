"""A worker's pool processes share the cores: ``celery worker -c N`` gives each child cores / N torch threads
unless ``TORCH_THREADS`` says otherwise (README, Threads)."""
from celery.signals import worker_init
from django.conf import settings

import workers  # noqa: F401 - connects the worker_init handler (workers/__init__.py)
from anticounterfeit.detection.ml_config import models_config
from ml.hardware import split_cores


class Worker:
    """What ``worker_init`` hands its receivers: the starting worker, which knows its pool size."""

    def __init__(self, concurrency: int):
        self.concurrency = concurrency


def test_cores_are_shared_out_at_least_one_each():
    assert split_cores(2, cores=2) == 1
    assert split_cores(1, cores=8) == 8
    assert split_cores(3, cores=8) == 2
    assert split_cores(16, cores=2) == 1  # more processes than cores: one thread each, never zero
    assert split_cores(0, cores=4) == 4


def test_worker_start_gives_each_pool_process_its_share(monkeypatch):
    monkeypatch.setattr(settings, "TORCH_THREADS", 0)
    worker_init.send(sender=Worker(1))  # one process: it keeps every core
    assert settings.TORCH_THREADS == 0
    worker_init.send(sender=Worker(2))  # what the worker does before forking its pool
    want = split_cores(2)
    assert settings.TORCH_THREADS == want
    assert models_config().torch_threads == want  # what a forked child builds its engines with


def test_an_explicit_thread_count_wins(monkeypatch):
    monkeypatch.setattr(settings, "TORCH_THREADS", 3)
    worker_init.send(sender=Worker(2))
    assert settings.TORCH_THREADS == 3
