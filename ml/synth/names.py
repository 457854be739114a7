"""Invented names: brands, product lines, sellers — pronounceable, never a real trademark."""

from __future__ import annotations

import functools
import random

# Famous marks we must never produce (also used by the tests). Substring collisions are rejected too.
FAMOUS_BRANDS: frozenset[str] = frozenset(
    """nike adidas puma reebok asics fila vans converse gucci prada chanel dior hermes versace fendi
    balenciaga burberry armani rolex omega cartier tissot casio seiko swatch apple samsung sony lenovo
    xiaomi huawei google microsoft nokia dell asus acer razer bose sennheiser jbl beats philips canon nikon
    dji garmin fitbit yeti lego disney coca pepsi starbucks ferrari bmw audi tesla toyota honda nba fifa
    zara uniqlo levis lacoste diesel hugo boss rayban oakley louis vuitton supreme northface patagonia
    columbia timberland skechers newbalance underarmour champion kappa umbro diadora lining corsair nvidia
    intel amd logitech playstation xbox nintendo dyson loreal nivea gillette oral hp lg oppo vivo realme
    tommy calvin kenzo moncler stussy bape""".split()
)

_ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gl", "k", "kr", "l", "m", "n", "p", "pr", "qu", "r",
           "s", "st", "t", "tr", "v", "z", "th", "sk", "h", "j", "y", "w", "x"]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou", "ea", "y"]
_CODAS = ["", "", "", "n", "r", "l", "x", "s", "m", "nt", "rk", "v", "th", "k"]
_ENDINGS = ["a", "o", "ix", "en", "ora", "ex", "is", "on", "ara", "io", "ell", "ia", "um", "ar", "ik"]

LINE_SUFFIXES = ["Pro", "Max", "Lite", "One", "X", "90", "Air", "Flex", "Prime", "Go", "Plus", "Edge", "2", "S"]
SELLER_WORDS = ["Trend", "Deal", "Urban", "Prime", "Lucky", "Star", "Global", "Happy", "Best", "Smart", "Golden",
                "Sunny", "Blue", "Daily", "Top", "Mega", "Fresh", "Nova", "City", "Swift"]
SELLER_SUFFIXES = ["Store", "Shop", "Outlet", "Mart", "Trading", "Goods", "Market", "Co", "Ltd", "Emporium",
                   "Boutique", "Depot", "Hub", "Supply"]
FIRST_NAMES = ["jules", "mika", "sam", "ana", "leo", "nora", "omar", "ivy", "kai", "lina", "tom", "zoe", "ravi",
               "mei", "ben", "ola", "yuki", "dan", "eva", "hugo", "sara", "ali", "nina", "paul"]


def is_blocked(name: str) -> bool:
    """True if the name equals or contains a famous mark (letters only, case-insensitive)."""
    flat = "".join(ch for ch in name.lower() if ch.isalpha())
    return any(b == flat or (len(b) >= 4 and b in flat) or (len(flat) >= 4 and flat in b) for b in FAMOUS_BRANDS)


def _word(rng: random.Random, syllables: int) -> str:
    parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables - 1)]
    parts.append(rng.choice(_ONSETS) + rng.choice(_ENDINGS))
    return "".join(parts)


def invent_names(rng: random.Random, n: int, taken: set[str] | None = None) -> list[str]:
    """n distinct pronounceable names of 4-10 letters, skipping famous marks and names already taken."""
    taken = {t.lower() for t in (taken or set())}
    out: list[str] = []
    while len(out) < n:
        w = _word(rng, rng.choice([2, 2, 2, 3]))
        if not 4 <= len(w) <= 10 or w in taken or is_blocked(w):
            continue
        taken.add(w)
        out.append(w.capitalize())
    return out


@functools.lru_cache(maxsize=1)
def everyday_words() -> tuple[str, ...]:
    """Frequent English words of 4-9 letters (wordfreq's top list, in its order): real product lines often are."""
    from wordfreq import top_n_list

    return tuple(w for w in top_n_list("en", 4000) if w.isalpha() and w.isascii() and 4 <= len(w) <= 9
                 and not is_blocked(w))


