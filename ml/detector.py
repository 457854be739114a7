"""Detector: turns a listing into signals, a feature dict, a calibrated score and an explanation."""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from PIL import Image

from ml.brands import BrandMatcher, Mention
from ml.config import DetectorConfig, EmbedderConfig
from ml.evasion import evasion_terms, genuine_claims, hype_terms, second_hand_terms
from ml.hardware import aside
from ml.image_embedder import RegionVectors
from ml.images import ImageError, image_map, load_image, square_pixels
from ml.index import ReferenceIndex
from ml.logo_verify import LogoVerifier
from ml.models import LoadedModels
from ml.ocr import MAX_SIDE as OCR_MAX_SIDE
from ml.ocr import image_text, ocr_available
from ml.pdq import PDQ_BITS, pdq_hex_of
from ml.pricing import log_ratio_feature, price_ratio
from ml.scorer import Scorer
from ml.seller import seller_features
from ml.textnorm import fold
from ml.types import ListingInput, Match, ScanResult


@dataclass
class Evidence:
    """One listing's raw search results, keyed by brand, before they become features."""

    img: dict[str, tuple[float, str, int, int]] = field(default_factory=dict)  # brand -> (sim, ref, li, ri)
    logo: dict[str, tuple[float, str, int, int, tuple]] = field(default_factory=dict)
    region: dict[str, tuple[float, str, int, int, tuple]] = field(default_factory=dict)
    text: dict[str, tuple[float, str]] = field(default_factory=dict)
    pdq: dict[str, tuple[int, str, int, int]] = field(default_factory=dict)
    cf_sim: tuple[float, str, str | None] = (0.0, "", None)
    cf_pdq: tuple[int, str, str | None] = (PDQ_BITS, "", None)


@dataclass
class ListingSignals:
    """Everything the detector finds in one listing but its score: what the scorer reads (``features``), what a
    result shows (brand, matches, explanation inputs) and what is stored for later comparison (vectors, hashes).
    Training and evaluation read these without scoring."""

    features: dict[str, float]
    brand_id: str | None  # the attributed brand (None: nothing points anywhere)
    mentions: list[Mention]
    evidence: Evidence
    evasion: list[str]
    matches: list[Match]
    image_vectors: np.ndarray  # (n decoded images, D) float32 global vectors
    pdq_hashes: list[str]  # hex per decoded image, the rows of image_vectors
    image_positions: list[int]  # index in the listing's image list of each row
    errors: list[str]
    image_text: dict[int, str]  # OCR text per image position (only images OCR ran on)
    followup_pending: bool  # see ScanResult.followup_pending


class ScanImage(NamedTuple):
    image: Image.Image  # decoded (reduced-size draft for JPEG), EXIF-upright RGB
    square: np.ndarray  # (S, S, 3) uint8: the embedder's input square (``square_pixels``)
    pdq: str  # PDQ hash, from the same square


def decode_scan_image(source: str | os.PathLike | bytes, config: DetectorConfig,
                      embedder: EmbedderConfig) -> ScanImage:
    """Decode one listing image the way every scan does: the detector's size limits and draft decode, one
    resize feeding both the embedder and PDQ. Anything that stores image features for later comparison
    (e.g. the counterfeit bank's refresh) goes through here too, so stored and scanned features agree.
    Raises ``ImageError``.
    """
    im = load_image(source, max_bytes=config.limits.max_image_bytes, max_pixels=config.limits.max_image_pixels,
                    draft_size=embedder.draft_size)
    square = square_pixels(im, embedder.input_size)
    return ScanImage(im, square, pdq_hex_of(im, square))


def _keep_max(d: dict, brand: str, value: tuple) -> None:
    if brand not in d or value[0] > d[brand][0]:
        d[brand] = value


