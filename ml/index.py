"""ReferenceIndex: the genuine-reference banks plus the confirmed-counterfeit bank, versioned on disk."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time

import numpy as np
from PIL import ImageOps

from ml.banks import PdqBank, VectorBank
from ml.config import BankConfig
from ml.images import ImageError, load_image
from ml.models import LoadedModels
from ml.pdq import pdq_hex_of
from ml.types import BrandInfo, ReferenceInfo

INDEX_FORMAT = 1
_BANKS = ("ref_image", "ref_text", "cf_image")
_PDQ_BANKS = ("ref_pdq", "cf_pdq")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class EmbeddingCache:
    """On-disk cache of per-image embeddings keyed by file sha256 and model version.

    Without a directory it is an in-memory dict, so ``build`` has a single code path.
    """

    def __init__(self, directory: str | None, model_version: str):
        self.dir = os.path.join(directory, model_version) if directory else None
        self._mem: dict[str, dict] = {}
        if self.dir:
            os.makedirs(self.dir, exist_ok=True)

    def get(self, key: str) -> dict | None:
        if not self.dir:
            return self._mem.get(key)
        p = os.path.join(self.dir, key + ".npz")
        if not os.path.exists(p):
            return None
        with np.load(p) as z:
            return {k: z[k] for k in z.files}

    def put(self, key: str, **arrays: np.ndarray) -> None:
        if not self.dir:
            self._mem[key] = arrays
            return
        fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".npz")
        os.close(fd)
        np.savez(tmp, **arrays)
        os.replace(tmp, os.path.join(self.dir, key + ".npz"))


@dataclasses.dataclass(frozen=True)
class BankArrays:
    """A bank's metadata as numpy columns, so search hits reduce per brand without a Python loop per hit."""

    meta: list  # the bank's meta list this was built from (identity = still valid)
    brand: np.ndarray  # int32 code per row, into ``brand_ids``
    kind: np.ndarray  # int8: 0 product, 1 logo, 2 other
    image: np.ndarray  # int32 reference image number
    brand_ids: list[str | None]
    ref_ids: list[str]

    KINDS = {"product": 0, "logo": 1}

    @classmethod
    def of(cls, meta: list[dict]) -> BankArrays:
        codes: dict[str | None, int] = {}
        brand = np.fromiter((codes.setdefault(m.get("brand_id"), len(codes)) for m in meta), np.int32, len(meta))
        kind = np.fromiter((cls.KINDS.get(m.get("kind"), 2) for m in meta), np.int8, len(meta))
        image = np.fromiter((m.get("image", 0) for m in meta), np.int32, len(meta))
        return cls(meta, brand, kind, image, list(codes), [m["ref_id"] for m in meta])


@dataclasses.dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value to compare by
class ReferenceRows:
    """What some references add to the reference banks (ref_image, ref_pdq, ref_text), apart from the index,
    so an import can embed once and hand the rows to a loaded index as a delta (``add_references``)."""

    image_vectors: np.ndarray  # float32 (n, D): each image, then its mirror image
    image_meta: list[dict]  # ref_id, brand_id, image, kind, flip
    pdq_hexes: list[str]
    pdq_meta: list[dict]  # ref_id, brand_id, image, kind
    text_vectors: np.ndarray  # float32 (m, Dt): one per reference
    text_meta: list[dict]  # ref_id, brand_id, kind

    def ref_ids(self) -> set[str]:
        return {m["ref_id"] for m in (*self.image_meta, *self.pdq_meta, *self.text_meta)}

    def of_reference(self, ref_id: str) -> ReferenceRows:
        """The rows of one reference (one delta per reference), in their order here."""
        img = [n for n, m in enumerate(self.image_meta) if m["ref_id"] == ref_id]
        pdq = [n for n, m in enumerate(self.pdq_meta) if m["ref_id"] == ref_id]
        txt = [n for n, m in enumerate(self.text_meta) if m["ref_id"] == ref_id]
        return ReferenceRows(
            self.image_vectors[np.asarray(img, np.int64)], [self.image_meta[n] for n in img],
            [self.pdq_hexes[n] for n in pdq], [self.pdq_meta[n] for n in pdq],
            self.text_vectors[np.asarray(txt, np.int64)], [self.text_meta[n] for n in txt])


