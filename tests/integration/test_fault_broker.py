"""Redis stops while listings arrive: the API keeps accepting (the listing is committed before it is queued),
and after Redis comes back the sweeper queues what was missed; every listing is scanned exactly once.

The broker here is a private redis-server on its own port, so stopping it does not disturb anyone else.
"""
import time

import pytest

from anticounterfeit.listings.models import Listing

from .helpers import api_payload, assert_scanned_exactly_once, read_jsonl
from .procs import (
    api_token,
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


def test_redis_outage_keeps_accepting_and_everything_is_scanned_after_recovery(demo_bundle, tmp_path):
    indexed_catalog(demo_bundle)
    token = api_token()
    records = read_jsonl(demo_bundle / "listings.jsonl")[:12]
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/listings"
    with private_redis() as broker:
        env = service_env(broker.url, tmp_path, SWEEP_INTERVAL_SECONDS=3, STUCK_PENDING_MINUTES=0.05)
        web = start_web(env, tmp_path, port)
        worker = start_worker(env, tmp_path, "broker-fault", beat=True)
        try:
            before, during = records[:4], records[4:]
            for record in before:
                status, body = http_json("POST", url, api_payload(demo_bundle, record), token)
                assert status == 201, body

            broker.stop()
            accepted = [r["listing_id"] for r in before]
            for record in during:
                started = time.monotonic()
                status, body = http_json("POST", url, api_payload(demo_bundle, record), token)
                assert time.monotonic() - started < 15, "the API hung on the dead broker"
                assert status in (201, 503), (status, body)
                stored = Listing.objects.filter(listing_key=record["listing_id"])
                if status == 201:
                    assert stored.get().status == Listing.Status.PENDING
                    accepted.append(record["listing_id"])
                else:
                    assert not stored.exists(), "a 503 left a half-written listing"
            assert len(accepted) > len(before), "the API refused everything while Redis was down"

            broker.start()  # same port, empty: whatever was queued before the outage is gone too
            wait_until(lambda: not Listing.objects.filter(listing_key__in=accepted, status=Listing.Status.PENDING)
                       .exists(), 180, "every accepted listing scanned after Redis came back")
            time.sleep(4)  # the sweeper and redeliveries keep running; they must not change anything
            assert_scanned_exactly_once(accepted)
        finally:
            stop(worker)
            stop(web)
