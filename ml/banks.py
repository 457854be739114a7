"""FAISS banks: an inner-product bank for unit vectors and a Hamming bank for PDQ hashes.

Each entry carries a small metadata dict (ref_id, brand_id, ...). A vector bank searches exactly
(flat) while small and switches to HNSW above ``BankConfig.hnsw_above`` vectors; HNSW returns the
true inner products of what it finds, so scores stay comparable. Removal rebuilds from kept rows.
"""
from __future__ import annotations

import json
import os

import faiss
import numpy as np

from ml.config import BankConfig
from ml.pdq import PDQ_BITS, hex_to_bytes


def make_vector_index(dim: int, n: int, config: BankConfig) -> faiss.Index:
    """Exact inner-product index up to ``config.hnsw_above`` vectors, HNSW above."""
    if n <= config.hnsw_above:
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config.ef_construction
    index.hnsw.efSearch = config.ef_search
    return index


class VectorBank:
    def __init__(self, dim: int, config: BankConfig | None = None):
        self.dim = dim
        self.config = config or BankConfig()
        self.vectors = np.zeros((0, dim), np.float32)
        self.meta: list[dict] = []
        self._index = make_vector_index(dim, 0, self.config)

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def approximate(self) -> bool:
        return isinstance(self._index, faiss.IndexHNSW)

    def _rebuild(self) -> None:
        self._index = make_vector_index(self.dim, len(self.vectors), self.config)
        if len(self.vectors):
            self._index.add(self.vectors)

    def add(self, vectors: np.ndarray, meta: list[dict]) -> None:
        vectors = np.ascontiguousarray(vectors, np.float32).reshape(-1, self.dim)
        if len(vectors) != len(meta):
            raise ValueError("vectors and meta differ in length")
        self.vectors = np.concatenate([self.vectors, vectors])
        self.meta.extend(meta)
        if not self.approximate and len(self.vectors) > self.config.hnsw_above:
            self._rebuild()  # crossed the threshold: one HNSW build over everything
        else:
            self._index.add(vectors)

    def keep(self, mask: np.ndarray) -> None:
        """Drop rows where mask is False and rebuild the index."""
        self.vectors = self.vectors[mask]
        self.meta = [m for m, k in zip(self.meta, mask, strict=True) if k]
        self._rebuild()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (Q, k'); k' = min(k, size); ids are rows of ``meta``."""
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.dim)
        k = min(k, len(self))
        if k == 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        return self._index.search(queries, k)

    def save(self, directory: str, name: str) -> None:
        np.save(os.path.join(directory, f"{name}.npy"), self.vectors)
        if self.approximate:  # an HNSW build takes minutes at scale: workers load the graph instead
            faiss.write_index(self._index, os.path.join(directory, f"{name}.hnsw.faiss"))
        with open(os.path.join(directory, f"{name}.meta.json"), "w", encoding="utf-8") as f:
            json.dump({"dim": self.dim, "meta": self.meta}, f)

    @classmethod
    def load(cls, directory: str, name: str, config: BankConfig | None = None) -> VectorBank:
        with open(os.path.join(directory, f"{name}.meta.json"), encoding="utf-8") as f:
            doc = json.load(f)
        bank = cls(int(doc["dim"]), config)
        vecs = np.load(os.path.join(directory, f"{name}.npy"))
        graph = os.path.join(directory, f"{name}.hnsw.faiss")
        if len(vecs) > bank.config.hnsw_above and os.path.exists(graph):
            bank.vectors, bank.meta = np.ascontiguousarray(vecs, np.float32), list(doc["meta"])
            bank._index = faiss.read_index(graph)
            bank._index.hnsw.efSearch = bank.config.ef_search
            if bank._index.ntotal != len(vecs):
                bank._rebuild()  # stale graph: never search one that disagrees with the rows
        elif len(vecs):
            bank.add(vecs, doc["meta"])
        return bank


class PdqBank:
    def __init__(self):
        self.hashes: list[str] = []
        self.meta: list[dict] = []
        self._index = faiss.IndexBinaryFlat(PDQ_BITS)

    def __len__(self) -> int:
        return len(self.meta)

    def add(self, hexes: list[str], meta: list[dict]) -> None:
        pairs = [(h, m) for h, m in zip(hexes, meta, strict=True) if h]
        if not pairs:
            return
        hs = [h for h, _ in pairs]
        self.hashes.extend(hs)
        self.meta.extend(m for _, m in pairs)
        self._index.add(hex_to_bytes(hs))

    def keep(self, mask: np.ndarray) -> None:
        hs = [h for h, k in zip(self.hashes, mask, strict=True) if k]
        ms = [m for m, k in zip(self.meta, mask, strict=True) if k]
        self.hashes, self.meta = [], []
        self._index = faiss.IndexBinaryFlat(PDQ_BITS)
        self.add(hs, ms)

    def search(self, hexes: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(hamming distances, ids), shape (Q, k')."""
        k = min(k, len(self))
        if k == 0 or not hexes:
            return np.zeros((len(hexes), 0), np.int32), np.zeros((len(hexes), 0), np.int64)
        return self._index.search(hex_to_bytes(hexes), k)

    def save(self, directory: str, name: str) -> None:
        with open(os.path.join(directory, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump({"hashes": self.hashes, "meta": self.meta}, f)

    @classmethod
    def load(cls, directory: str, name: str) -> PdqBank:
        with open(os.path.join(directory, f"{name}.json"), encoding="utf-8") as f:
            doc = json.load(f)
        bank = cls()
        bank.add(doc["hashes"], doc["meta"])
        return bank