def attribute_brand(mentions: list[Mention], e: Evidence, pdq_max_distance: int) -> str | None:
    """The brand with the most combined evidence; None when nothing points anywhere.

    A brand named in the title or printed on the product (read by OCR) is the listing's own claim, and it
    outweighs look-alike images: a product photo resembles every catalog of its kind (all headphones look alike),
    while a name points at one brand.
    """
    votes: dict[str, float] = defaultdict(float)
    for m in mentions:
        w = {"name": 2.0, "alias": 1.8, "protected": 0.8}[m.kind] * (1.0 if m.field in ("title", "image") else 0.6)
        w *= m.weight  # a product line that is an ordinary word says little about the brand
        w *= 0.8 if m.distance else 1.0
        votes[m.brand_id] = max(votes[m.brand_id], w)
    for b, v in e.img.items():
        votes[b] += max(0.0, (v[0] - 0.55) * 3.0)
    for b, v in e.logo.items():
        votes[b] += max(0.0, (v[0] - 0.55) * 2.0)
    for b, v in e.region.items():
        votes[b] += max(0.0, (v[0] - 0.6) * 1.5)
    for b, v in e.text.items():
        votes[b] += max(0.0, (v[0] - 0.35) * 2.0)
    for b, v in e.pdq.items():
        if v[0] <= pdq_max_distance:
            votes[b] += 1.0
    if not votes:
        return None
    b, v = max(votes.items(), key=lambda kv: kv[1])
    return b if v >= 0.3 else None


