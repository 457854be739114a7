"""Load test of the marketplace API: N concurrent clients POST listings (JSON, one base64 JPEG each) and GET
listing status for a bounded time against a production-style server; then the throttle is shown answering 429.

Not a test: it prints figures (``tests/bench/test_api_load.py`` runs a short version in the suite). The
server is gunicorn (sync workers, ``DEBUG=false``, throttle counters in Redis as with several web
processes) on 127.0.0.1, in a scratch PostgreSQL database this script creates and drops, with a private
redis-server as broker and cache. No worker runs, so every accepted listing must be found afterwards both
as a row and as a queued scan task: nothing accepted is lost::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m tests.bench.api_load \
        --clients 8 --duration 60
"""
from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from tests.bench.scratch import REPO, scratch_project

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def start_server(env: dict, workdir: Path, port: int, workers: int) -> subprocess.Popen:
    """gunicorn with sync workers, as production runs the WSGI app (``anticounterfeit.wsgi``)."""
    from tests.integration.procs import _log, wait_until

    env = {**env, "DEBUG": "false", "SECRET_KEY": env.get("SECRET_KEY") or uuid.uuid4().hex * 2,
           "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false"}
    proc = subprocess.Popen([GUNICORN, "anticounterfeit.wsgi:application", "-b", f"127.0.0.1:{port}",
                             "-w", str(workers), "--timeout", "60", "--log-level", "warning"],
                            cwd=REPO, env=env, stdout=_log(workdir, f"gunicorn-{port}"), stderr=subprocess.STDOUT,
                            start_new_session=True)

    def up() -> bool:
        assert proc.poll() is None, f"gunicorn exited: {(workdir / f'gunicorn-{port}.log').read_text()[-2000:]}"
        try:
            return request("GET", port, "/health")[0] == 200
        except OSError:
            return False

    wait_until(up, 60, "gunicorn")
    return proc


def request(method: str, port: int, path: str, body: bytes | None = None, token: str = "",
            timeout: float = 30) -> tuple[int, bytes, dict]:
    """One HTTP call on a fresh connection (sync workers close it after each response)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Token {token}"} if token else {})}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


@dataclasses.dataclass
class LoadResult:
    duration_s: float
    samples: list[tuple[str, int, float]]  # (POST|GET, status, seconds); status 0 = connection error
    accepted: list[str]

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1e3 if ordered else 0.0

        ok = {"POST": 201, "GET": 200}
        out: dict = {"duration_s": self.duration_s, "requests": len(self.samples), "rps": len(self.samples) / self.duration_s,
                     "errors": sum(s != ok[k] for k, s, _ in self.samples)}
        out["error_rate"] = out["errors"] / max(1, out["requests"])
        out["throttled"] = sum(s == 429 for _, s, _ in self.samples)
        out["server_errors"] = sum(s >= 500 or s == 0 for _, s, _ in self.samples)
        for kind in ("POST", "GET"):
            lat = [t for k, _, t in self.samples if k == kind]
            out[kind] = {"n": len(lat), "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95),
                         "mean_ms": statistics.fmean(lat) * 1e3 if lat else 0.0}
        out["accepted"] = len(self.accepted)
        out["accepted_per_s"] = len(self.accepted) / self.duration_s
        return out


def run_load(port: int, token: str, image_b64: list[str], *, clients: int, duration: float, get_share: float,
             tag: str, sellers: int = 40) -> LoadResult:
    """``clients`` threads, each in a closed loop (next request when the last answered) for ``duration`` s.

    A client GETs the status of one of its own accepted listings with probability ``get_share``, else POSTs
    a new listing with one image; listing ids are unique per run.
    """
    deadline = time.monotonic() + duration
    samples: list[tuple[str, int, float]] = []
    accepted: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        rng, mine, n = random.Random(c), [], 0
        while time.monotonic() < deadline:
            if mine and rng.random() < get_share:
                kind, path, body = "GET", f"/api/v1/listings/{rng.choice(mine)}", None
            else:
                key, n = f"{tag}-{c}-{n}", n + 1
                kind, path = "POST", "/api/v1/listings"
                body = json.dumps({"listing_id": key, "seller_id": f"{tag}-seller-{rng.randrange(sellers)}",
                                   "title": f"Leather handbag {key}", "description": "load test listing",
                                   "price": "129.00", "currency": "USD",
                                   "images": [{"filename": "photo.jpg",
                                               "content_base64": rng.choice(image_b64)}]}).encode()
            t0 = time.perf_counter()
            try:
                status = request(kind, port, path, body, token)[0]
            except OSError:
                status = 0
            elapsed = time.perf_counter() - t0
            if kind == "POST" and status == 201:
                mine.append(key)
            with lock:
                samples.append((kind, status, elapsed))
                if kind == "POST" and status == 201:
                    accepted.append(key)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    return LoadResult(time.monotonic() - started, samples, accepted)


def check_lost(accepted: list[str], broker_url: str) -> dict:
    """Rows in the database and scan tasks waiting in the broker for the accepted listings."""
    import redis

    from anticounterfeit.listings.models import Listing

    rows = Listing.objects.filter(listing_key__in=accepted).count()
    r = redis.Redis.from_url(broker_url)
    queued = sum(r.llen(key) for key in r.scan_iter(match="scan*") if r.type(key) == b"list")
    return {"rows": rows, "queued_scan_tasks": queued, "lost": len(accepted) - rows}


def check_throttle(port: int, token: str, image_b64: str, *, requests: int, tag: str) -> dict:
    """Sequential POSTs past the per-client rate: the excess answers 429 with Retry-After, writes nothing."""
    from anticounterfeit.listings.models import Listing

    statuses, retry_after, detail = [], None, None
    for n in range(requests):
        body = json.dumps({"listing_id": f"{tag}-{n}", "seller_id": f"{tag}-seller", "title": "Throttle probe",
                           "images": [{"filename": "p.jpg", "content_base64": image_b64}]}).encode()
        status, raw, headers = request("POST", port, "/api/v1/listings", body, token)
        statuses.append(status)
        if status == 429 and retry_after is None:
            retry_after = headers.get("Retry-After")
            detail = json.loads(raw or b"{}").get("detail")
    return {"accepted": statuses.count(201), "throttled": statuses.count(429),
            "other": len(statuses) - statuses.count(201) - statuses.count(429), "retry_after": retry_after,
            "detail": detail, "rows": Listing.objects.filter(listing_key__startswith=f"{tag}-").count()}


def sample_images(bundle: Path, count: int = 8, photo_side: int = 0) -> list[str]:
    """Base64 JPEGs from the bundle; with ``photo_side``, enlarged to that long side (JPEG quality 85), the
    size of a marketplace photo rather than the generated bundle's 10-20 KB ones."""
    import base64
    import io

    from PIL import Image

    from tests.integration.helpers import read_jsonl

    paths = [p for rec in read_jsonl(bundle / "listings.jsonl") for p in rec["images"]][:count]
    out = []
    for p in paths:
        data = (bundle / p).read_bytes()
        if photo_side:
            im = Image.open(io.BytesIO(data)).convert("RGB")
            scale = photo_side / max(im.size)
            buf = io.BytesIO()
            im.resize((round(im.width * scale), round(im.height * scale)), Image.BICUBIC).save(buf, "JPEG", quality=85)
            data = buf.getvalue()
        out.append(base64.b64encode(data).decode())
    return out


