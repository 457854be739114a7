"""End-to-end throughput and latency: N listings through the API → Redis → worker processes → detections/cases.

Not a test: it prints figures. Runs against the PostgreSQL server of DATABASE_URL, in a scratch database it
creates and drops, with a private redis-server as broker, a web server subprocess and 1, then 2 worker
processes (each ``celery worker -c 1``; torch threads split between them)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m tests.bench.e2e_api_worker \
        --listings 120 --workers 1 2

Latency is from API accept (``Listing.created_at``) to scan done (``Detection.created_at``). The workers consume
the ``ocr`` queue too, so follow-up scans are counted.

``takedown_to_match_s``: the counterfeit bank is padded with generated vectors to each ``--bank-sizes`` (a bank
version written to disk, loaded by the workers first); then a moderator's takedown commits and the same photos
come in from another seller through the API; the figure is the time from the takedown's commit until that
re-upload's detection is recorded, scoring above the review threshold.

The last line: ``e2e_vs_pipeline=<ratio> listings_per_s=<n> followup_ms_per_listing=<ms> takedown_to_match_s=<s>``
(the ratio: e2e listings/s with the largest worker count over ``ml.cli.bench``'s all-told listings/s on the same
bundle in the same run; ``takedown_to_match_s`` at the largest bank size).

First, the worker's own cost without the API and broker sharing the cores: the same listings accepted in
this process and scanned by ``workers.scan.scan_listings`` in batches of ``SCAN_BATCH`` (best of 3 rounds),
with its queries per listing and the time spent in them.
"""
import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench.scratch import scratch_project


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_round(args, env, workdir: Path, bundle: Path, token: str, workers: int, tag: str) -> dict:
    from anticounterfeit.detection.models import Detection
    from anticounterfeit.listings.models import Listing
    from tests.integration.helpers import api_payload, read_jsonl
    from tests.integration.procs import free_port, http_json, start_web, start_worker, stop, wait_until

    cores = os.cpu_count() or 1
    env = {**env, "TORCH_THREADS": str(max(1, cores // workers))}
    port = free_port()
    web = start_web(env, workdir, port)
    procs = [start_worker(env, workdir, f"bench-{tag}-{n}", queues="scan,index,notify,ocr") for n in range(workers)]
    url = f"http://127.0.0.1:{port}/api/v1/listings"
    records = read_jsonl(bundle / "listings.jsonl")
    try:
        # Warm-up: every worker process loads its models before the clock starts.
        warm = [f"{tag}-warm-{n}" for n in range(workers * 4)]
        for n, key in enumerate(warm):
            http_json("POST", url, api_payload(bundle, records[n % len(records)], listing_id=key), token)
        wait_until(lambda: not Listing.objects.filter(listing_key__in=warm, status="pending").exists(), 300,
                   "warm-up scans")
        keys = [f"{tag}-{n}" for n in range(args.listings)]
        payloads = [api_payload(bundle, records[n % len(records)], listing_id=key) for n, key in enumerate(keys)]
        started = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            statuses = list(pool.map(lambda p: http_json("POST", url, p, token)[0], payloads))
        accepted_s = time.monotonic() - started
        wait_until(lambda: not Listing.objects.filter(listing_key__in=keys, status="pending").exists()
                   and not Detection.objects.filter(listing__listing_key__in=keys, followup_pending=True).exists(),
                   1800, "all scans and follow-ups")
        elapsed = time.monotonic() - started
        rows = Detection.objects.filter(listing__listing_key__in=keys).values_list("created_at", "listing__created_at")
        latencies = [(done - accepted).total_seconds() for done, accepted in rows]
        return {"workers": workers, "listings": len(keys), "errors": sum(s != 201 for s in statuses),
                "accept_per_s": len(keys) / accepted_s, "listings_per_s": len(keys) / elapsed,
                "p50_s": statistics.median(latencies), "p95_s": percentile(latencies, 0.95)}
    finally:
        for proc in procs:
            stop(proc)
        stop(web)


def padded_bank(size: int, seed: int = 0) -> int:
    """A new bank version: the newest one plus generated counterfeit vectors up to ``size`` rows; its number."""
    import numpy as np

    from anticounterfeit.detection import bank_deltas
    from anticounterfeit.detection.ml_config import bank_config
    from anticounterfeit.detection.models import BankVersion
    from ml.index import ReferenceIndex

    latest = BankVersion.objects.latest("number")
    index = ReferenceIndex.load(latest.path, bank_config())
    rng = np.random.default_rng(seed)
    missing = size - len(index.cf_image)
    vectors = rng.standard_normal((missing, index.cf_image.dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.monotonic()
    index.cf_image.add(vectors, [{"ref_id": f"GEN-{n}", "brand_id": None, "image": 0} for n in range(missing)])
    path = Path(latest.path).with_name(f"v{latest.number + 1:06d}")
    index.save(str(path))
    print(f"bank of {size} counterfeit vectors ({index.cf_image.kind}) built in {time.monotonic() - started:.0f}s",
          flush=True)
    return BankVersion.objects.create(number=latest.number + 1, path=str(path), counts=index.counts,
                                      reason=f"bench: {size} generated", deltas_upto=bank_deltas.latest_id()).number


def takedown_round(env, workdir: Path, bundle: Path, token: str, workers: int, size: int) -> float:
    """Seconds from a takedown's commit until the same photos from another seller score above the threshold."""
    from anticounterfeit.accounts.actions import create_user_with_role
    from anticounterfeit.accounts.models import Role
    from anticounterfeit.detection.bank_deltas import counterfeit_bank_id
    from anticounterfeit.detection.policy import review_threshold_for
    from anticounterfeit.listings import actions as listing_actions
    from anticounterfeit.listings.models import Listing
    from anticounterfeit.moderation import actions
    from anticounterfeit.moderation.models import Case
    from tests.integration.helpers import api_payload, labels_by_id, read_jsonl
    from tests.integration.procs import free_port, http_json, start_web, start_worker, stop, wait_until

    padded_bank(size)
    env = {**env, "TORCH_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}
    port = free_port()
    web = start_web(env, workdir, port)
    procs = [start_worker(env, workdir, f"takedown-{size}-{n}") for n in range(workers)]
    url = f"http://127.0.0.1:{port}/api/v1/listings"
    labels = labels_by_id(bundle)
    record = next(r for r in read_jsonl(bundle / "listings.jsonl") if labels[r["listing_id"]]["counterfeit"])

    def scanned(key: str) -> Listing:
        status, body = http_json("POST", url, api_payload(bundle, record, listing_id=key, seller_id=f"s-{key}"), token)
        assert status == 201, body
        return wait_until(lambda: Listing.objects.exclude(status="pending").filter(listing_key=key).first(), 600,
                          f"scan of {key}")

    try:
        for n in range(workers * 2):  # every worker has loaded the padded bank before the clock starts
            scanned(f"td{size}-warm-{n}")
        first = scanned(f"td{size}-first")
        if not Case.objects.filter(listing=first).exists():
            actions.open_or_update_case(first, first.detections.latest("pk"))
            listing_actions.set_status(first, Listing.Status.IN_REVIEW, reason="bench: reported")
        moderator = create_user_with_role(f"bench-mod-{size}", "pw-123456", Role.MODERATOR)
        actions.do_take_down(Case.objects.get(listing=first).pk, acting_user=moderator)
        committed = time.monotonic()
        again = scanned(f"td{size}-again")
        matched = time.monotonic() - committed
        detection = again.detections.latest("pk")
        assert any(m["kind"] == "counterfeit" and m["ref_id"] == counterfeit_bank_id(first)
                   for m in detection.matches), \
            "the re-upload did not match the taken-down listing"
        assert again.score >= review_threshold_for(again), (again.score, review_threshold_for(again))
        return matched
    finally:
        for proc in procs:
            stop(proc)
        stop(web)


def pipeline_all_told(bundle: Path) -> dict:
    """``python -m ml.cli.bench`` on the same bundle: the pipeline's all-told listings/s and follow-up cost."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ml.cli.bench", "--bundle", str(bundle), "--listings", "48",
                          "--rounds", "1"], capture_output=True, text=True, check=True).stdout
    last = out.strip().splitlines()[-1]
    print(f"ml.cli.bench: {last}", flush=True)
    return {k: float(v) for k, v in (pair.split("=") for pair in last.split())}


def worker_round(bundle: Path, n: int, rounds: int = 3) -> dict:
    """``scan_listings`` in-process over freshly accepted listings, batch by batch, as a worker runs it."""
    from django.db import connection

    from anticounterfeit.api.intake import accept_validated
    from anticounterfeit.listings.management.commands.ingest_listings import read_listing_line
    from tests.integration.helpers import read_jsonl
    from workers.scan import SCAN_BATCH, scan_listings

    records = read_jsonl(bundle / "listings.jsonl")

    def accepted(tag: str) -> list[int]:
        """The bundle's listings accepted as ``ingest_listings`` does (its scans are queued by nobody)."""
        return [accept_validated(read_listing_line({**records[k % len(records)], "listing_id": f"{tag}-{k}"}, bundle),
                                 enqueue=False).pk for k in range(n)]

    scan_listings(accepted("warm")[:SCAN_BATCH])  # models and bank loaded before the clock starts
    best = {"seconds": float("inf")}
    for r in range(rounds):
        ids, clock = accepted(f"in-process-{r}"), QueryClock()
        started = time.perf_counter()
        with connection.execute_wrapper(clock):
            for k in range(0, n, SCAN_BATCH):
                scan_listings(ids[k:k + SCAN_BATCH])
        elapsed = time.perf_counter() - started
        if elapsed < best["seconds"]:
            best = {"seconds": elapsed, "queries": clock.queries, "in_queries": clock.seconds}
    return {"listings_per_s": n / best["seconds"], "ms_per_listing": 1000 * best["seconds"] / n,
            "queries_per_listing": best["queries"] / n, "db_ms_per_listing": 1000 * best["in_queries"] / n}


class QueryClock:
    """Counts a connection's queries and the time spent in them (a ``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.queries, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.seconds += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=120)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=4, help="concurrent API callers")
    parser.add_argument("--bank-sizes", type=int, nargs="*", default=[10_000, 100_000],
                        help="counterfeit bank sizes for takedown_to_match_s (1,000,000 x 1280-d needs ~6 GB)")
    args = parser.parse_args()
    from tests.integration.procs import private_redis

    with private_redis() as broker, scratch_project("ac-bench-", broker_url=broker.url) as workdir:
        from ml.synth import generate_bundle
        from tests.integration.procs import api_token, indexed_catalog, service_env

        bundle = workdir / "bundle"
        generate_bundle(str(bundle), seed=5, n_brands=4, n_listings=60)
        indexed_catalog(bundle)
        token = api_token("bench")
        pipeline = pipeline_all_told(bundle)
        w = worker_round(bundle, min(args.listings, 64))
        print(f"in-process worker (no API server, no other process on the cores): "
              f"listings_per_s={w['listings_per_s']:.1f} ms_per_listing={w['ms_per_listing']:.1f} "
              f"queries_per_listing={w['queries_per_listing']:.1f} "
              f"in_queries_ms_per_listing={w['db_ms_per_listing']:.1f}", flush=True)
        env = service_env(broker.url, workdir)
        rounds = []
        for workers in args.workers:
            r = run_round(args, env, workdir, bundle, token, workers, f"w{workers}")
            rounds.append(r)
            print(f"workers={r['workers']} listings={r['listings']} api_errors={r['errors']} "
                  f"accept_per_s={r['accept_per_s']:.1f} listings_per_s={r['listings_per_s']:.2f} "
                  f"p50_latency_s={r['p50_s']:.2f} p95_latency_s={r['p95_s']:.2f}", flush=True)
        matched = {}
        for size in sorted(args.bank_sizes):
            matched[size] = takedown_round(env, workdir, bundle, token, max(args.workers), size)
            print(f"bank_size={size} takedown_to_match_s={matched[size]:.2f}", flush=True)
        print(f"machine: {os.cpu_count()} cores; 1 image + title per listing; logs in {workdir}")
        e2e = rounds[-1]["listings_per_s"]
        print(f"e2e_vs_pipeline={e2e / pipeline['all_told_per_s']:.2f} listings_per_s={e2e:.2f} "
              f"followup_ms_per_listing={pipeline['followup_ms_per_listing']:.1f} "
              f"takedown_to_match_s={matched[max(matched)] if matched else float('nan'):.2f}")


if __name__ == "__main__":
    main()