class Detector:
    def __init__(self, models: LoadedModels, index: ReferenceIndex, scorer=None, config: DetectorConfig | None = None):

        self.models = models
        self.index = index
        self.scorer = scorer or Scorer.load_default()
        self.config = config or DetectorConfig()
        self.catalog_changed()

    def catalog_changed(self) -> None:
        """(Re)derive what the detector reads from the catalog: after the index took references or brand
        profiles in place (bank deltas), as at construction."""
        index = self.index
        self.matcher = BrandMatcher(index.brands)
        self.brand_names = {b.brand_id: b.name for b in index.brands}
        self.brand_median = index.brand_msrp_median()
        self.model_version = f"{self.models.version}/{self.scorer.version}/{index.version}"
        self.logo_verifier = LogoVerifier(self.models, index, self.config.logo)

    # ---- public -----------------------------------------------------------------------------
    def scan(self, listings: list[ListingInput], *, ocr: bool = True) -> list[ScanResult]:
        """Scan a batch; a bad image is reported in ScanResult.errors and the rest is still used.

        ``ocr=False`` is the fast path: OCR and the small-logo stage (ml/logo_verify.py), the slowest stages
        per image, are left to a follow-up scan (``ocr=True``) of the listings marked
        ``ScanResult.followup_pending``, which replaces this result.
        """
        return self.scan_detailed(listings, ocr=ocr)[0]

    def scan_detailed(self, listings: list[ListingInput], *,
                      ocr: bool = True) -> tuple[list[ScanResult], list[ListingSignals]]:
        """Like ``scan`` but also returns the raw extraction (evidence per brand) for evaluation."""
        found = self.extract(listings, ocr=ocr)
        probs = self.scorer.predict([s.features for s in found]) if listings else np.zeros(0)
        out = []
        for lst, s, p in zip(listings, found, probs.tolist(), strict=True):
            out.append(ScanResult(
                listing_id=lst.listing_id, score=p, brand_id=s.brand_id, signals=s.features,
                explanation=self._explain(lst, s.features, s.brand_id, s.mentions, s.evidence, s.evasion),
                matches=s.matches, image_vectors=s.image_vectors, pdq_hashes=s.pdq_hashes,
                model_version=self.model_version, errors=s.errors, image_text=s.image_text,
                image_positions=s.image_positions, followup_pending=s.followup_pending))
        return out, found

    def extract(self, listings: list[ListingInput], *, ocr: bool = True) -> list[ListingSignals]:
        """Everything but the score, one record per listing (used by training too)."""
        cfg = self.models.image.config
        images, owners, errors = [], [], [[] for _ in listings]
        jobs = [(n, i, p) for n, lst in enumerate(listings)
                for i, p in enumerate(lst.image_paths[: self.config.limits.max_images_per_listing])]

        def decode(job: tuple) -> ScanImage | ImageError:
            try:
                return decode_scan_image(job[2], self.config, cfg)
            except ImageError as exc:
                return exc

        # The text encoder runs on the background thread while the image threads decode and resize.
        text_job = aside(self.models.text.embed, [f"{lst.title}. {lst.description}" for lst in listings])
        squares, hexes = [], []
        for (n, i, p), got in zip(jobs, image_map(decode, jobs), strict=True):
            if isinstance(got, ImageError):
                errors[n].append(f"image {i + 1} ({os.path.basename(p)}): {got}")
            else:
                images.append(got.image)
                squares.append(got.square)
                hexes.append(got.pdq)
                owners.append((n, i))
        tvec = text_job.result()
        sq = np.stack(squares) if squares else np.zeros((0, cfg.input_size, cfg.input_size, 3), np.uint8)
        glob, regs = self.models.image.embed_factored(sq, regions=True)
        ev = [Evidence() for _ in listings]
        self._search_images(glob, regs, hexes, owners, ev)
        self._search_text(tvec, ev)
        text_mentions = [self.matcher.find(lst.title, "title") +
                         self.matcher.find(lst.description, "description") for lst in listings]
        rows_of = [[k for k, (o, _) in enumerate(owners) if o == n] for n in range(len(listings))]
        read: list[tuple[list[Mention], dict[int, str]]] = [([], {}) for _ in listings]
        if ocr:
            # OCR reads on the background thread (onnxruntime releases the GIL) while this thread verifies
            # small logos, so the follow-up scan's two slow stages share the cores instead of queueing.
            reading = aside(lambda: [self._ocr_mentions(text_mentions[n], lst.image_paths,
                                                        [owners[k][1] for k in rows_of[n]])
                                     for n, lst in enumerate(listings)])
            self._find_small_logos(text_mentions, images, owners, ev)
            read = reading.result()

        out = []
        for n, lst in enumerate(listings):
            rows = rows_of[n]
            mentions = text_mentions[n]
            ocr_mentions, ocr_text = read[n]
            pending = not ocr and bool(rows) and (self._ocr_could_matter(mentions)
                                                  and ocr_available()
                                                  or self._logos_could_matter(mentions, ev[n]))
            mentions += ocr_mentions
            evasion = evasion_terms(lst.title + " . " + lst.description)
            brand = attribute_brand(mentions, ev[n], self.config.pdq_max_distance)
            f = self._features(lst, brand, mentions, evasion, ev[n], n_images=len(rows), n_errors=len(errors[n]))
            out.append(ListingSignals(
                features=f, brand_id=brand, mentions=mentions, evidence=ev[n], evasion=evasion,
                matches=self._matches(ev[n], brand),
                image_vectors=glob[rows] if rows else np.zeros((0, self.models.image.dim), np.float32),
                pdq_hashes=[hexes[k] for k in rows], image_positions=[owners[k][1] for k in rows],
                errors=errors[n], image_text=ocr_text, followup_pending=pending))
        return out

    def _ocr_mentions(self, text_mentions: list[Mention], sources: tuple,
                      positions: list[int]) -> tuple[list[Mention], dict[int, str]]:
        """Brand names read in the images — only when the text names no brand, where OCR can matter.

        ``positions`` are the listing's decodable images. Each is decoded again at OCR resolution: the
        embedder's reduced (draft) decode may be too small to read text, and OCR is rare enough to afford it.
        Returns the mentions and the text read per listing image position.
        """
        if not self._ocr_could_matter(text_mentions):
            return [], {}
        found: list[Mention] = []
        texts: dict[int, str] = {}
        for pos in positions[: self.config.ocr_max_images]:
            try:
                im = load_image(sources[pos], max_bytes=self.config.limits.max_image_bytes,
                                max_pixels=self.config.limits.max_image_pixels, draft_size=OCR_MAX_SIDE)
            except ImageError:  # decoded fine a moment ago; a file replaced meanwhile is just not read
                continue
            text = image_text(im, self.config.ocr).strip()
            if text:
                texts[pos] = text
                found += [m for m in self.matcher.find(text, "image") if m.kind in ("name", "alias")]
            if found:  # a brand is named: further photos cannot name it more
                break
        return found, texts

    @staticmethod
    def _names_a_brand(text_mentions: list[Mention]) -> bool:
        return any(m.kind in ("name", "alias") for m in text_mentions)

    def _ocr_could_matter(self, text_mentions: list[Mention]) -> bool:
        """OCR can change the result only when it runs at all and the text names no catalog brand."""
        return self.config.ocr_max_images > 0 and not self._names_a_brand(text_mentions)

    def _logos_could_matter(self, text_mentions: list[Mention], e: Evidence) -> bool:
        """The small-logo stage can matter where the text names no catalog brand and no fast image evidence is
        already strong (a near-copy, or an image/logo match at ``skip_above``) — and the bank has logos."""
        strongest = max((v[0] for d in (e.img, e.logo) for v in d.values()), default=0.0)
        return (not self._names_a_brand(text_mentions)
                and strongest < self.config.logo.skip_above
                and not any(v[0] <= self.config.pdq_max_distance for v in e.pdq.values())
                and self.logo_verifier.available)

    def _find_small_logos(self, text_mentions: list[list[Mention]], images: list,
                          owners: list[tuple[int, int]], ev: list[Evidence]) -> None:
        """Follow-up scans only: verified small logos (ml/logo_verify.py) become ``logo`` evidence of their brand.

        Runs on the first ``logo.max_images`` decoded images of each listing where ``_logos_could_matter``.
        """
        could = [self._logos_could_matter(m, e) for m, e in zip(text_mentions, ev, strict=True)]
        per_listing: dict[int, int] = defaultdict(int)
        jobs = []
        for k, (n, _li) in enumerate(owners):
            if could[n] and per_listing[n] < self.config.logo.max_images:
                per_listing[n] += 1
                jobs.append(k)
        if not jobs:
            return
        verifier = self.logo_verifier
        for k, hits in zip(jobs, verifier.verify([images[k] for k in jobs]), strict=True):
            n, li = owners[k]
            for h in hits:
                _keep_max(ev[n].logo, h.brand_id, (verifier.to_sim(h.ncc), h.ref_id, li, h.image, h.box))

    # ---- searching --------------------------------------------------------------------------
    def _search_images(self, glob, regs, hexes, owners, ev: list[Evidence]) -> None:
        if not len(glob):
            return
        idx = self.index
        arr = idx.arrays("ref_image")
        boxes = self.models.image.boxes
        own = np.asarray(owners, np.int64).reshape(-1, 2)
        # Global hits: product refs -> img, the rest -> logo (whole image as the box). Region hits: logo refs
        # -> logo, the rest -> region. Hits are reduced per (listing, kind, brand), global before region, so
        # equal scores resolve the same way every time.
        s_g, i_g = idx.ref_image.search(glob, 16)
        row_g = np.repeat(np.arange(len(s_g)), s_g.shape[1])
        i_r, s_r, row_r, box_r = self._region_hits(regs)
        ids = np.concatenate([i_g.ravel(), i_r]).astype(np.int64)
        score = np.concatenate([s_g.ravel(), s_r])
        row = np.concatenate([row_g, row_r])
        box = np.concatenate([np.full(len(row_g), -1), box_r])  # -1: the whole image
        ok = (ids >= 0) & ((box < 0) | (score >= self.config.region_min_score))
        ids, score, row, box = ids[ok], score[ok], row[ok], box[ok]
        kind = arr.kind[ids]
        target = np.where(box < 0, np.where(kind == 0, 0, 1), np.where(kind == 1, 1, 2))  # img / logo / region
        n_of = own[row, 0]
        key = (n_of * 3 + target) * max(1, len(arr.brand_ids)) + arr.brand[ids]
        order = np.lexsort((-score, key))  # stable: equal scores keep visiting order
        key_s = key[order]
        firsts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
        winners = order[firsts]
        # dict insertion order = where each (listing, kind, brand) was first seen
        _, first_seen = np.unique(key, return_index=True)  # sorted by key, like winners
        winners = winners[np.argsort(first_seen, kind="stable")]
        if idx.ref_image.window_scores_rounded:  # bf16 products (bf16 hardware): re-score the winners exactly
            region = winners[box[winners] >= 0]
            score[region] = regs.scores(row[region], box[region], idx.ref_image.vectors[ids[region]])
        # ~60 winners per listing: read them as Python values in bulk, not element by element
        j_of = ids[winners]
        box_of = [(0.0, 0.0, 1.0, 1.0), *map(tuple, boxes.tolist())]  # box -1 (the whole image) first
        for j, n, t, sc, li, ri, br, bx in zip(
                j_of.tolist(), n_of[winners].tolist(), target[winners].tolist(), score[winners].tolist(),
                own[row[winners], 1].tolist(), arr.image[j_of].tolist(), arr.brand[j_of].tolist(),
                (box[winners] + 1).tolist(), strict=True):
            head = (sc, arr.ref_ids[j], li, ri)
            b = arr.brand_ids[br]
            if t == 0:
                ev[n].img[b] = head
            else:
                (ev[n].logo if t == 1 else ev[n].region)[b] = head + (box_of[bx],)
        d, ids = idx.ref_pdq.search(hexes, 4)
        for row, (n, li) in enumerate(owners):
            for dist, j in zip(d[row], ids[row], strict=True):
                if j < 0:
                    continue
                m = idx.ref_pdq.meta[j]
                cur = ev[n].pdq.get(m["brand_id"])
                if cur is None or dist < cur[0]:
                    ev[n].pdq[m["brand_id"]] = (int(dist), m["ref_id"], li, m["image"])
        if idx.cf_image.live:  # rows may all be tombstoned
            s, ids = idx.cf_image.search(glob, 1)
            for row, (n, _li) in enumerate(owners):
                if ids[row][0] >= 0 and s[row][0] > ev[n].cf_sim[0]:
                    m = idx.cf_image.meta[ids[row][0]]
                    ev[n].cf_sim = (float(s[row][0]), m["ref_id"], m["brand_id"])
        if idx.cf_pdq.live:
            d, ids = idx.cf_pdq.search(hexes, 1)
            for row, (n, _li) in enumerate(owners):
                if ids[row][0] >= 0 and d[row][0] < ev[n].cf_pdq[0]:
                    m = idx.cf_pdq.meta[ids[row][0]]
                    ev[n].cf_pdq = (int(d[row][0]), m["ref_id"], m["brand_id"])

    def _region_hits(self, regs: RegionVectors) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(bank row, score, image row, window) of the region hits that can win a (listing, kind, brand).

        A flat bank scores every reference against every window in one bf16 matmul and keeps each reference's
        best window per image (``VectorBank.best_of_windows``; the winners are re-scored exactly); an
        approximate (large) bank is searched per window, 8 neighbours each.
        """
        bank = self.index.ref_image
        n_img, n_win = regs.shape[:2]
        if not bank.approximate:
            best, window = bank.best_of_windows(regs)
            rows = np.repeat(np.arange(n_img), best.shape[1])
            return np.tile(np.arange(best.shape[1]), n_img), best.ravel(), rows, window.ravel()
        s, i = bank.search(regs.dense().reshape(-1, regs.shape[2]), 8)
        q = np.repeat(np.arange(len(s)), s.shape[1])
        return i.ravel(), s.ravel(), q // n_win, q % n_win

    def _search_text(self, tvec: np.ndarray, ev: list[Evidence]) -> None:
        s, ids = self.index.ref_text.search(tvec, 16)
        for n in range(len(ev)):
            for sc, j in zip(s[n], ids[n], strict=True):
                if j >= 0:
                    m = self.index.ref_text.meta[j]
                    _keep_max(ev[n].text, m["brand_id"], (float(sc), m["ref_id"]))

    # ---- brand + features -------------------------------------------------------------------
    def _features(self, lst: ListingInput, brand: str | None, mentions: list[Mention], evasion: list[str],
                  e: Evidence, *, n_images: int, n_errors: int) -> dict[str, float]:
        in_image = any(m.brand_id == brand and m.field == "image" for m in mentions)
        bm = [m for m in mentions if m.brand_id == brand and m.field != "image"]
        title_m = [m for m in bm if m.field == "title"]
        names = [m for m in bm if m.kind in ("name", "alias")]
        plain_title = fold(lst.title)
        obfuscated = any(m.field == "title" and m.distance == 0 and m.kind != "protected"
                         and m.found not in lst.title.lower() for m in bm)
        if brand is not None and bm and not obfuscated:
            raw = lst.title + " " + lst.description
            obfuscated = any(m.distance == 0 and m.found.replace(" ", "") in fold(raw).replace(" ", "")
                             and raw != fold(raw) and m.found not in raw.lower() for m in bm)
        img = e.img.get(brand, (0.0, "", 0, 0))[0] if brand else 0.0
        best_ref = self._best_ref(e, brand)
        msrp = self.index.references[best_ref].msrp if best_ref in self.index.references else None
        pdq_d = e.pdq.get(brand, (PDQ_BITS,))[0] if brand else PDQ_BITS
        text_blob = lst.title + " . " + lst.description
        f = {
            "img_sim": img,
            "img_sim_any": max((v[0] for v in e.img.values()), default=0.0),
            "logo_sim": e.logo.get(brand, (0.0,))[0] if brand else 0.0,
            "region_sim": e.region.get(brand, (0.0,))[0] if brand else 0.0,
            "pdq_match": float(pdq_d <= self.config.pdq_max_distance),
            "pdq_sim": 1.0 - min(pdq_d, 128) / 128.0,
            "text_sim": e.text.get(brand, (0.0,))[0] if brand else 0.0,
            "brand_found": float(brand is not None),
            "mention_title": float(any(m.kind in ("name", "alias") for m in title_m)),
            "mention_any": float(bool(names)),
            "mention_desc_only": float(bool(bm) and not title_m),
            # as strong as the most distinctive protected term found ("Pilot" counts for less than "Ultraboost")
            "mention_protected_only": 0.0 if names else max((m.weight for m in bm), default=0.0),
            "mention_fuzzy": float(bool(bm) and min(m.distance for m in bm) > 0),
            "mention_obfuscated": float(obfuscated),
            "mention_image": float(in_image),
            "compatible_context": float(bool(bm) and all(m.compatible for m in bm) or
                                        ("compatible" in plain_title or "third-party" in fold(lst.description))),
            "evasion_terms": min(3.0, float(len(evasion))),
            "hype_terms": min(4.0, float(len(hype_terms(text_blob)))),
            "genuine_claims": min(3.0, float(len(genuine_claims(text_blob)))),
            "second_hand": min(2.0, float(len(second_hand_terms(text_blob)))),
            "price_vs_msrp": log_ratio_feature(price_ratio(lst.price, msrp)),
            "price_vs_brand": log_ratio_feature(price_ratio(lst.price, self.brand_median.get(brand))),
            "price_known": float(lst.price is not None and msrp is not None),
            "cf_sim": e.cf_sim[0],
            "cf_pdq_match": float(e.cf_pdq[0] <= self.config.pdq_max_distance),
            "n_images": float(min(n_images, 4)),
            "image_errors": float(min(n_errors, 4)),
        }
        f.update(seller_features(lst.seller, brand))
        return f

    def _best_ref(self, e: Evidence, brand: str | None) -> str | None:
        """The reference the listing most resembles within the attributed brand (for MSRP)."""
        if brand is None:
            return None
        cands = []
        if brand in e.img:
            cands.append((e.img[brand][0], e.img[brand][1]))
        if brand in e.text:
            cands.append((e.text[brand][0] + 0.15, e.text[brand][1]))
        if brand in e.pdq and e.pdq[brand][0] <= self.config.pdq_max_distance:
            cands.append((2.0, e.pdq[brand][1]))
        cands = [c for c in cands if self.index.references.get(c[1]) and self.index.references[c[1]].msrp]
        return max(cands)[1] if cands else None

    def _matches(self, e: Evidence, brand: str | None) -> list[Match]:
        out = []
        for kind, d in (("image", e.img), ("region", e.logo), ("region", e.region)):
            for b, v in d.items():
                if b == brand or v[0] >= 0.75:
                    out.append(Match(kind, v[1], b, v[0], v[2], v[3], v[4] if len(v) > 4 else None))
        for b, v in e.pdq.items():
            if v[0] <= self.config.pdq_max_distance:
                out.append(Match("pdq", v[1], b, 1.0 - v[0] / PDQ_BITS, v[2], v[3]))
        for b, v in e.text.items():
            if b == brand:
                out.append(Match("text", v[1], b, v[0]))
        if e.cf_sim[0] >= 0.85 or e.cf_pdq[0] <= self.config.pdq_max_distance:
            lid, b = (e.cf_sim[1], e.cf_sim[2]) if e.cf_sim[0] >= 0.85 else (e.cf_pdq[1], e.cf_pdq[2])
            out.append(Match("counterfeit", lid, b or "", max(e.cf_sim[0], 1.0 - e.cf_pdq[0] / PDQ_BITS)))
        return sorted(out, key=lambda m: -m.score)[: self.config.top_k * 3]

    def _explain(self, lst: ListingInput, f: dict[str, float], brand: str | None, mentions: list[Mention],
                 e: Evidence, evasion: list[str]) -> list[str]:
        lines: list[str] = []
        name = self.brand_names.get(brand, brand) if brand else None
        if brand:
            if f["pdq_match"]:
                d, ref, li, _ = e.pdq[brand]
                lines.append(f"image {li + 1} is a near-copy of {name} catalog photo {ref} (PDQ distance {d})")
            if f["img_sim"] >= 0.6:
                lines.append(f"image matched {name} reference {e.img[brand][1]} ({f['img_sim']:.2f})")
            if f["logo_sim"] >= 0.55:
                lines.append(f"logo region matched {name} reference {e.logo[brand][1]} ({f['logo_sim']:.2f})")
            for m in mentions:
                if m.brand_id != brand:
                    continue
                if m.field == "image":
                    lines.append(f"text in an image reads '{m.found}' (brand mention of {m.term}, OCR)")
                    continue
                how = "brand mention" if m.kind != "protected" else "protected term"
                extra = f", edit distance {m.distance}" if m.distance else (
                    ", obfuscated" if f["mention_obfuscated"] and m.field == "title" else "")
                ctx = ", in a 'compatible with' context" if m.compatible else ""
                lines.append(f"{m.field} says '{m.found}' ({how} of {m.term}{extra}{ctx})")
                if len(lines) > 6:
                    break
            if f["text_sim"] >= 0.5:
                lines.append(f"text resembles {name} reference {e.text[brand][1]} ({f['text_sim']:.2f})")
        if evasion:
            lines.append("evasion wording: " + ", ".join(f"'{t}'" for t in dict.fromkeys(evasion)))
        if brand and f["price_known"]:
            lines.append(f"price {100 * 2 ** f['price_vs_msrp']:.0f}% of MSRP")
        elif brand and lst.price is not None and brand in self.brand_median:
            lines.append(f"price {100 * 2 ** f['price_vs_brand']:.0f}% of the {name} catalog median")
        if brand:
            lines.append(f"seller {'is' if f['seller_authorized'] else 'not'} authorized for {name}")
        if lst.seller.prior_takedowns:
            lines.append(f"seller has {lst.seller.prior_takedowns} prior takedown(s)")
        if f["compatible_context"]:
            lines.append("reads as a third-party 'compatible with' product (lowers risk)")
        if f["cf_sim"] >= 0.85 or f["cf_pdq_match"]:
            lines.append(f"matches confirmed counterfeit {e.cf_sim[1] or e.cf_pdq[1]}")
        if not brand:
            lines.append("no catalog brand recognised in images or text")
        return lines
