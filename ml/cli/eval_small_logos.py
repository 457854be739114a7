"""How often the follow-up scan's small-logo stage finds a catalog logo pasted small into a photo.

    python -m ml.cli.eval_small_logos --data DIR [--per-logo 2] [--seed 7]

Each logo reference's first image is pasted at 5-8% of the area of an unbranded genuine photo of the bundle
(random photo, place and size), JPEG-encoded and decoded as a scan decodes it. Printed: how often the right
reference is among the stage's candidates (``LogoVerifier.candidates``), how often the template match then
names the right brand and any wrong one, and how many unpasted photos (unbranded and other-brand genuine
listings) get a hit at all. Needs labels (``labels.jsonl``) for the photo categories.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ml.bundle import read_bundle
from ml.cli.options import add_model_options, models_config
from ml.detector import Detector
from ml.images import load_image
from ml.index import ReferenceIndex
from ml.models import load_models

BACKGROUNDS = "g_unbranded"
NEGATIVES = ("g_unbranded", "g_other_brand")


@dataclass(frozen=True)
class SmallLogoFigures:
    cases: int
    negatives: int
    candidate_recall: float  # the pasted logo's reference among the candidates
    found: float  # a verified hit of the right brand
    wrong_brand: float  # a verified hit of another brand on a pasted photo
    negatives_hit: float  # unpasted photos with any verified hit
    candidates_s: float  # time in the candidate stage, all photos


def _decoded_jpeg(im: Image.Image, draft_size: int) -> Image.Image:

    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return load_image(buf.getvalue(), draft_size=draft_size)


def evaluate_small_logos(data: str, *, per_logo: int = 2, seed: int = 7, cache_dir: str | None = None,
                         batch: int = 8, models=None) -> SmallLogoFigures:

    bundle = read_bundle(data)
    models = models or load_models()
    index = ReferenceIndex.build(bundle.brands, bundle.references, models, cache_dir=cache_dir)
    verifier = Detector(models, index).logo_verifier
    draft = models.image.config.draft_size
    photos = {c: [lst.image_paths[0] for lst in bundle.listings
                  if lst.image_paths and bundle.labels.get(lst.listing_id, {}).get("category") == c]
              for c in NEGATIVES}
    if not photos[BACKGROUNDS]:
        raise ValueError(f"{data}: no labelled {BACKGROUNDS} listings with a photo to paste logos into")
    rng = np.random.default_rng(seed)
    cases: list[tuple[str, str, Image.Image]] = []
    for ref_id in verifier.logo_references():
        ref = index.references[ref_id]
        logo = load_image(ref.image_paths[0])
        for _ in range(per_logo):
            bg = load_image(photos[BACKGROUNDS][int(rng.integers(len(photos[BACKGROUNDS])))])
            w, h = bg.size
            side = int(np.sqrt(rng.uniform(0.05, 0.08) * w * h))
            lw, lh = side, max(8, round(side * logo.size[1] / logo.size[0]))
            bg.paste(logo.resize((lw, lh), Image.BICUBIC), (int(rng.integers(0, w - lw)), int(rng.integers(0, h - lh))))
            cases.append((ref_id, ref.brand_id, _decoded_jpeg(bg, draft)))
    negatives = [load_image(p, draft_size=draft) for c in NEGATIVES for p in photos[c]]

    def chunks(items: list) -> list[list]:
        return [items[i:i + batch] for i in range(0, len(items), batch)]

    images = [im for _, _, im in cases]
    t0 = time.perf_counter()
    candidates = [c for part in chunks(images) for c in verifier.candidates(part)]
    candidates_s = time.perf_counter() - t0
    hits = [h for part in chunks(images) for h in verifier.verify(part)]
    negative_hits = [h for part in chunks(negatives) for h in verifier.verify(part)]
    return SmallLogoFigures(
        cases=len(cases), negatives=len(negatives),
        candidate_recall=float(np.mean([r in c for (r, _, _), c in zip(cases, candidates, strict=True)])),
        found=float(np.mean([any(x.brand_id == b for x in hs) for (_, b, _), hs in zip(cases, hits, strict=True)])),
        wrong_brand=float(np.mean([any(x.brand_id != b for x in hs)
                                   for (_, b, _), hs in zip(cases, hits, strict=True)])),
        negatives_hit=float(np.mean([bool(hs) for hs in negative_hits])) if negatives else 0.0,
        candidates_s=candidates_s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.cli.eval_small_logos", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--per-logo", type=int, default=2, help="photos per logo reference")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cache-dir", default=None, help="reference embedding cache (as for ml.cli.evaluate)")
    p.add_argument("--tile-pass-size", type=int, default=None, help="ModelsConfig.tile_pass_size to try")
    add_model_options(p)
    a = p.parse_args(argv)

    config = models_config(a)
    if a.tile_pass_size:
        config = dataclasses.replace(config, tile_pass_size=a.tile_pass_size)
    models = load_models(config)
    f = evaluate_small_logos(a.data, per_logo=a.per_logo, seed=a.seed, cache_dir=a.cache_dir, models=models)
    print(f"engine={models.engine} tile pass {models.config.tile_pass_size} px: {f.cases} photos with a logo pasted "
          f"at 5-8%, {f.negatives} without")
    print(f"right reference among the candidates {f.candidate_recall:.3f}; verified right brand {f.found:.3f}, "
          f"wrong brand {f.wrong_brand:.3f}; photos without a logo with a hit {f.negatives_hit:.3f}; "
          f"candidate stage {1000 * f.candidates_s / max(f.cases, 1):.1f} ms per photo")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
