"""A worker process SIGKILLed in the middle of a flood of listings loses nothing and duplicates nothing.

Real services only: the API runs as a server subprocess, the broker is a private redis-server, and the
workers are ``celery worker`` subprocesses with acks_late + reject_on_worker_lost (settings).
"""
import os
import signal
import time

import pytest

from anticounterfeit.listings.models import Listing

from .helpers import api_payload, assert_scanned_exactly_once, read_jsonl
from .procs import (
    api_token,
    children_of,
    free_port,
    http_json,
    indexed_catalog,
    private_redis,
    service_env,
    start_web,
    start_worker,
    stop,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_sigkill_worker_mid_batch_every_listing_scanned_exactly_once(demo_bundle, tmp_path):
    indexed_catalog(demo_bundle)
    token = api_token()
    records = read_jsonl(demo_bundle / "listings.jsonl")[:24]
    port = free_port()
    with private_redis() as broker:
        env = service_env(broker.url, tmp_path, BROKER_VISIBILITY_TIMEOUT=8)
        web = start_web(env, tmp_path, port)
        worker = start_worker(env, tmp_path, "fault-a")
        second = None
        try:
            status, body = http_json("POST", f"http://127.0.0.1:{port}/api/v1/listings/batch",
                                     {"listings": [api_payload(demo_bundle, r) for r in records]}, token)
            assert status == 207 and all(r["status"] == "accepted" for r in body["results"]), body
            keys = [r["listing_id"] for r in records]

            def scanned() -> int:
                return Listing.objects.filter(listing_key__in=keys).exclude(status=Listing.Status.PENDING).count()

            # 1. Kill the pool process while it works: the parent sees the loss and requeues the message.
            wait_until(lambda: scanned() >= 2, 180, "the first scans")
            child = wait_until(lambda: children_of(worker.pid), 10, "the pool process")[0]
            killed_at = scanned()
            os.kill(child, signal.SIGKILL)
            assert killed_at < len(keys), "the batch finished before the kill; make it larger"

            # 2. Kill the whole worker (parent and pool) a little later: its unacked message is invisible for
            #    the visibility timeout; the beat sweeper of a fresh worker re-queues the listings left pending.
            wait_until(lambda: scanned() > killed_at, 180, "scans after the pool process was replaced")
            if scanned() < len(keys):
                stop(worker, signal.SIGKILL)
                time.sleep(1)
            second = start_worker({**env, "SWEEP_INTERVAL_SECONDS": "3", "STUCK_PENDING_MINUTES": "0.05"}, tmp_path,
                                  "fault-b", beat=True)
            wait_until(lambda: scanned() == len(keys), 240, "every listing scanned after the kills")
            time.sleep(3)  # let any redelivered duplicate run; it must be a no-op
            assert_scanned_exactly_once(keys)
        finally:
            stop(worker)
            stop(second)
            stop(web)
