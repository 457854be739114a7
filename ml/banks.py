"""FAISS banks: an inner-product bank for unit vectors and a Hamming bank for PDQ hashes.

Each entry carries a small metadata dict (ref_id, brand_id, ...). A vector bank searches exactly
(flat) while small, switches to HNSW above ``BankConfig.hnsw_above`` vectors and to IVF-PQ above
``BankConfig.ivf_above``. HNSW returns the true inner products of what it finds; IVF-PQ's candidates
are re-scored exactly against the bank's float vectors, so scores stay comparable across kinds.

A row's FAISS id is its row number (the position of its vector and metadata), so every hit names the listing or
reference it came from. Removing rows leaves *tombstones* instead of rebuilding: ``remove_ids`` where FAISS
supports it (the exact index, wrapped in ``IndexIDMap2``, and IVF), a search-time ``IDSelectorNot`` for HNSW
(``SearchParametersHNSW(sel=...)``). ``keep``/``compacted`` drop the dead rows for good (a full rebuild).
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import faiss
import numpy as np

from ml.config import BankConfig
from ml.engines.policy import bf16_hardware
from ml.pdq import PDQ_BITS, hex_to_bytes

if TYPE_CHECKING:
    from ml.image_embedder import RegionVectors

FLAT, HNSW, IVFPQ = "flat", "hnsw", "ivfpq"
HEADROOM_ROWS = 256  # the least free room a vector bank's store keeps for deltas


def index_kind(n: int, config: BankConfig) -> str:
    """Which index a bank of ``n`` vectors uses (one place decides)."""
    if n > config.ivf_above:
        return IVFPQ
    return HNSW if n > config.hnsw_above else FLAT


def pq_bytes(dim: int, config: BankConfig) -> int:
    """PQ sub-quantisers (bytes per vector): ``dim / pq_sub_dim``, lowered to a divisor of ``dim``."""
    m = max(1, dim // config.pq_sub_dim)
    while dim % m:
        m -= 1
    return m


def make_vector_index(dim: int, n: int, config: BankConfig, sample: np.ndarray | None = None) -> faiss.Index:
    """Exact inner-product index up to ``config.hnsw_above`` vectors, HNSW above, IVF-PQ above
    ``config.ivf_above`` (trained on ``sample``, which that kind requires)."""
    kind = index_kind(n, config)
    if kind == FLAT:
        return faiss.IndexFlatIP(dim)
    if kind == HNSW:
        index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.ef_construction
        index.hnsw.efSearch = config.ef_search
        return index
    if sample is None or len(sample) == 0:
        raise ValueError("an IVF-PQ index needs training vectors")
    nlist = max(1, min(config.ivf_nlist, len(sample) // 39))
    index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, pq_bytes(dim, config), 8,
                             faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(sample, np.float32))
    index.nprobe = min(config.ivf_nprobe, nlist)
    return index


def train_sample(vectors: np.ndarray, config: BankConfig, seed: int = 0) -> np.ndarray:
    """A fixed-seed random subset for k-means: the same rows give the same index on every rebuild."""
    if len(vectors) <= config.ivf_train_size:
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), config.ivf_train_size, replace=False))
    return vectors[rows]


def rerank(vectors: np.ndarray, queries: np.ndarray, candidates: np.ndarray, k: int,
           chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner products of each query with its candidate rows; the best ``k`` per query, best first.

    Candidates that faiss padded with -1 (fewer found than asked for) score -inf and come back as -1.
    Queries go in chunks so the gathered candidate rows stay a few tens of MB.
    """
    k = min(k, candidates.shape[1])
    scores = np.empty((len(queries), k), np.float32)
    ids = np.empty((len(queries), k), np.int64)
    for lo in range(0, len(queries), chunk):
        cand = candidates[lo:lo + chunk]
        s = np.einsum("qkd,qd->qk", vectors[np.maximum(cand, 0)], queries[lo:lo + chunk])
        s[cand < 0] = -np.inf
        best = np.argsort(-s, axis=1, kind="stable")[:, :k]
        scores[lo:lo + chunk] = np.take_along_axis(s, best, 1)
        ids[lo:lo + chunk] = np.take_along_axis(cand, best, 1)
    return scores, ids


