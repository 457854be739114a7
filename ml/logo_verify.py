"""Small logos (issue #3) on the follow-up scan: tile-embedding candidates, then a colour-shape template match

A 5-8% logo is too small for the pooled region vectors of the 256 px pass to beat a busy background at one
threshold, but in the vectors of overlapping half-size tiles (one 640 px pass over the photo,
``ImageEmbedder.embed_tiles``) the right logo reference ranks near the top.
Those few candidates are then verified by template matching: the reference is reduced to its logo shape
(pixels that differ from the reference's own border colour) and its palette, the listing image to a map of
"how logo-coloured is each pixel", and the two are compared by normalised cross-correlation over the shape
plus a thin surround, on the map and on its edges. The score does not depend on the background (a logo
printed without its white box still matches) and stays low for a same-coloured blob of another shape; it
does depend on the logo keeping its colours (a recoloured logo is left to the embedding evidence). A match
becomes the listing's ``logo`` evidence (``LogoVerifier.to_sim``), so explanations, the ``logo_sim``
feature and Match rows (with the box) work unchanged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from PIL import Image

from ml.config import LogoVerifyConfig
from ml.images import ImageError, image_map, load_image
from ml.index import ReferenceIndex
from ml.models import LoadedModels

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class LogoTemplate:
    """One reference logo image, reduced to what the matcher compares."""

    ref_id: str
    brand_id: str
    image: int  # reference image number
    shape: np.ndarray  # float32 (h, w) in [0, 1]: where the reference is logo-coloured
    mask: np.ndarray  # float32 (h, w) in [0, 1]: the shape plus its surround, where the match is scored
    palette: np.ndarray  # float32 (k, 3) CIELAB logo colours


@dataclass(frozen=True)
class LogoHit:
    ncc: float  # template match score in [-1, 1]
    ref_id: str
    brand_id: str
    image: int  # reference image number
    box: Box  # normalised (x0, y0, x1, y1) in the listing image


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)


def _rgb_within(im: Image.Image, side: int) -> np.ndarray:
    """The image as an RGB array, area-downscaled so that its long side is at most ``side``."""
    rgb = np.asarray(im.convert("RGB"))
    s = side / max(rgb.shape[:2])
    if s < 1:
        rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * s)), max(1, round(rgb.shape[0] * s))),
                         interpolation=cv2.INTER_AREA)
    return rgb


def make_template(im: Image.Image, config: LogoVerifyConfig, ref_id: str = "", brand_id: str = "",
                  image: int = 0) -> LogoTemplate | None:
    """Logo shape, surround mask and palette of a reference image; None when it shows no distinct shape."""
    rgb = _rgb_within(im, config.template_side * 2)  # work at 2x the stored size: cheap, keeps thin strokes
    a = rgb.astype(np.float32)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    fg = np.abs(a - np.median(border, axis=0)).max(axis=2) > config.fg_threshold
    ys, xs = np.nonzero(fg)
    if len(ys) < 16 or fg.mean() > 0.9:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = max(1, round(config.margin * max(y1 - y0, x1 - x0)))
    y0, x0 = max(0, y0 - pad), max(0, x0 - pad)
    y1, x1 = min(fg.shape[0], y1 + pad), min(fg.shape[1], x1 + pad)
    px = _lab(rgb)[fg].reshape(-1, 3)
    px = px[np.random.default_rng(0).permutation(len(px))[:4000]]
    k = min(config.palette_size, len(px))
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(px, k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    share = np.bincount(labels.ravel(), minlength=k) / len(labels)
    shape = fg[y0:y1, x0:x1].astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pad + 1, 2 * pad + 1))
    mask = cv2.dilate(shape, disc)
    t = config.template_side / max(shape.shape)
    size = (max(4, round(shape.shape[1] * t)), max(4, round(shape.shape[0] * t)))
    return LogoTemplate(ref_id, brand_id, image,
                        cv2.resize(shape.astype(np.float32), size, interpolation=cv2.INTER_AREA),
                        cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA),
                        centres[share >= 0.1].astype(np.float32))


def work_image(im: Image.Image, config: LogoVerifyConfig) -> np.ndarray:
    """The listing image in CIELAB at the matching resolution (long side ``work_side``)."""
    return _lab(_rgb_within(im, config.work_side))


def colour_map(lab: np.ndarray, palette: np.ndarray, sigma: float) -> np.ndarray:
    """Per pixel, how close it is to the nearest logo colour: exp(-d^2 / sigma^2) in [0, 1].

    On one plane per channel, in place: the float32 ops of ``((lab - c) ** 2).sum(axis=2)`` in the same order
    (bit-identical), without the (H, W, 3) temporaries that dominated its cost.
    """
    planes = [np.ascontiguousarray(lab[..., i], np.float32) for i in range(3)]
    d2 = np.full(lab.shape[:2], np.inf, np.float32)
    acc, tmp = np.empty_like(d2), np.empty_like(d2)
    for c in np.asarray(palette, np.float32):
        np.square(np.subtract(planes[0], c[0], out=acc), out=acc)
        for i in (1, 2):
            acc += np.square(np.subtract(planes[i], c[i], out=tmp), out=tmp)
        np.minimum(d2, acc, out=d2)
    np.divide(np.negative(d2, out=d2), sigma * sigma, out=d2)
    return np.exp(d2, out=d2)


def masked_ncc(img: np.ndarray, img_sq: np.ndarray, shape: np.ndarray, mask: np.ndarray,
               min_std: float) -> np.ndarray | None:
    """Normalised cross-correlation of ``shape`` with every window of ``img``, counted inside ``mask`` only.

    Three plain correlations (the masked mode of ``cv2.matchTemplate`` costs several times more): with the template
    made zero-mean inside the mask, the numerator needs no window mean. Windows flatter than ``min_std``
    score 0. None when the template itself is flat.
    """
    m = (mask > 0.5).astype(np.float32)
    n = float(m.sum())
    if n < 16:
        return None
    tp = (shape - float((shape * m).sum()) / n) * m
    tn = float(np.sqrt((tp * tp).sum()))
    if tn < 1e-3 * np.sqrt(n):
        return None
    num = cv2.matchTemplate(img, tp, cv2.TM_CCORR)
    s1 = cv2.matchTemplate(img, m, cv2.TM_CCORR)
    var = np.maximum(cv2.matchTemplate(img_sq, m, cv2.TM_CCORR) - s1 * s1 / n, 0.0)
    ok = var > n * min_std * min_std
    return np.where(ok, num / (tn * np.sqrt(np.maximum(var, 1e-12))), 0.0)


def _rotated(t: np.ndarray, angle: float) -> np.ndarray:
    h, w = t.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(rot[0, 0]), abs(rot[0, 1])
    nw, nh = int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s))
    rot[0, 2] += (nw - w) / 2
    rot[1, 2] += (nh - h) / 2
    return cv2.warpAffine(t, rot, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0.0)


def _resized(t: np.ndarray, scale: float) -> np.ndarray:
    return cv2.resize(t, (max(1, round(t.shape[1] * scale)), max(1, round(t.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)


def edge_map(a: np.ndarray, blur: float) -> np.ndarray:
    """Gradient magnitude, blurred so that a pixel or two of misalignment still correlates."""
    gx = cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), blur)


def _best_window(layers: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]], mask: np.ndarray,
                 near: tuple[int, int, int] | None = None) -> tuple[float, int, int] | None:
    """(score, x, y) of the best window for a template given as ``layers`` of (image, image squared,
    template, min_std): a window scores the mean of its layers' masked NCCs (None if a layer's template is
    flat). ``near=(x, y, pad)`` limits the search to windows whose top-left corner lies within ``pad``
    pixels of (x, y)."""
    h, w = mask.shape
    H, W = layers[0][0].shape
    if min(h, w) < 6 or w >= W or h >= H:
        return None
    x0, y0, x1, y1 = 0, 0, W, H
    if near is not None:
        x, y, pad = near
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(W, x + pad + w), min(H, y + pad + h)
        if x1 - x0 < w or y1 - y0 < h:
            return None
    r = None
    for img, img_sq, t, min_std in layers:
        one = masked_ncc(img[y0:y1, x0:x1], img_sq[y0:y1, x0:x1], t, mask, min_std)
        if one is None:
            return None
        r = one if r is None else r + one
    r /= len(layers)
    k = int(r.argmax())
    y, x = divmod(k, r.shape[1])
    return float(r.flat[k]), x0 + x, y0 + y


def match_template(lab: np.ndarray, t: LogoTemplate, config: LogoVerifyConfig) -> tuple[float, Box]:
    """Best score of ``t`` anywhere in ``lab``.

    The colour map is swept over the scales at half resolution to find places; the best ``refine`` places
    are matched again at full resolution at in-between scales (and rotated, unless upright is clearly
    enough), scoring the mean of the map's NCC and the NCC of its edges: the map alone lets any big blob of a
    logo colour with a straight side pass for a blocky logo (fakebench negatives reached 0.82 brute force over
    every logo; with edges 0.71).
    """
    img = colour_map(lab, t.palette, config.colour_sigma)
    H, W = img.shape
    small = cv2.resize(img, (max(1, W // 2), max(1, H // 2)), interpolation=cv2.INTER_AREA)
    small_sq, img_sq = small * small, img * img
    edges = edge_map(img, config.edge_blur)
    edges_sq = edges * edges
    th, tw = t.shape.shape
    coarse = []
    # From min_area up, but never so small that the logo's short side drops below min_side pixels: a wordmark
    # squeezed to a few pixels is just a dark bar, and matches every shadow.
    scale = max(np.sqrt(config.min_area * H * W / (th * tw)), config.min_side / min(th, tw))
    top = np.sqrt(config.max_area * H * W / (th * tw))
    while scale <= top:
        m = _resized(t.mask, scale / 2)
        hit = _best_window([(small, small_sq, _resized(t.shape, scale / 2), config.min_std)], m)
        if hit is not None:
            coarse.append((hit[0], scale, 2 * hit[1], 2 * hit[2]))
        scale *= config.scale_step
    best = (-1.0, 0, 0, 1.0, t.shape.shape)  # score, x, y, scale, template shape

    def fine(scale: float, shape: np.ndarray, mask: np.ndarray, x: int, y: int) -> None:
        nonlocal best
        s, m = _resized(shape, scale), _resized(mask, scale)
        layers = [(img, img_sq, s, config.min_std),
                  (edges, edges_sq, edge_map(s, config.edge_blur), config.min_std / 2)]
        hit = _best_window(layers, m, (x, y, 3 + max(s.shape) // 8))
        if hit is not None and hit[0] > best[0]:
            best = (hit[0], hit[1], hit[2], scale, s.shape)

    for _, scale, x, y in sorted(coarse, reverse=True)[: config.refine]:
        for f in (config.scale_step ** -0.5, 1.0, config.scale_step ** 0.5):
            fine(scale * f, t.shape, t.mask, x, y)
    if coarse and max(coarse)[0] >= config.near_miss and best[0] < config.upright_enough:
        _, x, y, scale, (h, w) = best
        for angle in config.angles:
            shape, mask = _rotated(t.shape, angle), _rotated(t.mask, angle)
            grow = _resized(shape, scale).shape
            fine(scale, shape, mask, x - (grow[1] - w) // 2, y - (grow[0] - h) // 2)
    v, x, y, _, (h, w) = best
    return v, (x / W, y / H, min(1.0, (x + w) / W), min(1.0, (y + h) / H))


class LogoVerifier:
    """Both stages over one reference index; logo vectors and templates are prepared once per index."""

    def __init__(self, models: LoadedModels, index: ReferenceIndex, config: LogoVerifyConfig | None = None):
        self.models = models
        self.index = index
        self.config = config or LogoVerifyConfig()
        self._bank: tuple[object, np.ndarray, list[str]] | None = None  # (bank arrays, logo vectors, ref ids)
        self._templates: dict[tuple[str, int], LogoTemplate | None] = {}

    def _logo_rows(self) -> tuple[np.ndarray, list[str]]:
        """Vectors and ref ids of the bank's logo rows (rebuilt only after the bank changed)."""
        arr = self.index.arrays("ref_image")
        if self._bank is None or self._bank[0] is not arr:
            rows = np.flatnonzero(arr.kind == arr.KINDS["logo"])
            vecs = np.ascontiguousarray(self.index.ref_image.vectors[rows], np.float32)
            self._bank = (arr, vecs, [arr.ref_ids[j] for j in rows])
        return self._bank[1], self._bank[2]

    def logo_references(self) -> list[str]:
        """Ids of the references with a logo image in the bank, sorted."""
        return sorted(set(self._logo_rows()[1]))

    @property
    def available(self) -> bool:
        """The stage is on and the bank has logo references to look for."""
        return self.config.enabled and len(self._logo_rows()[1]) > 0

    def to_sim(self, ncc: float) -> float:
        """Map a template score onto the ``logo_sim`` scale the scorer and the explanation use."""
        c = self.config
        slope = (c.sim_at_one - c.sim_at_min) / (1.0 - c.min_ncc)
        return float(c.sim_at_min + (min(ncc, 1.0) - c.min_ncc) * slope)

    def template(self, ref_id: str, image: int) -> LogoTemplate | None:
        """The template of a reference image, made on first use and kept (None: unreadable or no shape)."""
        key = (ref_id, image)
        if key not in self._templates:
            ref = self.index.references.get(ref_id)
            t = None
            if ref is not None and image < len(ref.image_paths):
                try:
                    im = load_image(ref.image_paths[image], draft_size=self.config.template_side * 2)
                    t = make_template(im, self.config, ref_id, ref.brand_id, image)
                except (ImageError, OSError) as exc:
                    log.warning("logo template %s image %d unavailable: %s", ref_id, image, exc)
            self._templates[key] = t
        return self._templates[key]

    def candidates(self, images: list[Image.Image]) -> list[list[str]]:
        """Stage 1: per image, the ``candidates`` logo references its tiles (and their regions) resemble most."""
        vecs, ref_ids = self._logo_rows()
        if not images or not ref_ids:
            return [[] for _ in images]
        tiles = self.config.tile_grid ** 2
        glob, regs = self.models.image.embed_tiles(images, self.config.tile_grid, self.models.config.tile_pass_size)
        # per tile and logo row: the best of the whole tile and all its windows
        scores = np.maximum(glob @ vecs.T, regs.best_scores(torch.from_numpy(np.ascontiguousarray(vecs.T)))[0])
        out = []
        for k in range(len(images)):
            tile_best = scores[k * tiles:(k + 1) * tiles].max(axis=0)
            best: dict[str, float] = {}
            for ref, s in zip(ref_ids, tile_best, strict=True):
                best[ref] = max(best.get(ref, -1.0), float(s))
            out.append(sorted(best, key=lambda r: -best[r])[: self.config.candidates])
        return out

    def verify(self, images: list[Image.Image]) -> list[list[LogoHit]]:
        """Both stages: per image, the candidate references whose template matched (best first).

        Every (image, candidate template) pair is matched on the image thread pool (``ml.images.image_map``):
        OpenCV releases the GIL, and one ``matchTemplate`` on a small template barely uses a second core, so
        the pairs side by side take less time than one after another, with the same results (scores to
        float rounding: OpenCV sums a correlation in another order on a pool thread).
        """
        labs = [work_image(im, self.config) for im in images]
        cands = self.candidates(images)
        pairs = []  # (image, reference, reference image, its template); templates are made here, once each
        for k, refs in enumerate(cands):
            for ref_id in refs:
                ref = self.index.references.get(ref_id)
                for i in range(min(len(ref.image_paths) if ref else 0, self.config.max_ref_images)):
                    t = self.template(ref_id, i)
                    if t is not None:
                        pairs.append((k, ref_id, i, t))
        matched = image_map(lambda pair: match_template(labs[pair[0]], pair[3], self.config), pairs)
        best: dict[tuple[int, str], LogoHit] = {}  # per image and reference: its best-matching reference image
        for (k, ref_id, i, t), (ncc, box) in zip(pairs, matched, strict=True):
            if (k, ref_id) not in best or ncc > best[k, ref_id].ncc:
                best[k, ref_id] = LogoHit(ncc, ref_id, t.brand_id, i, box)
        hits = [[best[k, r] for r in refs if (k, r) in best and best[k, r].ncc >= self.config.min_ncc]
                for k, refs in enumerate(cands)]
        return [sorted(h, key=lambda hit: -hit.ncc) for h in hits]

