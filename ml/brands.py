"""Brand-mention detection that survives misspellings, leetspeak, homoglyphs and spaced letters."""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA

from ml.textnorm import squash, tokens
from ml.types import BrandInfo

COMPATIBLE_CUES = ("compatible", "for", "fits", "fit", "replacement", "suitable", "works", "designed", "adapter")
# Short common words that sit within one edit of a brand term and must never count as a mention.
COMMON_WORDS = frozenset(
    "nice mike like bike nine name same some more make made take sale safe case base bose rose nose hose "
    "lose pose dose those these puma pump plus gift mini mind mine nest best test rest west zero zone "
    "legion region pixel yoga galaxy nook book look cook".split()
)


@dataclass(frozen=True)
class BrandTerm:
    brand_id: str
    text: str  # as the brand wrote it
    norm: str  # squashed folded form
    kind: str  # "name" | "alias" | "protected"
    n_words: int


@dataclass(frozen=True)
class Mention:
    brand_id: str
    term: str
    found: str
    distance: int
    kind: str
    field: str  # "title" | "description"
    compatible: bool  # preceded by "compatible with" / "for" / "fits" ...


def _max_distance(norm: str) -> int:
    if any(ch.isdigit() for ch in norm) or len(norm) <= 3:
        return 0
    return 1 if len(norm) <= 6 else 2


class BrandMatcher:
    """Finds brand names, aliases and protected terms in free text."""

    def __init__(self, brands: list[BrandInfo]):
        terms: list[BrandTerm] = []
        for b in brands:
            for kind, texts in (("name", (b.name,)), ("alias", b.aliases), ("protected", b.protected_terms)):
                for t in texts:
                    norm = squash(" ".join(x[1] for x in tokens(t)))
                    if len(norm) >= 3 or (len(norm) == 2 and kind == "name"):
                        terms.append(BrandTerm(b.brand_id, t, norm, kind, max(1, len(t.split()))))
        self.terms = terms
        self.brand_names = {b.brand_id: b.name for b in brands}

    def find(self, text: str, field: str = "title") -> list[Mention]:
        """All mentions, best (smallest distance) per (brand, term)."""
        toks = tokens(text)
        windows: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        for n in {t.n_words + d for t in self.terms for d in (-1, 0, 1)}:
            if n >= 1:
                windows[n] = [(i, tuple({"".join(t[1] for t in toks[i:i + n]), "".join(t[2] for t in toks[i:i + n])}))
                              for i in range(0, len(toks) - n + 1)]
        best: dict[tuple[str, str], Mention] = {}
        for term in self.terms:
            maxd = _max_distance(term.norm)
            lo, hi = len(term.norm) - maxd, len(term.norm) + maxd
            for n in {term.n_words, term.n_words + 1, max(1, term.n_words - 1)}:
                for i, cands in windows.get(n, ()):
                    ok = [c for c in cands if lo <= len(c) <= hi]
                    if not ok:
                        continue
                    d = min(OSA.distance(c, term.norm, score_cutoff=maxd + 1) for c in ok)
                    if d > maxd:
                        continue
                    window = toks[i:i + n]
                    found = " ".join(t[0] for t in window)
                    if d > 0 and (found in COMMON_WORDS or len(found) < 4 or found[0] != term.norm[0]):
                        continue
                    if d == 0 and n != term.n_words and len(term.norm) <= 3:
                        continue
                    prev = {t[1] for t in toks[max(0, i - 4):i]}
                    m = Mention(term.brand_id, term.text, found, int(d), term.kind, field,
                                bool(prev & set(COMPATIBLE_CUES)))
                    key = (term.brand_id, term.text)
                    if key not in best or m.distance < best[key].distance:
                        best[key] = m
        return sorted(best.values(), key=lambda m: (m.distance, m.kind != "name"))
