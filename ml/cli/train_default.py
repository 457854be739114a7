"""Train the shipped default scorer: grouped CV figures first, then fit on everything.

    python -m ml.cli.train_default [--data DIR ...] [--synth N] [--everyday N] [--synth-dirs DIR ...]
                                   [--synth-weight W] [--work-dir DIR] [--rows-cache FILE]
                                   [--out ml/weights/scorer_default.json]

The shipped default learns mainly from generated bundles (``ml.synth``: N standard ones, seeds 1000+, and
N "everyday" ones, seeds 2000+, with ordinary-word names and printed brands); --data (the fakebench dev split)
joins them and is what the figures are read on. Folds are grouped by brand so a brand never sits in both train
and test (the held-out split has other brands). The CV figures are the honest dev numbers; the final fit uses
all rows.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from ml.bundle import read_bundle
from ml.cli.options import add_model_options, models_config
from ml.config import ModelsConfig
from ml.crossval import brand_groups, grouped_cv
from ml.dataset import extract_all
from ml.detector import Detector
from ml.index import ReferenceIndex
from ml.metrics import format_report, report
from ml.models import load_models
from ml.scorer import DEFAULT_PATH, Scorer

SYNTH_SEED, EVERYDAY_SEED = 1000, 2000  # the first seed of each kind of generated training bundle
DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fakebench")


def bundle_rows(path: str, cache_dir: str | None,
                config: ModelsConfig | None = None) -> tuple[list[dict], list[int], list[str], list[dict], list]:

    b = read_bundle(path)
    models = load_models(config)
    index = ReferenceIndex.build(b.brands, b.references, models, cache_dir=cache_dir)
    res, sec = extract_all(Detector(models, index, Scorer.untrained()), b)
    print(f"{path}: {len(b.listings)} listings, {len(b.listings) / sec:.1f} listings/s", file=sys.stderr)
    keep = labelled_indices(b)
    labels = [b.labels[b.listings[i].listing_id] for i in keep]
    brands = [res[i].brand_id for i in keep]
    groups = brand_groups(path, labels, brands)
    return [res[i].features for i in keep], [int(lab["counterfeit"]) for lab in labels], groups, labels, brands


def labelled_indices(bundle) -> list[int]:
    """The listings a bundle labels, in bundle order: the rows of ``bundle_rows``."""
    return [i for i, lst in enumerate(bundle.listings) if lst.listing_id in bundle.labels]


def bundle_categories(path: str) -> list[str]:
    """The category of each row of ``bundle_rows(path)``, read from the labels alone (no models needed)."""
    b = read_bundle(path)
    return [b.labels[b.listings[i].listing_id].get("category", "") for i in labelled_indices(b)]


def main(argv: list[str] | None = None) -> int:

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="*", default=[os.path.abspath(DEFAULT_DATA)])
    ap.add_argument("--synth", type=int, default=1, help="also train on N synthetic bundles from ml.synth")
    ap.add_argument("--everyday", type=int, default=1, help="also train on N 'everyday' synthetic bundles")
    ap.add_argument("--work-dir", default=None,
                    help="where generated bundles go (kept, so --rows-cache hits on a re-run; default: a temp folder)")
    ap.add_argument("--synth-listings", type=int, default=1000)
    ap.add_argument("--synth-brands", type=int, default=30)
    ap.add_argument("--synth-dirs", nargs="*", default=[], help="already generated synthetic bundles to reuse")
    ap.add_argument("--synth-weight", type=float, default=0.5,
                    help="sample weight of synthetic rows (< 1: the real-material --data rows count more)")
    ap.add_argument("--rows-cache", default=None, help="JSON file of extracted rows per bundle (re-runs skip the models)")
    ap.add_argument("--C", type=float, default=0.3)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default=DEFAULT_PATH)
    add_model_options(ap)
    args = ap.parse_args(argv)

    paths = list(args.data) + list(args.synth_dirs)
    if args.synth or args.everyday:
        from ml.synth import generate_bundle

        work = args.work_dir or tempfile.mkdtemp(prefix="synth-")
        # Seeds of their own: the same generator with other seeds makes the tests' bundles.
        plan = ([(SYNTH_SEED + i, False) for i in range(args.synth)]
                + [(EVERYDAY_SEED + i, True) for i in range(args.everyday)])
        for seed, everyday in plan:
            out = os.path.join(work, f"{'everyday' if everyday else 'synth'}-{seed}")
            if not os.path.exists(os.path.join(out, "labels.jsonl")):
                generate_bundle(out, seed=seed, n_brands=args.synth_brands, n_listings=args.synth_listings,
                                everyday=everyday)
            paths.append(out)
    cached = {}
    if args.rows_cache and os.path.exists(args.rows_cache):
        with open(args.rows_cache, encoding="utf-8") as fh:
            cached = json.load(fh)
    F, y, G, L, B, src = [], [], [], [], [], []
    for p in paths:
        if p not in cached:
            cached[p] = bundle_rows(p, args.cache_dir, models_config(args))
        f, yy, g, lab, br = cached[p]
        F += f
        y += yy
        G += g
        L += lab
        B += br
        src += [p in args.data] * len(yy)
    if args.rows_cache:
        with open(args.rows_cache, "w", encoding="utf-8") as fh:
            json.dump(cached, fh)
    W = [1.0 if s else args.synth_weight for s in src]
    p = grouped_cv(F, y, G, args.C, weights=W)
    ids = [lab["listing_id"] + f"#{n}" for n, lab in enumerate(L)]
    labs = [{**lab, "listing_id": i} for lab, i in zip(L, ids, strict=True)]
    scores, brands = dict(zip(ids, p.tolist(), strict=True)), dict(zip(ids, B, strict=True))
    r = report(labs, scores, brands)
    print(format_report(f"grouped-by-brand 5-fold CV, all rows (C={args.C}, n={len(y)})", r))
    cv = {"all": {k: v for k, v in r.items() if k != "per_category"}}
    if any(src) and not all(src):
        # The honest dev figure: rows of --data only, each scored by a model that never saw its brand.
        rd = report([lab for lab, s in zip(labs, src, strict=True) if s], scores, brands)
        print(format_report(f"grouped-by-brand 5-fold CV, --data rows only (n={sum(src)})", rd))
        cv["data"] = {k: v for k, v in rd.items() if k != "per_category"}
    scorer = Scorer.train(F, y, C=args.C, sample_weight=W)
    scorer.meta["synth_weight"] = args.synth_weight
    scorer.meta["cv"] = cv
    scorer.meta["data"] = [os.path.basename(os.path.normpath(x)) for x in paths]
    scorer.save(args.out)
    print(json.dumps({"saved": args.out, "version": scorer.version}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