def everyday_names(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    """n distinct capitalised ordinary words not taken yet (e.g. 'Summit', 'Pilot')."""
    pool = [w for w in everyday_words()[200:] if w not in taken]  # past the function words
    out = rng.sample(pool, n)
    taken.update(out)
    return [w.capitalize() for w in out]


def product_lines(rng: random.Random, n: int, taken: set[str], everyday: float = 0.0) -> list[str]:
    """Product-line names (the brand's protected terms), e.g. 'Velora Max'; ``everyday`` is the share that are
    ordinary words ('Summit', 'Pilot X')."""
    lines: list[str] = []
    for base in invent_names(rng, n, taken):
        if rng.random() < everyday:
            base = everyday_names(rng, 1, taken)[0]
        lines.append(base if rng.random() < 0.35 else f"{base} {rng.choice(LINE_SUFFIXES)}")
    return lines


def aliases(rng: random.Random, name: str) -> list[str]:
    pool = [f"{name} Inc", f"{name} Official", f"{name} Group", f"{name} Labs", f"{name} Co", name.upper()]
    return rng.sample(pool, rng.randint(1, 3))


def seller_name(rng: random.Random, kind: str, brand_name: str | None = None) -> str:
    """A shop name whose style only loosely tracks the seller kind."""
    if kind == "authorized" and brand_name:
        return rng.choice([f"{brand_name} Official Store", f"{brand_name} Flagship", f"{rng.choice(SELLER_WORDS)} "
                           f"{rng.choice(SELLER_SUFFIXES)} ({brand_name} dealer)", f"{brand_name} Store"])
    r = rng.random()
    if r < 0.45:
        return f"{rng.choice(SELLER_WORDS)} {rng.choice(SELLER_WORDS)} {rng.choice(SELLER_SUFFIXES)}"
    if r < 0.8:
        return f"{rng.choice(FIRST_NAMES)}_{rng.choice(['store', 'shop', 'deals', 'finds', 'outlet'])}{rng.randint(1, 999)}"
    return f"{_word(rng, 2).capitalize()} {rng.choice(SELLER_SUFFIXES)}"


_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "l": "1", "g": "9"}
_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "k": "к",
               "A": "А", "E": "Е", "O": "О", "P": "Р", "C": "С", "X": "Х", "K": "К", "T": "Т", "M": "М", "B": "В"}


def misspell(rng: random.Random, name: str) -> str:
    """A brand name mangled the way counterfeiters evade keyword filters."""
    chars = list(name)
    how = rng.choice(["swap", "drop", "double", "leet", "homoglyph", "spaced", "starred", "vowel"])
    if how == "swap" and len(chars) > 3:
        i = rng.randrange(1, len(chars) - 2)
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif how == "drop" and len(chars) > 4:
        del chars[rng.randrange(1, len(chars) - 1)]
    elif how == "double":
        i = rng.randrange(1, len(chars))
        chars.insert(i, chars[i])
    elif how == "leet":
        idx = [i for i, c in enumerate(chars) if c.lower() in _LEET] or [0]
        for i in rng.sample(idx, min(len(idx), rng.randint(1, 2))):
            chars[i] = _LEET.get(chars[i].lower(), chars[i])
    elif how == "homoglyph":
        idx = [i for i, c in enumerate(chars) if c in _HOMOGLYPHS] or [0]
        for i in rng.sample(idx, min(len(idx), rng.randint(1, 2))):
            chars[i] = _HOMOGLYPHS.get(chars[i], chars[i])
    elif how == "spaced":
        return " ".join(name.upper())
    elif how == "starred":
        return "*".join(name.upper())
    else:
        idx = [i for i, c in enumerate(chars) if c in "aeiou"] or [len(chars) - 1]
        i = rng.choice(idx)
        chars[i] = rng.choice([v for v in "aeiouy" if v != chars[i]])
    out = "".join(chars)
    return out if out != name else name[:-1] + name[-1] * 2
