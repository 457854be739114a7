"""FAISS bank scaling: search latency, recall@10 against exact search and memory per vector for the index
kinds a ``VectorBank`` uses (exact, HNSW, IVF-PQ with exact re-rank), at growing bank sizes.

    python -m ml.cli.bench_banks --sizes 10000,100000,1000000 --dims 1280,384

Not a test: it prints figures. Vectors are clustered unit vectors (``clustered_vectors``); queries are
bank rows plus a little noise, searched in worker-sized batches (``--batch``, the scan task's batch).
The IVF-PQ row uses the bank's own code path (``make_vector_index``, ``train_sample``, ``rerank``) on
the same array, so 1M x 1280-d fits in ~6 GB: no second float copy is made. HNSW is built only up to
``--hnsw-max`` vectors: its build is O(N log N) with a large constant, so a 1M graph takes a long time
on a small machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np

from ml import hardware
from ml.banks import IVFPQ, index_kind, make_vector_index, rerank, train_sample
from ml.config import BankConfig
from ml.hardware import load_average


def clustered_vectors(n: int, dim: int, seed: int, clusters: int = 2000) -> np.ndarray:
    """Unit vectors around many centres: closer to real embedding banks than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 50_000):
        e = min(n, s + 50_000)
        out[s:e] = centres[rng.integers(0, clusters, e - s)] + 0.7 * rng.standard_normal((e - s, dim),
                                                                                           dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _timed_search(search, queries: np.ndarray, batch: int) -> tuple[float, np.ndarray]:
    """(ms per query, ids) with queries sent ``batch`` at a time, like a scan task does."""
    ids = []
    t0 = time.perf_counter()
    for lo in range(0, len(queries), batch):
        ids.append(search(queries[lo:lo + batch]))
    return (time.perf_counter() - t0) / len(queries) * 1e3, np.concatenate(ids)


def _recall(truth: np.ndarray, found: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(f)) / truth.shape[1] for t, f in zip(truth, found, strict=True)]))


def bench_size(n: int, dim: int, n_queries: int, batch: int, hnsw_max: int, k: int = 10) -> dict:
    import faiss


    cfg = BankConfig()
    row: dict = {"n": n, "dim": dim, "product_kind": index_kind(n, cfg)}
    xb = clustered_vectors(n, dim, seed=1)
    rng = np.random.default_rng(2)
    xq = xb[rng.integers(0, n, n_queries)] + 0.05 * rng.standard_normal((n_queries, dim), dtype=np.float32)
    xq /= np.linalg.norm(xq, axis=1, keepdims=True)

    # Exact: brute force straight over the array (what IndexFlatIP does, without copying 5 GB into one).
    row["exact_ms"], truth = _timed_search(lambda q: faiss.knn(q, xb, k, faiss.METRIC_INNER_PRODUCT)[1], xq, batch)
    row["exact_bytes"] = dim * 4

    if n <= hnsw_max:
        hcfg = dataclasses.replace(cfg, hnsw_above=0, ivf_above=10**12)
        t0 = time.perf_counter()
        hnsw = make_vector_index(dim, n, hcfg)
        hnsw.add(xb)
        row["hnsw_build_s"] = time.perf_counter() - t0
        row["hnsw_bytes"] = dim * 4 + cfg.hnsw_m * 2 * 4 * 1.07  # floats + level-0 links (2M) + upper levels
        row["hnsw_ms"], found = _timed_search(lambda q: hnsw.search(q, k)[1], xq, batch)
        row["hnsw_recall"] = _recall(truth, found)
        del hnsw

    icfg = dataclasses.replace(cfg, hnsw_above=0, ivf_above=0)
    t0 = time.perf_counter()
    ivf = make_vector_index(dim, n, icfg, train_sample(xb, icfg))
    row["ivf_train_s"] = time.perf_counter() - t0
    ivf.add(xb)
    row["ivf_build_s"] = time.perf_counter() - t0
    row["ivf_nlist"], row["ivf_nprobe"], row["pq_bytes"] = ivf.nlist, ivf.nprobe, ivf.pq.M
    row["ivf_index_bytes"] = len(faiss.serialize_index(ivf)) / n  # codes + ids + centroids + codebooks
    n_cand = k * icfg.ivf_rerank

    def ivf_search(q: np.ndarray) -> np.ndarray:
        return rerank(xb, q, ivf.search(q, n_cand)[1], k)[1]

    row["ivf_ms"], found = _timed_search(ivf_search, xq, batch)
    row["ivf_recall"] = _recall(truth, found)
    _, raw = ivf.search(xq, k)  # the PQ distances alone, to show what the re-rank buys
    row["ivf_recall_no_rerank"] = _recall(truth, raw)
    row["peak_rss_gb"] = _rss_gb()
    row["load"] = load_average()
    assert row["product_kind"] in {"flat", "hnsw", IVFPQ}
    return row


def format_row(r: dict) -> str:
    hnsw = (f"HNSW {r['hnsw_ms']:6.2f} ms recall@10 {r['hnsw_recall']:.3f} build {r['hnsw_build_s']:6.1f}s "
            f"~{r['hnsw_bytes']:,.0f} B/vec" if "hnsw_ms" in r else "HNSW not built (--hnsw-max)")
    return (f"dim={r['dim']:>4} n={r['n']:>9,} [bank uses {r['product_kind']}]: exact {r['exact_ms']:7.2f} ms/query "
            f"{r['exact_bytes']:,} B/vec | {hnsw} | IVF-PQ nlist={r['ivf_nlist']} nprobe={r['ivf_nprobe']} "
            f"{r['pq_bytes']} B codes: {r['ivf_ms']:6.2f} ms recall@10 {r['ivf_recall']:.3f} "
            f"(PQ alone {r['ivf_recall_no_rerank']:.3f}) build {r['ivf_build_s']:5.1f}s (train {r['ivf_train_s']:.1f}s) "
            f"index {r['ivf_index_bytes']:,.0f} B/vec | RSS {r['peak_rss_gb']:.1f} GB ({r['load']})")


def bench_banks(sizes: list[int], dims: list[int], n_queries: int, batch: int, hnsw_max: int) -> list[dict]:

    cfg = BankConfig()
    print(f"FAISS banks: {n_queries} queries in batches of {batch}, k=10; HNSW M={cfg.hnsw_m} "
          f"efC={cfg.ef_construction} efS={cfg.ef_search}; IVF-PQ rerank x{cfg.ivf_rerank}, k-means on "
          f"{cfg.ivf_train_size:,} rows; a bank is exact up to {cfg.hnsw_above:,}, HNSW up to {cfg.ivf_above:,}, "
          f"IVF-PQ above. Float rows kept by VectorBank: dim*4 B/vec on top of the index.", flush=True)
    rows = []
    for dim in dims:
        for n in sizes:
            rows.append(bench_size(n, dim, n_queries, batch, hnsw_max))
            print(format_row(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.cli.bench_banks", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000", help="bank sizes (1,000,000 x 1280-d needs ~6 GB)")
    p.add_argument("--dims", default="1280", help="1280 = image bank, 384 = text bank")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--batch", type=int, default=8, help="queries per search call (workers/scan.py batch)")
    p.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build an HNSW graph for")
    a = p.parse_args(argv)

    hardware.configure()
    bench_banks([int(s) for s in a.sizes.split(",")], [int(d) for d in a.dims.split(",")], a.queries, a.batch,
                a.hnsw_max)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