def format_summary(s: dict, clients: int, server: str) -> str:
    return (f"load: {server}, {clients} clients, {s['requests']} requests in {s['duration_s']:.0f}s"
            f" -> {s['rps']:.1f} req/s sustained, error rate {s['error_rate']:.2%} ({s['errors']} errors, "
            f"{s['server_errors']} 5xx/connection, {s['throttled']} 429) | POST n={s['POST']['n']} "
            f"p50 {s['POST']['p50_ms']:.0f} ms p95 {s['POST']['p95_ms']:.0f} ms | GET n={s['GET']['n']} "
            f"p50 {s['GET']['p50_ms']:.0f} ms p95 {s['GET']['p95_ms']:.0f} ms | accepted {s['accepted']} "
            f"({s['accepted_per_s']:.1f} listings/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--get-share", type=float, default=0.5, help="share of requests that GET a status")
    parser.add_argument("--server-workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--throttle-rate", type=int, default=20, help="per-minute rate for the 429 check")
    parser.add_argument("--photo-side", type=int, default=0,
                        help="enlarge the sample JPEGs to this long side in px (e.g. 1200: ~100-300 KB each)")
    parser.add_argument("--conn-max-age", type=int, default=0,
                        help="server keeps PostgreSQL connections this many seconds (DATABASE_URL ?conn_max_age=)")
    args = parser.parse_args()

    with scratch_project("ac-load-") as workdir:
        from ml.synth import generate_bundle
        from tests.integration.procs import api_token, free_port, private_redis, service_env, stop

        bundle = workdir / "bundle"
        generate_bundle(str(bundle), seed=5, n_brands=2, n_listings=12)
        images = sample_images(bundle, photo_side=args.photo_side)
        token = api_token("load")
        server = (f"gunicorn {args.server_workers} sync workers, DEBUG=false, conn_max_age={args.conn_max_age}, "
                  f"JPEGs of {min(map(len, images)) * 3 // 4096}-{max(map(len, images)) * 3 // 4096} KB")
        with private_redis() as broker:
            cache = broker.url.rsplit("/", 1)[0] + "/2"
            env = service_env(broker.url, workdir, CACHE_URL=cache.replace("redis://", "rediscache://"),
                              API_RATE="1000000/min")
            if args.conn_max_age:
                env["DATABASE_URL"] += f"?conn_max_age={args.conn_max_age}&conn_health_checks=true"
            port = free_port()
            web = start_server(env, workdir, port, args.server_workers)
            try:
                result = run_load(port, token, images, clients=args.clients, duration=args.duration,
                                  get_share=args.get_share, tag=uuid.uuid4().hex[:6])
            finally:
                stop(web)
            summary = result.summary()
            print(format_summary(summary, args.clients, server), flush=True)
            lost = check_lost(result.accepted, broker.url)
            print(f"accepted listings: {summary['accepted']}, rows in PostgreSQL: {lost['rows']}, scan tasks "
                  f"queued in Redis: {lost['queued_scan_tasks']}, lost: {lost['lost']}", flush=True)

            env["API_RATE"] = f"{args.throttle_rate}/min"
            port = free_port()
            web = start_server(env, workdir, port, args.server_workers)
            try:
                t = check_throttle(port, api_token("throttled"), images[0], requests=args.throttle_rate + 10, tag="throttle")
            finally:
                stop(web)
            print(f"throttle at {args.throttle_rate}/min: {t['accepted']} accepted, {t['throttled']} answered 429 "
                  f"(Retry-After {t['retry_after']} s, {t['detail']!r}), {t['other']} other; rows written "
                  f"{t['rows']}", flush=True)
        print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"logs in {workdir}")


if __name__ == "__main__":
    main()
