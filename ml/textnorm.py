"""Text normalisation that undoes common evasion: homoglyphs, leetspeak, s*p*a*c*e*d letters."""
from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

# Characters unidecode maps to something other than the Latin look-alike.
HOMOGLYPHS = {
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0445": "x", "\u0443": "y",
    "\u0456": "i", "\u0458": "j", "\u0455": "s", "\u04bb": "h", "\u0501": "d", "\u0261": "g", "\u03bf": "o",
    "\u03b1": "a", "\u03b5": "e", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03c1": "p", "\u03c4": "t",
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O",
    "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0406": "I", "\u0391": "A", "\u0392": "B",
    "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039d": "N",
    "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a7": "X", "\u03a5": "Y", "\u0131": "i", "\u01c0": "l",
}
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
                      "!": "i", "|": "l", "€": "e", "9": "g"})
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_TOKEN = re.compile(r"\S+")


def fold(text: str) -> str:
    """Unicode -> lower-case ASCII with homoglyphs resolved and zero-width characters dropped."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    text = "".join(HOMOGLYPHS.get(ch, ch) for ch in text)
    return unidecode(text).lower()


def squash(token: str) -> str:
    """Keep letters and digits only: 'G*O*O*G*L*E' -> 'google', 'Li-Ning' -> 'lining'."""
    return re.sub(r"[^a-z0-9]", "", token)


def deleet(token: str) -> str:
    """Leetspeak to letters, only meaningful for tokens that mix letters and digits/symbols."""
    return squash(token.translate(LEET))


def tokens(text: str) -> list[tuple[str, str, str]]:
    """Tokens of folded text as (original, squashed, de-leeted); runs of single letters are merged."""
    raw = _TOKEN.findall(fold(text))
    out: list[tuple[str, str, str]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            joined = "".join(run)
            out.append((" ".join(run), squash(joined), deleet(joined)))
        else:
            out.extend((r, squash(r), deleet(r)) for r in run)
        run.clear()

    for tok in raw:
        s = squash(tok)
        if len(s) == 1 and len(tok) <= 2:
            run.append(tok)
            continue
        flush()
        if s or deleet(tok):
            out.append((tok, s, deleet(tok)))
    flush()
    return out
