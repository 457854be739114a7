"""Brand mentions survive misspelling / leet / homoglyphs; evasion terms respect negation."""
import pytest

from ml.brands import BrandMatcher
from ml.evasion import evasion_terms, hype_terms
from ml.textnorm import fold
from ml.types import BrandInfo

BRANDS = [
    BrandInfo("adidas", "Adidas", ("adidas AG",), ("Ultraboost", "Three Stripes")),
    BrandInfo("samsung", "Samsung", (), ("Galaxy Buds",)),
    BrandInfo("lining", "Li-Ning", ("Li Ning",), ()),
]


@pytest.fixture(scope="module")
def matcher():
    return BrandMatcher(BRANDS)


@pytest.mark.parametrize("title,found_distance", [
    ("Adidas Ultraboost 22", 0),
    ("Adidaz running shoes", 1),          # misspelling
    ("4d1d4s sneakers", 0),               # leetspeak
    ("\u0410d\u0456das hoodie", 0),       # Cyrillic homoglyphs
    ("A*D*I*D*A*S cap", 0),               # separators
    ("a d i d a s tee", 0),               # spaced letters
    ("Addidas trainers", 1),              # doubled letter
])
def test_brand_variants_found(matcher, title, found_distance):
    ms = [m for m in matcher.find(title) if m.brand_id == "adidas" and m.kind == "name"]
    assert ms, title
    assert ms[0].distance == found_distance


def test_protected_term_and_multiword(matcher):
    ms = matcher.find("New Galaxy Buds 3 Pro, Li Ning box")
    assert {(m.brand_id, m.kind) for m in ms} >= {("samsung", "protected"), ("lining", "alias")}


def test_compatible_context(matcher):
    ms = matcher.find("Charging case compatible with Samsung Galaxy Buds")
    assert ms and all(m.compatible for m in ms if m.brand_id == "samsung")
    assert not any(m.compatible for m in matcher.find("Samsung Galaxy Buds original"))


def test_common_words_not_fuzzy_brands():
    m = BrandMatcher([BrandInfo("nike", "Nike"), BrandInfo("bose", "Bose")])
    assert m.find("nice rose garden hose, like new") == []


def test_evasion_terms_and_negation():
    assert "dupe" in evasion_terms("Best dupe on the market")
    assert evasion_terms("1:1 mirror quality replica")
    assert evasion_terms("R\u00e9plica calidad AAA quality")
    assert evasion_terms("Authentic, not a dupe. Not a replica.") == []
    assert evasion_terms("Highly detailed die-cast replica model") == []
    assert evasion_terms("AAA customer service") == []
    assert hype_terms("Top quality, contact on WhatsApp")


def test_fold_resolves_homoglyphs():
    assert fold("Tre\u0437or L\u0435n\u043evo") == "trezor lenovo"
