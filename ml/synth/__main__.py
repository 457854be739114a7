"""CLI: python -m ml.synth OUT_DIR [--seed N] [--brands N] [--listings N] [--size PX] [--everyday]."""

from __future__ import annotations

import argparse
import json
import time

from . import generate_bundle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ml.synth", description="Write a synthetic catalog/listing bundle.")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--brands", type=int, default=6)
    ap.add_argument("--listings", type=int, default=120)
    ap.add_argument("--size", type=int, default=384, help="long side of images in px")
    ap.add_argument("--everyday", action="store_true",
                    help="the second development bundle: ordinary-word brand/line names, brands printed on products")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    s = generate_bundle(a.out_dir, seed=a.seed, n_brands=a.brands, n_listings=a.listings, image_size=a.size, everyday=a.everyday)
    print(json.dumps({"out_dir": s.out_dir, "files": s.files, "images": s.n_images, "categories": s.categories,
                      "counterfeit_share": round(s.counterfeit_share, 3), "seconds": round(time.perf_counter() - t0, 2)},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
