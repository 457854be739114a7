"""How well OCR reads brand names printed on products, and what it costs per image.

    python -m ml.cli.eval_ocr [--n 60] [--seed 5] [--size 480]

Generated photos (``ml.synth.printed``): an invented brand word printed in several fonts, colours and sizes,
straight, tilted, curved or small, on textured scenes. A word counts as read when the detector's own brand
matcher finds it in the OCR text, as a scan would.
"""
from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

from ml.brands import BrandMatcher
from ml.ocr import OcrConfig, image_text
from ml.synth.names import invent_names
from ml.synth.printed import printed_word
from ml.types import BrandInfo


@dataclass(frozen=True)
class OcrRecall:
    n: int
    recall: float
    ms_per_image: float
    per_layout: dict[str, float] = field(default_factory=dict)


def printed_word_recall(n: int = 60, seed: int = 5, size: int = 480, config=None) -> OcrRecall:

    rng = random.Random(seed)
    samples = [printed_word(rng, w, size) for w in invent_names(random.Random(seed + 1), n)]
    image_text(samples[0].image, config)  # load the engine outside the timing
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    t0 = time.perf_counter()
    for s in samples:
        text = image_text(s.image, config)
        read = any(m.kind == "name" for m in BrandMatcher([BrandInfo("b", s.word)]).find(text, "image"))
        per[s.layout][0] += int(read)
        per[s.layout][1] += 1
    seconds = time.perf_counter() - t0
    hits = sum(v[0] for v in per.values())
    return OcrRecall(n, hits / max(n, 1), 1000 * seconds / max(n, 1),
                     {k: v[0] / v[1] for k, v in sorted(per.items())})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--size", type=int, default=640, help="photo side in px")
    ap.add_argument("--detect-side", type=int, default=None, help="text detector input side (default: OcrConfig's)")
    a = ap.parse_args(argv)

    config = OcrConfig(max_side=a.detect_side) if a.detect_side else OcrConfig()
    r = printed_word_recall(a.n, a.seed, a.size, config)
    print(f"OCR read {r.recall:.3f} of {r.n} printed brand words, {r.ms_per_image:.0f} ms per image")
    for k, v in r.per_layout.items():
        print(f"    {k:10s} {v:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