def embed_references(references: list[ReferenceInfo], models: LoadedModels, cache_dir: str | None = None,
                     errors: list[str] | None = None) -> ReferenceRows:
    """Embed references' images (and mirror images), PDQ hashes and texts, cached by file sha256; the half of
    ``ReferenceIndex.build`` that needs the models, so a delta can be embedded without an index. Unreadable
    images are skipped and described in ``errors``."""
    errors = [] if errors is None else errors
    cache = EmbeddingCache(cache_dir, models.version)
    jobs: list[tuple[ReferenceInfo, int, str, str]] = []  # ref, image no, path, sha
    for r in references:
        for i, p in enumerate(r.image_paths):
            try:
                jobs.append((r, i, p, _sha256(p)))
            except OSError as exc:
                errors.append(f"{r.ref_id} image {i} ({os.path.basename(p)}): {exc.strerror or exc}")
    todo = [j for j in jobs if cache.get(j[3]) is None]
    bs = models.image.config.batch_size
    for start in range(0, len(todo), bs):
        batch, imgs = [], []
        for j in todo[start:start + bs]:
            try:
                im = load_image(j[2], draft_size=models.image.config.draft_size)
            except ImageError as exc:
                errors.append(f"{j[0].ref_id} image {j[1]} ({os.path.basename(j[2])}): {exc}")
                continue
            batch.append(j)
            imgs.append(im)
        if not imgs:
            continue
        squares = models.image.squares(imgs)  # one resize per image feeds the embedder and PDQ
        mirrored = models.image.squares([ImageOps.mirror(im) for im in imgs])
        g, _ = models.image.embed_squares(np.concatenate([squares, mirrored]), regions=False)
        for n, (j, im) in enumerate(zip(batch, imgs, strict=True)):
            cache.put(j[3], glob=g[n], flip=g[n + len(imgs)], pdq=np.array(pdq_hex_of(im, squares[n])))
    vecs, meta, hexes, pmeta = [], [], [], []
    for r, i, _p, sha in jobs:
        e = cache.get(sha)
        if e is None:
            continue
        for flipped, key in ((False, "glob"), (True, "flip")):
            vecs.append(e[key])
            meta.append({"ref_id": r.ref_id, "brand_id": r.brand_id, "image": i, "kind": r.kind, "flip": flipped})
        if str(e["pdq"]):  # the PDQ bank skips empty hashes: keep only what it holds
            hexes.append(str(e["pdq"]))
            pmeta.append({"ref_id": r.ref_id, "brand_id": r.brand_id, "image": i, "kind": r.kind})
    image_vectors = (np.stack(vecs).astype(np.float32, copy=False) if vecs
                     else np.zeros((0, models.image.dim), np.float32))
    texts = [f"{r.title}. {r.description}" for r in references]
    text_vectors = np.asarray(models.text.embed(texts), np.float32).reshape(-1, models.text.dim)
    return ReferenceRows(image_vectors, meta, hexes, pmeta, text_vectors,
                         [{"ref_id": r.ref_id, "brand_id": r.brand_id, "kind": r.kind} for r in references])


