"""Vector banks switch from exact to HNSW above a size, keep recall@10 and survive keep/save/load."""
import dataclasses

import numpy as np

from ml.banks import VectorBank
from ml.bench import clustered_vectors
from ml.config import BankConfig

CFG = dataclasses.replace(BankConfig(), hnsw_above=1000)


def _recall_at_10(bank: VectorBank, exact: VectorBank, q: np.ndarray) -> float:
    _, a = bank.search(q, 10)
    _, b = exact.search(q, 10)
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b, strict=True)]))


def test_bank_switches_to_hnsw_above_threshold_and_keeps_recall(tmp_path):
    x = clustered_vectors(3000, 128, seed=5, clusters=60)
    meta = [{"ref_id": f"r{i}", "brand_id": "b"} for i in range(len(x))]
    bank = VectorBank(128, CFG)
    bank.add(x[:900], meta[:900])
    assert not bank.approximate  # small bank: exact
    bank.add(x[900:], meta[900:])
    assert bank.approximate and len(bank) == 3000
    exact = VectorBank(128, dataclasses.replace(CFG, hnsw_above=10**9))
    exact.add(x, meta)
    q = x[::37] + 0.05 * np.random.default_rng(1).standard_normal((len(x[::37]), 128)).astype(np.float32)
    assert _recall_at_10(bank, exact, q) >= 0.95
    s, ids = bank.search(x[:5], 1)
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4] and np.allclose(s[:, 0], 1.0, atol=1e-4)  # true inner products

    keep = np.ones(3000, bool)
    keep[:2500] = False  # shrinks below the threshold: back to exact search
    bank.keep(keep)
    assert not bank.approximate and len(bank) == 500 and bank.meta[0]["ref_id"] == "r2500"

    bank.add(x[:600], meta[:600])
    bank.save(str(tmp_path), "img")
    assert (tmp_path / "img.hnsw.faiss").exists()  # the graph is saved, not rebuilt by every worker
    loaded = VectorBank.load(str(tmp_path), "img", CFG)
    assert loaded.approximate and len(loaded) == 1100 and loaded._index.ntotal == 1100
    assert list(loaded.search(x[2500:2503], 1)[1][:, 0]) == [0, 1, 2]
