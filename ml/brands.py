"""Brand-mention detection that survives misspellings, leetspeak, homoglyphs and spaced letters.

Many protected terms are product-line names that are ordinary words ("Pilot", "Spark", "Element"). A word's
frequency in ordinary text (``wordfreq``'s Zipf scale) decides two things: a listing token that is itself a
frequent word is never a misspelling of a term (only an exact match counts), and a term that is a frequent word
is weak evidence even when matched exactly (``BrandTerm.weight``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from wordfreq import zipf_frequency

from ml.textnorm import squash, tokens
from ml.types import BrandInfo

COMPATIBLE_CUES = ("compatible", "for", "fits", "fit", "replacement", "suitable", "works", "designed", "adapter")
# Words that turn such a cue into a claim on the brand rather than a product that serves it: a look-alike ("fits
# like X", "X style", "inspired by X") or a sales pitch ("message me for X and other brands").
LOOKALIKE_CUES = ("like", "style", "inspired", "similar", "dupe", "replica", "lookalike")
SOLICITING_CUES = ("message", "contact", "ask", "dm", "pm", "inbox", "whatsapp", "telegram", "wechat")
NOT_COMPATIBLE_CUES = frozenset(LOOKALIKE_CUES + SOLICITING_CUES)
# Zipf frequency (log10 of occurrences per billion words) from which a token counts as an ordinary word:
# ~3 is "a word most readers know" (pilots 4.1, spark 4.0, hose 3.7); misspelt brands sit far below (adidaz 0).
COMMON_ZIPF = 3.0
# Zipf at or above which a term carries no brand evidence by itself, and at or below which it is fully distinctive.
COMMON_TERM_ZIPF, RARE_TERM_ZIPF = 6.0, 3.0
EXACT_ONLY_LEN = 4  # terms this short (squashed) only match exactly: one edit turns most of them into other words
LANG = "en"


@functools.lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    """How common ``word`` is in ordinary English text (wordfreq's Zipf scale, 0 for unknown words)."""
    return zipf_frequency(word, LANG) if word else 0.0


def is_common_word(word: str) -> bool:
    return zipf(word) >= COMMON_ZIPF


def distinctiveness(text: str) -> float:
    """1.0 for an invented or rare term, falling to 0.0 for the most frequent words.

    A multi-word term is as rare as its rarest word, and each extra word makes the phrase rarer still.
    """
    words = [w for w in (squash(t[1]) for t in tokens(text)) if w]
    if not words:
        return 0.0
    z = min(zipf(w) for w in words) - (len(words) - 1)
    return float(np.clip((COMMON_TERM_ZIPF - z) / (COMMON_TERM_ZIPF - RARE_TERM_ZIPF), 0.0, 1.0))


@dataclass(frozen=True)
class BrandTerm:
    brand_id: str
    text: str  # as the brand wrote it
    norm: str  # squashed folded form
    kind: str  # "name" | "alias" | "protected"
    n_words: int
    weight: float = 1.0  # how much a match says about the brand: names 1.0, protected terms their distinctiveness


@dataclass(frozen=True)
class Mention:
    brand_id: str
    term: str
    found: str
    distance: int
    kind: str
    field: str  # "title" | "description"
    compatible: bool  # preceded by "compatible with" / "for" / "fits" ...
    weight: float = 1.0  # the term's weight (``BrandTerm.weight``)


def _max_distance(norm: str) -> int:
    if any(ch.isdigit() for ch in norm) or len(norm) <= EXACT_ONLY_LEN:
        return 0
    return 1 if len(norm) <= 6 else 2


def _fuzzy_allowed(window: list[tuple[str, str, str]], term: BrandTerm) -> bool:
    """A near-miss counts only when it can be a disguised spelling, not another word that happens to be close:
    at least 4 letters, the same first letter, and not every token an ordinary dictionary word."""
    found = "".join(w[1] for w in window)
    if len(found) < 4 or found[0] != term.norm[0]:
        return False
    return not all(is_common_word(w[1] or w[0]) for w in window)


class BrandMatcher:
    """Finds brand names, aliases and protected terms in free text."""

    def __init__(self, brands: list[BrandInfo]):
        terms: list[BrandTerm] = []
        for b in brands:
            for kind, texts in (("name", (b.name,)), ("alias", b.aliases), ("protected", b.protected_terms)):
                for t in texts:
                    norm = squash(" ".join(x[1] for x in tokens(t)))
                    if len(norm) >= 3 or (len(norm) == 2 and kind == "name"):
                        # Names and aliases are the brand's own claim; a product line is only as telling as it is rare.
                        weight = distinctiveness(t) if kind == "protected" else 1.0
                        terms.append(BrandTerm(b.brand_id, t, norm, kind, max(1, len(t.split())), weight))
        self.terms = terms
        self.brand_names = {b.brand_id: b.name for b in brands}
        # Precomputed per term: allowed distance, and the window sizes (in the order ``find`` visits them).
        self._norms = [t.norm for t in terms]
        self._maxd = np.array([_max_distance(t.norm) for t in terms], np.int32)
        self._cutoff = int(self._maxd.max()) if terms else 0
        self._sizes = [list({t.n_words, t.n_words + 1, max(1, t.n_words - 1)}) for t in terms]
        self._window_ns = sorted(n for n in {t.n_words + d for t in terms for d in (-1, 0, 1)} if n >= 1)

    def find(self, text: str, field: str = "title") -> list[Mention]:
        """All mentions, best (smallest distance) per (brand, term).

        Every window's squashed and de-leeted forms are compared with every term in one rapidfuzz ``cdist``
        call (C, distances capped above the largest allowance); Python only visits the windows within a
        term's allowance, in the same order as a term-by-term scan, so ties resolve identically.
        """
        toks = tokens(text)
        if not toks or not self.terms:
            return []
        cands: dict[str, int] = {}
        windows: dict[int, np.ndarray] = {}  # n -> (windows, 2) candidate string ids
        for n in self._window_ns:
            windows[n] = np.array([[cands.setdefault("".join(t[1] for t in toks[i:i + n]), len(cands)),
                                    cands.setdefault("".join(t[2] for t in toks[i:i + n]), len(cands))]
                                   for i in range(0, len(toks) - n + 1)], np.int64).reshape(-1, 2)
        dist = process.cdist(list(cands), self._norms, scorer=OSA.distance, score_cutoff=self._cutoff,
                             dtype=np.int32)
        hits: list[tuple[int, int, int, int, int]] = []  # (term, size rank, window, n, distance)
        for n, win in windows.items():
            if not len(win):
                continue
            d = np.minimum(dist[win[:, 0]], dist[win[:, 1]])  # (windows, terms)
            for i, t in zip(*np.nonzero(d <= self._maxd), strict=True):
                sizes = self._sizes[t]
                if n in sizes:
                    hits.append((int(t), sizes.index(n), int(i), n, int(d[i, t])))
        best: dict[tuple[str, str], Mention] = {}
        for t, _, i, n, d in sorted(hits):
            term = self.terms[t]
            window = toks[i:i + n]
            found = " ".join(w[0] for w in window)
            if d > 0 and not _fuzzy_allowed(window, term):
                continue
            if d == 0 and n != term.n_words and len(term.norm) <= 3:
                continue
            prev = {w[1] for w in toks[max(0, i - 4):i]}
            after = {w[1] for w in toks[i + n:i + n + 2]}  # "X style", "X inspired"
            compatible = (bool(prev & set(COMPATIBLE_CUES)) and not prev & NOT_COMPATIBLE_CUES
                          and not after.intersection(LOOKALIKE_CUES))
            m = Mention(term.brand_id, term.text, found, d, term.kind, field, compatible, term.weight)
            key = (term.brand_id, term.text)
            if key not in best or m.distance < best[key].distance:
                best[key] = m
        return sorted(best.values(), key=lambda m: (m.distance, m.kind != "name"))
