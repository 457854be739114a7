"""Vector banks switch from exact to HNSW above a size, keep recall@10 and survive keep/save/load."""
import dataclasses

import numpy as np
import pytest

from ml.banks import VectorBank
from ml.cli.bench_banks import clustered_vectors
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


def test_bank_switches_to_ivfpq_above_its_threshold_with_exact_rerank(tmp_path):
    """HNSW, then IVF-PQ: candidates re-scored against the float rows keep recall and true scores."""
    cfg = dataclasses.replace(CFG, ivf_above=2000, ivf_nlist=32, ivf_nprobe=8, ivf_train_size=2500)
    x = clustered_vectors(3000, 128, seed=7, clusters=60)
    meta = [{"ref_id": f"r{i}"} for i in range(len(x))]
    bank = VectorBank(128, cfg)
    bank.add(x[:1500], meta[:1500])
    assert bank.kind == "hnsw"
    bank.add(x[1500:], meta[1500:])
    assert bank.kind == "ivfpq" and bank.approximate and bank._index.ntotal == 3000
    assert bank._index.pq.M == 32  # 128 dims / 4 dims per byte
    exact = VectorBank(128, dataclasses.replace(cfg, hnsw_above=10**9, ivf_above=10**9))
    exact.add(x, meta)
    q = x[::37] + 0.05 * np.random.default_rng(3).standard_normal((len(x[::37]), 128)).astype(np.float32)
    assert _recall_at_10(bank, exact, q) >= 0.95
    s, ids = bank.search(x[:5], 3)
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4] and np.allclose(s[:, 0], 1.0, atol=1e-5)  # exact scores
    assert np.all(np.diff(s, axis=1) <= 0)  # best first
    es, eids = exact.search(x[:5], 3)
    assert np.allclose(s, es, atol=1e-5)

    bank.add(x[:10], meta[:10])  # grows in place: the trained quantiser is kept
    assert bank.kind == "ivfpq" and bank._index.ntotal == 3010
    bank.save(str(tmp_path), "img")
    assert (tmp_path / "img.ivfpq.faiss").exists() and not (tmp_path / "img.hnsw.faiss").exists()
    loaded = VectorBank.load(str(tmp_path), "img", cfg)
    assert loaded.kind == "ivfpq" and loaded._index.ntotal == 3010 and loaded._index.nprobe == 8
    assert list(loaded.search(x[2500:2503], 1)[1][:, 0]) == [2500, 2501, 2502]

    keep = np.zeros(3010, bool)
    keep[:1200] = True  # below the IVF threshold again: back to HNSW
    bank.keep(keep)
    assert bank.kind == "hnsw" and len(bank) == 1200


def test_ivfpq_search_pads_when_fewer_candidates_than_asked():
    cfg = dataclasses.replace(BankConfig(), hnsw_above=0, ivf_above=300, ivf_nlist=4, ivf_nprobe=1)
    x = clustered_vectors(400, 16, seed=2, clusters=4)
    bank = VectorBank(16, cfg)
    bank.add(x, [{"i": i} for i in range(400)])
    assert bank.kind == "ivfpq" and bank._index.pq.M == 4
    s, ids = bank.search(x[:2], 400)  # one probed cell holds fewer than 400 rows: padded with -1
    assert s.shape == ids.shape == (2, 400)
    found = ids[ids >= 0]
    assert len(found) < 800 and ids[0, 0] == 0 and ids[1, 0] == 1
    assert np.all(s[ids < 0] == -np.inf)


@pytest.mark.parametrize("kind_cfg", [dict(hnsw_above=10**9), dict(hnsw_above=100), dict(hnsw_above=100, ivf_above=500)],
                         ids=["flat", "hnsw", "ivfpq"])
def test_removed_rows_are_tombstoned_without_a_rebuild_and_compaction_keeps_results(kind_cfg):
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((1200, 64)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    bank = VectorBank(64, dataclasses.replace(CFG, **kind_cfg))
    bank.add(vecs, [{"ref_id": f"L-{n // 2}"} for n in range(len(vecs))])
    index_before = bank._index
    assert bank.search(vecs[:3], 1)[1][:, 0].tolist() == [0, 1, 2]
    assert bank.remove_rows([0, 1, 2]) == 3 and bank.remove_rows([1]) == 0
    assert bank._index is index_before, "a removal must not rebuild the index"
    scores, ids = bank.search(vecs[:40], 5)
    assert not set(ids.ravel().tolist()) & {0, 1, 2}
    assert bank.live == 1197 and len(bank) == 1200
    # Rows added after a removal keep their row numbers as ids.
    bank.add(vecs[:1] * 1.0, [{"ref_id": "L-new"}])
    assert bank.search(vecs[:1], 1)[1][0, 0] == 1200
    # Compaction drops the dead rows; the same queries find the same entries (by source id).
    found = [[bank.meta[i]["ref_id"] for i in row if i >= 0] for row in bank.search(vecs[5:40], 3)[1]]
    bank.compact()
    assert len(bank) == bank.live == 1198 and not bank.dead
    again = [[bank.meta[i]["ref_id"] for i in row if i >= 0] for row in bank.search(vecs[5:40], 3)[1]]
    if bank.kind == "flat":
        assert again == found
    else:  # approximate: the same top hit
        assert [r[0] for r in again] == [r[0] for r in found]


@pytest.mark.parametrize("kind_cfg", [dict(hnsw_above=10**9), dict(hnsw_above=100), dict(hnsw_above=100, ivf_above=500)],
                         ids=["flat", "hnsw", "ivfpq"])
def test_a_delta_writes_into_the_loaded_store_without_copying_the_bank(tmp_path, kind_cfg):
    """A takedown's few rows are written after the loaded ones: the bank's rows are not copied per delta."""
    rng = np.random.default_rng(4)
    vecs = rng.standard_normal((1500, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    cfg = dataclasses.replace(CFG, **kind_cfg)
    saved = VectorBank(32, cfg)
    saved.add(vecs[:1000], [{"ref_id": f"L-{n}"} for n in range(1000)])
    saved.save(str(tmp_path), "cf")
    bank = VectorBank.load(str(tmp_path), "cf", cfg)
    store, index = bank._store, bank._index
    assert len(store) > 1000, "a loaded bank keeps room for deltas"
    for n in range(1000, 1100):  # one delta after another, as takedowns arrive
        bank.add(vecs[n:n + 1], [{"ref_id": f"L-{n}"}])
    assert bank._store is store and bank._index is index, "deltas must not regrow the store or rebuild the index"
    assert np.shares_memory(bank.vectors, store) and np.array_equal(bank.vectors, vecs[:1100])
    assert [bank.meta[i]["ref_id"] for i in bank.search(vecs[1090:1093], 1)[1][:, 0]] == ["L-1090", "L-1091", "L-1092"]
    bank.add(vecs[1100:], [{"ref_id": f"L-{n}"} for n in range(1100, 1500)])  # past the headroom: grown once
    assert bank._store is not store and np.array_equal(bank.vectors, vecs)


def test_pdq_bank_tombstones_rows():
    from ml.banks import PdqBank

    bank = PdqBank()
    hexes = [f"{n:02x}" * 32 for n in range(1, 6)]
    bank.add(hexes, [{"ref_id": f"L-{n}"} for n in range(5)])
    assert bank.search(hexes[2:3], 1)[1][0, 0] == 2
    bank.remove_rows([2])
    assert bank.search(hexes[2:3], 1)[1][0, 0] != 2 and bank.live == 4
    bank.add(["ff" * 32], [{"ref_id": "L-new"}])
    assert bank.search(["ff" * 32], 1)[1][0, 0] == 5
