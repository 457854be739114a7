"""The case page's evidence rules: one explanation line per fact; a region box only where it means something."""
from anticounterfeit.moderation.evidence import BOX_MIN_SCORE, explanation_lines, region_box


def test_a_word_matching_several_aliases_is_explained_once():
    lines = ["logo region matched Famsko reference F-1 (0.81)",
             "description says 'famsko' (brand mention of Famsko)",
             "description says 'Famsko' (brand mention of Famsko Bags)",
             "title says 'famsko' (brand mention of Famsko)",
             "seller not authorized for Famsko", "seller not authorized for Famsko"]
    assert explanation_lines(lines) == [lines[0], lines[1], lines[3], lines[4]]
    apostrophes = ["title says 'famsko's' (brand mention of Famsko)", "title says 'famsko's bag' (protected term of X)"]
    assert explanation_lines(apostrophes) == apostrophes  # two facts, though one begins like the other


def test_region_box_is_drawn_only_for_a_strong_localised_region_match():
    box = [0.6, 0.55, 0.85, 0.8]
    assert region_box({"kind": "region", "score": 0.86, "box": box}) == (0.6, 0.55, 0.85, 0.8)
    assert region_box({"kind": "region", "score": 0.56, "box": box}) is None  # a middling match: no real place
    assert region_box({"kind": "region", "score": BOX_MIN_SCORE, "box": box}) is not None
    assert region_box({"kind": "region", "score": 0.9, "box": [0, 0, 1, 1]}) is None  # the whole photo
    assert region_box({"kind": "image", "score": 0.95, "box": box}) is None  # a whole-image match has no region
    assert region_box({"kind": "region", "score": 0.9, "box": None}) is None
    assert region_box({"kind": "region", "score": 0.9, "box": [0.5, 0.5, 0.5, 0.7]}) is None  # empty