class VectorBank:
    def __init__(self, dim: int, config: BankConfig | None = None):
        self.dim = dim
        self.config = config or BankConfig()
        self.vectors = np.zeros((0, dim), np.float32)  # a view of the first rows of ``_store``, once grown
        self._store: np.ndarray | None = None
        self.meta: list[dict] = []
        self.dead: set[int] = set()  # tombstoned rows: never returned by a search
        self._params = None  # HNSW's search-time exclusion of the dead rows
        self._index = _with_row_ids(make_vector_index(dim, 0, self.config))

    def __len__(self) -> int:
        """Rows, dead ones included (row numbers index ``meta``); ``live`` counts the searchable ones."""
        return len(self.meta)

    @property
    def live(self) -> int:
        return len(self.meta) - len(self.dead)

    @property
    def kind(self) -> str:
        if isinstance(self._index, faiss.IndexIVF):
            return IVFPQ
        return HNSW if isinstance(self._index, faiss.IndexHNSW) else FLAT

    @property
    def approximate(self) -> bool:
        return self.kind != FLAT

    def _rebuild(self) -> None:
        n = len(self.vectors)
        sample = train_sample(self.vectors, self.config) if index_kind(n, self.config) == IVFPQ else None
        self._index = _with_row_ids(make_vector_index(self.dim, n, self.config, sample))
        if n:
            self._add_rows(self.vectors, 0)
        dead, self.dead, self._params = self.dead, set(), None
        self.remove_rows(dead)

    def _add_rows(self, vectors: np.ndarray, first_row: int) -> None:
        if self.kind == HNSW:  # HNSW numbers rows in order (it has no ids of its own, and never removes)
            self._index.add(vectors)
        else:
            self._index.add_with_ids(vectors, np.arange(first_row, first_row + len(vectors), dtype=np.int64))

    def add(self, vectors: np.ndarray, meta: list[dict]) -> None:
        vectors = np.ascontiguousarray(vectors, np.float32).reshape(-1, self.dim)
        if len(vectors) != len(meta):
            raise ValueError("vectors and meta differ in length")
        first = self._append(vectors)
        self.meta.extend(meta)
        if index_kind(len(self.vectors), self.config) != self.kind:
            self._rebuild()  # crossed a threshold: one build of the new kind over everything
        else:
            self._add_rows(vectors, first)

    def _append(self, vectors: np.ndarray) -> int:
        """Write rows after the last one, in place while the store has room; returns the first new row.

        The store keeps an eighth of headroom, so a delta of a few rows costs the same at 10k and at 1M vectors
        (copying a million-row bank for every takedown cost seconds); it is regrown, with the rows copied once,
        only when full or after ``keep`` replaced the rows.
        """
        n, m = len(self.vectors), len(vectors)
        if self._store is None or self.vectors.base is not self._store or len(self._store) < n + m:
            self._store = np.empty((n + m + max(n // 8, HEADROOM_ROWS), self.dim), np.float32)
            self._store[:n] = self.vectors
        self._store[n:n + m] = vectors
        self.vectors = self._store[:n + m]
        return n

    def remove_rows(self, rows) -> int:
        """Tombstone rows (no rebuild): they are never returned again; returns how many were newly removed."""
        new = sorted(set(int(r) for r in rows) - self.dead)
        if not new:
            return 0
        self.dead.update(new)
        if self.kind == HNSW:
            dead = np.fromiter(sorted(self.dead), np.int64, len(self.dead))
            batch = faiss.IDSelectorBatch(dead)
            selector = faiss.IDSelectorNot(batch)
            self._params = faiss.SearchParametersHNSW(sel=selector, efSearch=self.config.ef_search)
            self._params_refs = (dead, batch, selector)  # FAISS keeps raw pointers: hold the objects
        else:
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(new, np.int64)))
        return len(new)

    def keep(self, mask: np.ndarray) -> None:
        """Drop rows where mask is False (and every dead row) and rebuild the index."""
        mask = np.asarray(mask, bool).copy()
        if self.dead:
            mask[sorted(self.dead)] = False
        self.vectors = self.vectors[mask]
        self.meta = [m for m, k in zip(self.meta, mask, strict=True) if k]
        self.dead, self._params = set(), None
        self._rebuild()

    def compact(self) -> None:
        """Drop the dead rows for good (one rebuild): what a saved full version holds."""
        if self.dead:
            self.keep(np.ones(len(self.meta), bool))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (Q, k'); k' = min(k, size); ids are rows of ``meta``."""
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.dim)
        k = min(k, self.live)
        if k == 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        if self.kind == IVFPQ:
            _, candidates = self._index.search(queries, min(len(self), k * self.config.ivf_rerank))
            return rerank(self.vectors, queries, candidates, k)
        if self._params is not None:
            return self._index.search(queries, k, params=self._params)
        return self._index.search(queries, k)

    @property
    def window_scores_rounded(self) -> bool:
        """Whether ``best_of_windows`` scores in bf16 (off by ~1e-3): callers re-score the pairs they keep."""

        return not self.approximate and bf16_hardware()

    def best_of_windows(self, regions: RegionVectors) -> tuple[np.ndarray, np.ndarray]:
        """Every bank row against every window of each image: (G, N) best score over the image's windows, and
        which window.

        The region search: 126 windows per photo, and the detector keeps only the best window per reference.
        Top-k search per window (FAISS) kept 8 per window, so a reference beaten by eight others in every window
        was missed; this scores them all, from the cells (``RegionVectors.best_scores``: half the products of
        scoring the windows), in bf16 on bf16 hardware (much faster than fp32; a score is off by ~1e-3, so callers
        re-score the pairs they keep with ``RegionVectors.scores``). Flat banks only: an approximate bank's rows are too
        many to score all (use ``search``).
        """
        import torch

        if self.approximate:
            raise ValueError("best_of_windows scores every row: only for a flat (exact) bank")
        g, r, _ = regions.shape
        if not len(self) or not g or not r:
            return np.zeros((g, len(self)), np.float32), np.zeros((g, len(self)), np.int64)
        dtype = torch.bfloat16 if self.window_scores_rounded else torch.float32
        cached = self.__dict__.get("_matrix")
        if cached is None or cached[0] is not self.vectors or cached[1].dtype != dtype:
            cached = self._matrix = (self.vectors, torch.from_numpy(self.vectors).to(dtype).t().contiguous())
        best, window = regions.best_scores(cached[1])
        if self.dead:  # tombstoned rows never win (the lowest cosine)
            best[:, sorted(self.dead)] = -1.0
        return best, window

    def _index_path(self, directory: str, name: str, kind: str) -> str:
        return os.path.join(directory, f"{name}.{kind}.faiss")

    def save(self, directory: str, name: str) -> None:
        self.compact()  # a saved version holds no tombstones
        np.save(os.path.join(directory, f"{name}.npy"), self.vectors)
        if self.approximate:  # an HNSW/IVF build takes minutes at scale: workers load the index instead
            faiss.write_index(self._index, self._index_path(directory, name, self.kind))
        with open(os.path.join(directory, f"{name}.meta.json"), "w", encoding="utf-8") as f:
            json.dump({"dim": self.dim, "meta": self.meta}, f)

    @classmethod
    def load(cls, directory: str, name: str, config: BankConfig | None = None) -> VectorBank:
        with open(os.path.join(directory, f"{name}.meta.json"), encoding="utf-8") as f:
            doc = json.load(f)
        bank = cls(int(doc["dim"]), config)
        vecs = np.load(os.path.join(directory, f"{name}.npy"), mmap_mode="r")  # read once, into the store
        kind = index_kind(len(vecs), bank.config)
        saved = bank._index_path(directory, name, kind)
        if kind != FLAT and os.path.exists(saved):
            bank._append(vecs)
            bank.meta = list(doc["meta"])
            bank._index = _with_row_ids(faiss.read_index(saved))
            if kind == HNSW:
                bank._index.hnsw.efSearch = bank.config.ef_search
            else:
                bank._index.nprobe = min(bank.config.ivf_nprobe, bank._index.nlist)
            if bank._index.ntotal != len(vecs):
                bank._rebuild()  # stale index: never search one that disagrees with the rows
        elif len(vecs):
            bank.add(vecs, doc["meta"])
        return bank


class PdqBank:
    """Hamming search over PDQ hashes; ids are row numbers (``IndexBinaryIDMap2``), so removal is a tombstone."""

    def __init__(self):
        self.hashes: list[str] = []
        self.meta: list[dict] = []
        self.dead: set[int] = set()
        self._index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(PDQ_BITS))

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def live(self) -> int:
        return len(self.meta) - len(self.dead)

    def add(self, hexes: list[str], meta: list[dict]) -> None:
        pairs = [(h, m) for h, m in zip(hexes, meta, strict=True) if h]
        if not pairs:
            return
        hs = [h for h, _ in pairs]
        first = len(self.hashes)
        self.hashes.extend(hs)
        self.meta.extend(m for _, m in pairs)
        self._index.add_with_ids(hex_to_bytes(hs), np.arange(first, first + len(hs), dtype=np.int64))

    def remove_rows(self, rows) -> int:
        new = sorted(set(int(r) for r in rows) - self.dead)
        if new:
            self.dead.update(new)
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(new, np.int64)))
        return len(new)

    def keep(self, mask: np.ndarray) -> None:
        keep = [bool(k) and n not in self.dead for n, k in enumerate(mask)]
        hs = [h for h, k in zip(self.hashes, keep, strict=True) if k]
        ms = [m for m, k in zip(self.meta, keep, strict=True) if k]
        self.hashes, self.meta, self.dead = [], [], set()
        self._index = faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(PDQ_BITS))
        self.add(hs, ms)

    def compact(self) -> None:
        if self.dead:
            self.keep(np.ones(len(self.meta), bool))

    def search(self, hexes: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(hamming distances, ids), shape (Q, k')."""
        k = min(k, self.live)
        if k == 0 or not hexes:
            return np.zeros((len(hexes), 0), np.int32), np.zeros((len(hexes), 0), np.int64)
        return self._index.search(hex_to_bytes(hexes), k)

    def save(self, directory: str, name: str) -> None:
        self.compact()
        with open(os.path.join(directory, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump({"hashes": self.hashes, "meta": self.meta}, f)

    @classmethod
    def load(cls, directory: str, name: str) -> PdqBank:
        with open(os.path.join(directory, f"{name}.json"), encoding="utf-8") as f:
            doc = json.load(f)
        bank = cls()
        bank.add(doc["hashes"], doc["meta"])
        return bank


def _with_row_ids(index: faiss.Index) -> faiss.Index:
    """The exact index gets an id map (``IndexIDMap2``) so ``remove_ids`` keeps row numbers; IVF keeps its own
    ids and HNSW is searched with an exclusion selector instead."""
    if isinstance(index, (faiss.IndexHNSW, faiss.IndexIVF, faiss.IndexIDMap2)):
        return index
    return faiss.IndexIDMap2(index)
