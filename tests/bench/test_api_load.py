"""A short run of the API load test (tests/bench/api_load.py) on real services: gunicorn with DEBUG off,
PostgreSQL and a private Redis. Every accepted listing is a row and a queued scan; no 5xx under concurrency;
past the per-client rate the API answers 429 with Retry-After and writes nothing."""
import pytest

from tests.integration.procs import api_token, free_port, private_redis, service_env, stop

from .api_load import check_lost, check_throttle, run_load, sample_images, start_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_load_keeps_every_accepted_listing_and_throttle_answers_429(demo_bundle, tmp_path):
    images = sample_images(demo_bundle, 3)
    with private_redis() as broker:
        cache = broker.url.rsplit("/", 1)[0].replace("redis://", "rediscache://") + "/2"
        env = service_env(broker.url, tmp_path, CACHE_URL=cache, API_RATE="100000/min")
        port = free_port()
        web = start_server(env, tmp_path, port, workers=2)
        try:
            result = run_load(port, api_token("load"), images, clients=3, duration=4, get_share=0.5, tag="smoke")
        finally:
            stop(web)
        summary = result.summary()
        assert summary["errors"] == 0, summary
        assert summary["POST"]["n"] >= 3 and summary["GET"]["n"] >= 1, summary
        lost = check_lost(result.accepted, broker.url)
        assert lost == {"rows": len(result.accepted), "queued_scan_tasks": len(result.accepted), "lost": 0}

        env["API_RATE"] = "4/min"
        port = free_port()
        web = start_server(env, tmp_path, port, workers=2)
        try:
            throttle = check_throttle(port, api_token("flood"), images[0], requests=7, tag="flood")
        finally:
            stop(web)
    assert throttle["accepted"] == 4 and throttle["throttled"] == 3 and throttle["other"] == 0, throttle
    assert int(throttle["retry_after"]) > 0 and "throttled" in throttle["detail"].lower()
    assert throttle["rows"] == 4  # a refused request wrote nothing
