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
    for accessory in ("Ear tips for Samsung Galaxy Buds", "Fits Samsung Galaxy Buds perfectly",
                      "Replacement strap suitable for Samsung watches"):
        assert any(m.compatible for m in matcher.find(accessory) if m.brand_id == "samsung"), accessory


@pytest.mark.parametrize("claim", ["Fits like Samsung Galaxy Buds, same sound", "Message me for Samsung and other brands",
                                   "Contact on WhatsApp for Samsung earbuds", "Designed in a Samsung style",
                                   "Inspired by Samsung, works like the real thing"])
def test_a_look_alike_or_a_sales_pitch_is_not_compatibility(matcher, claim):
    """A cue word next to a look-alike or a pitch claims the brand: the listing is not an accessory for it."""
    ms = [m for m in matcher.find(claim) if m.brand_id == "samsung"]
    assert ms and not any(m.compatible for m in ms), claim


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


# ---- word-aware matching: product lines that are ordinary words ------------------------------------------
WORDY = [
    BrandInfo("aerotek", "Aerotek", (), ("Sparc", "Pilot", "Velorix Max", "Zeno")),
    BrandInfo("quorra", "Quorra", (), ("Element", "Trail Runner")),
]


@pytest.fixture(scope="module")
def wordy():
    return BrandMatcher(WORDY)


@pytest.mark.parametrize("text", [
    "Plain hoodie, no logos. Adds a spark of colour to any outfit.",   # spark ~ Sparc (distance 1)
    "Gift for pilots and frequent flyers",                            # pilots ~ Pilot (distance 1)
    "Elements of style: cotton tee",                                   # elements ~ Element
    "Zenno desk lamp",                                                 # a 4-letter term needs an exact match
    "Trail runners love this generic water bottle",                   # both words ordinary: no near-miss
])
def test_ordinary_words_near_a_term_are_not_mentions(wordy, text):
    assert wordy.find(text, "description") == [], text


@pytest.mark.parametrize("text,term,distance", [
    ("Sparc wireless earbuds", "Sparc", 0),          # the term itself
    ("Velorlx Max smart watch", "Velorix Max", 1),   # a disguised spelling of a rare term still counts
    ("V3l0rix Max watch", "Velorix Max", 0),         # leetspeak
    ("Zeno lamp", "Zeno", 0),                        # short term, exact
    ("Pilot travel mug", "Pilot", 0),                # a common-word term matches exactly (and weighs little)
])
def test_terms_found(wordy, text, term, distance):
    ms = {m.term: m for m in wordy.find(text)}
    assert term in ms, text
    assert ms[term].distance == distance


def test_term_weight_follows_how_distinctive_it_is(wordy):
    w = {t.text: t.weight for t in wordy.terms}
    assert w["Sparc"] > 0.9 and w["Velorix Max"] == 1.0
    assert w["Pilot"] < 0.6 and w["Element"] < 0.6
    assert w["Trail Runner"] > w["Element"]
    assert all(t.weight == 1.0 for t in wordy.terms if t.kind == "name")
    assert [m.weight for m in wordy.find("Pilot mug")] == [w["Pilot"]]


def test_distinctiveness_scale():
    from ml.brands import distinctiveness

    assert distinctiveness("Zorbex") == 1.0
    assert distinctiveness("the") == 0.0
    assert distinctiveness("Ultraboost") > distinctiveness("Galaxy") > distinctiveness("Max")
    assert distinctiveness("Galaxy Buds") > distinctiveness("Galaxy")
