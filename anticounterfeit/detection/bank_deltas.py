"""Incremental banks: the decisions' changes to the live banks, as ``BankDelta`` rows every worker applies.

A takedown appends the listing's stored image vectors and PDQ hashes (computed when it was scanned) in the
deciding transaction, so a re-upload of the same fake matches as soon as a worker next looks at the deltas (its
next scan); no full rebuild, and no worker reloads the bank. A reinstatement or a removed reference writes a
tombstone. A listing whose stored features come from other models is handed to the ``index`` queue, which
computes them first (``tasks.RECORD_COUNTERFEIT``).

A catalog change takes the same path: the ``index`` queue embeds the new or changed references and writes one
delta per reference (its image vectors, PDQ hashes and text vector) and one per brand profile
(``detection.bank_builds.record_catalog_change``).
"""
import dataclasses
import logging

import numpy as np

from anticounterfeit.core import queue, tasks
from ml.types import BrandInfo, ReferenceInfo

from .ml_config import models_config
from .models import BankDelta

log = logging.getLogger(__name__)


def counterfeit_bank_id(listing) -> str:
    """The shared bank serves every tenant, so its entries name no tenant's listing or seller: an opaque id
    that only staff can resolve (listing ids are unique per tenant only, and would collide as well)."""
    return f"cf-{listing.pk}"


def record_takedown(listing, *, model_version: str | None = None) -> BankDelta | None:
    """Append a removed listing to the counterfeit bank (in the caller's transaction); None when its features
    must be computed first (then the ``index`` queue records it)."""
    from ml.models import models_version  # lazy: takedowns run in the web process, which never loads torch

    expected = model_version or models_version(models_config())
    images = [image for image in listing.images.order_by("position")
              if image.features_version == expected and image.vector]
    if not images:
        queue.enqueue(tasks.RECORD_COUNTERFEIT, listing.pk)
        return None
    vectors = np.stack([np.frombuffer(bytes(image.vector), dtype=np.float32) for image in images])
    brand = listing.matched_brand.brand_key if listing.matched_brand_id else ""
    return BankDelta.objects.create(op=BankDelta.Op.ADD_COUNTERFEIT, source_key=counterfeit_bank_id(listing), brand_key=brand,
                                    dim=vectors.shape[1], vectors=vectors.astype(np.float32).tobytes(),
                                    pdq=[image.pdq for image in images], model_version=expected)


def record_reinstatement(listing) -> BankDelta:
    """A tombstone: the listing's entries leave the counterfeit bank."""
    return BankDelta.objects.create(op=BankDelta.Op.REMOVE_COUNTERFEIT, source_key=counterfeit_bank_id(listing))


def record_reference_removed(ref_key: str) -> BankDelta:
    """A tombstone: a deleted or quarantined reference stops matching."""
    return BankDelta.objects.create(op=BankDelta.Op.EXCLUDE_REFERENCE, source_key=ref_key)


def record_reference(reference, brand, rows, *, model_version: str) -> BankDelta:
    """A new or changed reference's entries (``ml.index.ReferenceRows`` of that one reference): they replace the
    reference's earlier entries wherever the delta is applied. ``reference``/``brand``: ``ml.types`` infos."""
    return BankDelta.objects.create(
        op=BankDelta.Op.ADD_REFERENCE, source_key=reference.ref_id, brand_key=reference.brand_id,
        dim=rows.image_vectors.shape[1], vectors=np.asarray(rows.image_vectors, np.float32).tobytes(),
        pdq=list(rows.pdq_hexes), model_version=model_version,
        payload={"reference": dataclasses.asdict(reference), "brand": dataclasses.asdict(brand),
                 "image_meta": rows.image_meta, "pdq_meta": rows.pdq_meta, "text_meta": rows.text_meta,
                 "text_vectors": np.asarray(rows.text_vectors, np.float32).tolist()})


def record_brand_profile(brand) -> BankDelta:
    """A brand's name, aliases and protected terms (an ``ml.types.BrandInfo``), for text matching."""
    return BankDelta.objects.create(op=BankDelta.Op.BRAND_PROFILE, source_key=brand.brand_id, brand_key=brand.brand_id,
                                    payload={"brand": dataclasses.asdict(brand)})


def latest_id() -> int:
    return BankDelta.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def deltas_after(delta_id: int) -> list[BankDelta]:
    """The deltas a worker has not applied yet, oldest first (one indexed query; usually none)."""
    return list(BankDelta.objects.filter(pk__gt=delta_id).order_by("pk"))


def apply(index, deltas: list[BankDelta]) -> bool:
    """Apply deltas to a loaded ``ml.index.ReferenceIndex`` in place (FAISS adds, tombstones; no rebuild).
    Returns whether the catalog (references or brand profiles) changed: the detector's catalog views then need
    refreshing (``ml.detector.Detector.catalog_changed``)."""
    catalog_changed = False
    for delta in deltas:
        if delta.op == BankDelta.Op.ADD_COUNTERFEIT:
            if delta.dim != index.cf_image.dim:
                log.warning("%s: vectors of size %s do not fit bank size %s; left to compaction", delta, delta.dim,
                            index.cf_image.dim)
                continue
            vectors = np.frombuffer(bytes(delta.vectors), dtype=np.float32).reshape(-1, delta.dim)
            index.add_counterfeits([(delta.source_key, delta.brand_key or None, vectors, list(delta.pdq))])
        elif delta.op == BankDelta.Op.REMOVE_COUNTERFEIT:
            index.remove_counterfeit(delta.source_key)
        elif delta.op == BankDelta.Op.EXCLUDE_REFERENCE:
            index.exclude_references({delta.source_key})
            catalog_changed = True
        elif delta.op == BankDelta.Op.ADD_REFERENCE:
            if delta.dim != index.ref_image.dim:
                log.warning("%s: vectors of size %s do not fit bank size %s; left to compaction", delta, delta.dim,
                            index.ref_image.dim)
                continue
            index.add_references([BrandInfo.from_dict(delta.payload["brand"])],
                                 [ReferenceInfo.from_dict(delta.payload["reference"])], _reference_rows(delta))
            catalog_changed = True
        elif delta.op == BankDelta.Op.BRAND_PROFILE:
            index.set_brands([BrandInfo.from_dict(delta.payload["brand"])])
            catalog_changed = True
    return catalog_changed


def _reference_rows(delta: BankDelta):
    from ml.index import ReferenceRows

    doc = delta.payload
    return ReferenceRows(
        image_vectors=np.frombuffer(bytes(delta.vectors), dtype=np.float32).reshape(-1, delta.dim),
        image_meta=doc["image_meta"], pdq_hexes=list(delta.pdq), pdq_meta=doc["pdq_meta"],
        text_vectors=np.asarray(doc["text_vectors"], np.float32).reshape(len(doc["text_meta"]), -1),
        text_meta=doc["text_meta"])