class ReferenceIndex:
    def __init__(self, brands: list[BrandInfo], references: list[ReferenceInfo], image_dim: int, text_dim: int,
                 model_version: str, bank_config: BankConfig | None = None):
        self.brands = list(brands)
        self.references = {r.ref_id: r for r in references}
        self.model_version = model_version
        self.ref_image = VectorBank(image_dim, bank_config)
        self.ref_text = VectorBank(text_dim, bank_config)
        self.cf_image = VectorBank(image_dim, bank_config)
        self.ref_pdq = PdqBank()
        self.cf_pdq = PdqBank()
        self.excluded: set[str] = set()
        self.errors: list[str] = []
        self.version = self._new_version()

    @staticmethod
    def _new_version() -> str:
        return time.strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()

    def arrays(self, bank_name: str) -> BankArrays:
        """Column view of a bank's metadata, rebuilt only after the bank changed (add / keep / load)."""
        bank = getattr(self, bank_name)
        cache = self.__dict__.setdefault("_arrays", {})
        a = cache.get(bank_name)
        if a is None or a.meta is not bank.meta or len(a.brand) != len(bank.meta):
            a = cache[bank_name] = BankArrays.of(bank.meta)
        return a

    @property
    def counts(self) -> dict[str, int]:
        return {"brands": len(self.brands), "references": len(self.references), "ref_image": self.ref_image.live,
                "ref_text": self.ref_text.live, "ref_pdq": self.ref_pdq.live, "cf_image": self.cf_image.live,
                "cf_pdq": self.cf_pdq.live}

    def rows_of(self, bank_name: str, source_id: str) -> list[int]:
        """The live rows of one bank that came from one listing or reference (its ``ref_id``), without a scan:
        a per-bank map from source id to rows, extended as rows are added (a full rebuild starts it again)."""
        bank = getattr(self, bank_name)
        maps = self.__dict__.setdefault("_rows_by_source", {})
        meta, seen, rows = maps.get(bank_name, (None, 0, None))
        if meta is not bank.meta:
            meta, seen, rows = bank.meta, 0, {}
        for n in range(seen, len(meta)):
            rows.setdefault(meta[n]["ref_id"], []).append(n)
        maps[bank_name] = (meta, len(meta), rows)
        return [n for n in rows.get(source_id, ()) if n not in bank.dead]

    def brand_msrp_median(self) -> dict[str, float]:
        by: dict[str, list[float]] = {}
        for r in self.references.values():
            if r.msrp and r.ref_id not in self.excluded:
                by.setdefault(r.brand_id, []).append(r.msrp)
        return {b: float(np.median(v)) for b, v in by.items()}

    # ---- building -------------------------------------------------------------------------
    @classmethod
    def build(cls, brands: list[BrandInfo], references: list[ReferenceInfo], models: LoadedModels,
              cache_dir: str | None = None, bank_config: BankConfig | None = None) -> ReferenceIndex:
        """Embed every reference image (and its mirror image) and text; cached by file sha256. ``bank_config``
        decides when the vector banks leave exact search (default: ``BankConfig()``)."""
        idx = cls(brands, references, models.image.dim, models.text.dim, models.version, bank_config)
        idx._add_reference_rows(embed_references(references, models, cache_dir, errors=idx.errors))
        return idx

    def _add_reference_rows(self, rows: ReferenceRows) -> None:
        if len(rows.image_vectors):
            self.ref_image.add(rows.image_vectors, list(rows.image_meta))
        self.ref_pdq.add(list(rows.pdq_hexes), list(rows.pdq_meta))
        if len(rows.text_vectors):
            self.ref_text.add(rows.text_vectors, list(rows.text_meta))

    @staticmethod
    def _upsert_brands(current: list[BrandInfo], brands: list[BrandInfo]) -> list[BrandInfo]:
        out = list(current)
        at = {b.brand_id: n for n, b in enumerate(out)}
        for b in brands:
            if b.brand_id in at:
                out[at[b.brand_id]] = b
            else:
                at[b.brand_id] = len(out)
                out.append(b)
        return out

    def add_references(self, brands: list[BrandInfo], references: list[ReferenceInfo],
                       rows: ReferenceRows) -> None:
        """Apply a reference delta to a loaded index instead of rebuilding it: each given reference's old rows
        are tombstoned first, so a re-import replaces its entries and a quarantined one comes back."""
        given = {r.ref_id for r in references}
        stray = rows.ref_ids() - given
        if stray:  # rows of a reference not named here would never be replaced by a later delta
            raise ValueError(f"rows for references not given: {sorted(stray)[:5]}")
        for vecs, meta, bank in ((rows.image_vectors, rows.image_meta, self.ref_image),
                                 (rows.text_vectors, rows.text_meta, self.ref_text)):
            if np.size(vecs) != len(meta) * bank.dim or len(rows.pdq_hexes) != len(rows.pdq_meta):
                # checked before any tombstone, so a bad delta leaves the index as it was
                raise ValueError("reference rows do not match their metadata or the index's dimensions")
        self.brands = self._upsert_brands(self.brands, brands)
        for r in references:
            for name in ("ref_image", "ref_text", "ref_pdq"):
                getattr(self, name).remove_rows(self.rows_of(name, r.ref_id))
            self.excluded.discard(r.ref_id)
            self.references[r.ref_id] = r
        self._add_reference_rows(rows)
        self.version = self._new_version()

    def set_brands(self, brands: list[BrandInfo]) -> None:
        """Upsert brand profiles (name, aliases, protected terms) by ``brand_id``; the banks are untouched."""
        self.brands = self._upsert_brands(self.brands, brands)
        self.version = self._new_version()

    # ---- counterfeit bank -----------------------------------------------------------------
    def add_counterfeits(self, items: list[tuple[str, str | None, np.ndarray, list[str]]]) -> None:
        """Add confirmed fakes: (listing_id, brand_id, image_vectors (n, D), pdq hex per image)."""
        for listing_id, brand_id, vecs, hexes in items:
            self.remove_counterfeit(listing_id)
            vecs = np.asarray(vecs, np.float32).reshape(-1, self.cf_image.dim)
            meta = [{"ref_id": listing_id, "brand_id": brand_id, "image": i} for i in range(len(vecs))]
            if len(vecs):
                self.cf_image.add(vecs, meta)
            self.cf_pdq.add(list(hexes), [{"ref_id": listing_id, "brand_id": brand_id, "image": i}
                                          for i in range(len(hexes))])
        self.version = self._new_version()

    def remove_counterfeit(self, listing_id: str) -> None:
        """A reinstated listing leaves the counterfeit bank: its rows are tombstoned (no rebuild)."""
        removed = sum(getattr(self, name).remove_rows(self.rows_of(name, listing_id)) for name in ("cf_image", "cf_pdq"))
        if removed:
            self.version = self._new_version()

    def exclude_references(self, ref_ids: set[str]) -> None:
        """Quarantined or deleted references stop matching immediately: their rows are tombstoned."""
        self.excluded |= set(ref_ids)
        for name in ("ref_image", "ref_text", "ref_pdq"):
            bank = getattr(self, name)
            bank.remove_rows([row for ref_id in ref_ids for row in self.rows_of(name, ref_id)])
        self.version = self._new_version()

    # ---- persistence ----------------------------------------------------------------------
    def save(self, directory: str) -> None:
        """Write to a sibling temp dir, then swap it in with os.replace so readers never see half a bank."""
        directory = os.path.abspath(directory)
        parent = os.path.dirname(directory)
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".index-", dir=parent)
        try:
            for name in _BANKS:
                getattr(self, name).save(tmp, name)
            for name in _PDQ_BANKS:
                getattr(self, name).save(tmp, name)
            doc = {
                "format": INDEX_FORMAT, "version": self.version, "model_version": self.model_version,
                "counts": self.counts, "excluded": sorted(self.excluded), "errors": self.errors,
                "brands": [dataclasses.asdict(b) for b in self.brands],
                "references": [dataclasses.asdict(r) for r in self.references.values()],
            }
            with open(os.path.join(tmp, "index.json"), "w", encoding="utf-8") as f:
                json.dump(doc, f)
            old = None
            if os.path.exists(directory):
                old = tempfile.mkdtemp(prefix=".old-index-", dir=parent)
                os.replace(directory, os.path.join(old, "x"))
            os.replace(tmp, directory)
            if old:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: str, bank_config: BankConfig | None = None) -> ReferenceIndex:
        with open(os.path.join(directory, "index.json"), encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("format") != INDEX_FORMAT:
            raise ValueError(f"unsupported index format {doc.get('format')!r}")
        brands = [BrandInfo.from_dict(b) for b in doc["brands"]]
        refs = [ReferenceInfo.from_dict(r) for r in doc["references"]]
        idx = cls.__new__(cls)
        idx.brands, idx.references = brands, {r.ref_id: r for r in refs}
        idx.model_version, idx.version = doc["model_version"], doc["version"]
        idx.excluded, idx.errors = set(doc.get("excluded", [])), list(doc.get("errors", []))
        for name in _BANKS:
            setattr(idx, name, VectorBank.load(directory, name, bank_config))
        for name in _PDQ_BANKS:
            setattr(idx, name, PdqBank.load(directory, name))
        return idx
