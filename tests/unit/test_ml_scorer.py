"""The scorer: boosted trees exported to JSON score exactly as scikit-learn does, respect their monotone
constraints, are not carried by one rare signal, calibrate, and honour the strong-evidence floors."""
import json
import math

import numpy as np
import pytest

from ml.calibration import expected_calibration_error, reliability
from ml.crossval import ExtraRows, grouped_scores, leave_one_trick_out, scorer_trainer
from ml.scorer import MONOTONE, STRONG_EVIDENCE, Scorer, TreeEnsemble, expand, strong_evidence


def _rows(n: int = 600, seed: int = 0) -> tuple[list[dict], list[int]]:
    """Listings whose label depends on price, seller and naming, with noise; a rare 'weak' flag on a few fakes."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for i in range(n):
        fake = rng.random() < 0.35
        f = {"img_sim": float(rng.uniform(0.5, 1.0)), "brand_found": 1.0, "price_known": 1.0,
             "mention_any": float(rng.random() < (0.95 if fake else 0.7)),
             "seller_authorized": float(not fake and rng.random() < 0.4),
             "price_vs_msrp": float(rng.normal(-1.9 if fake else -0.6, 0.7)),
             "seller_takedowns": float(rng.poisson(0.8 if fake else 0.2)),
             "mention_protected_only": float(fake and i % 97 == 0)}
        feats.append(f)
        labels.append(int(fake if rng.random() > 0.05 else not fake))
    return feats, labels


@pytest.fixture(scope="module")
def trained():
    feats, labels = _rows()
    return Scorer.train(feats, labels), feats, labels


def test_exported_trees_score_exactly_like_sklearn():
    from sklearn.ensemble import HistGradientBoostingClassifier

    feats, labels = _rows(300, seed=1)
    names = sorted(expand(feats[0]))
    X = Scorer(names, "x").matrix(feats)
    model = HistGradientBoostingClassifier(max_iter=30, max_depth=3, early_stopping=False,
                                           monotonic_cst=[MONOTONE.get(k, 0) for k in names]).fit(X, labels)
    trees = TreeEnsemble.from_sklearn(model)
    assert np.allclose(trees.raw(X), model.decision_function(X), atol=1e-9)
    bias, per = trees.path_contributions(X[7], len(names))
    assert bias + per.sum() == pytest.approx(float(trees.raw(X[7:8])[0]))


def test_json_round_trip_and_contributions_add_up(trained):
    scorer, feats, _ = trained
    again = Scorer.from_dict(json.loads(json.dumps(scorer.to_dict())))
    assert again.version == scorer.version and again.version.startswith("gbt-")
    assert np.array_equal(again.predict(feats[:50]), scorer.predict(feats[:50]))
    f = dict(feats[3], img_sim=0.7, price_vs_msrp=-0.5)  # no strong evidence here
    assert not strong_evidence(f)
    contrib = scorer.contributions(f)
    a, b = scorer.calibration
    bias, _ = scorer.trees.path_contributions(scorer.matrix([f])[0], len(scorer.feature_names))
    logit = math.log(scorer.predict([f])[0] / (1 - scorer.predict([f])[0]))
    assert a * bias + b + sum(contrib.values()) == pytest.approx(logit, abs=1e-6)


def test_monotone_signals_move_the_score_one_way_only(trained):
    scorer, feats, _ = trained
    base = dict(feats[0], img_sim=0.8, mention_any=1.0, seller_authorized=0.0, seller_takedowns=0.0)
    cheaper = [scorer.predict([dict(base, price_vs_msrp=v)])[0] for v in (0.5, 0.0, -0.5, -1.0, -1.5, -2.0)]
    assert all(b >= a - 1e-12 for a, b in zip(cheaper, cheaper[1:], strict=False)), cheaper
    takedowns = [scorer.predict([dict(base, price_vs_msrp=-1.0, seller_takedowns=v)])[0] for v in range(5)]
    assert all(b >= a - 1e-12 for a, b in zip(takedowns, takedowns[1:], strict=False)), takedowns
    auth = scorer.predict([dict(base, price_vs_msrp=-1.0, seller_authorized=1.0)])[0]
    assert auth <= scorer.predict([dict(base, price_vs_msrp=-1.0)])[0]


def test_one_rare_signal_does_not_carry_a_listing(trained):
    """A flag seen on a handful of fakes only: on an otherwise ordinary, fairly priced listing it stays low."""
    scorer, _, _ = trained
    fair = {"img_sim": 0.7, "brand_found": 1.0, "price_known": 1.0, "mention_any": 0.0, "seller_authorized": 0.0,
            "price_vs_msrp": 0.0, "seller_takedowns": 0.0}
    assert scorer.predict([dict(fair, mention_protected_only=1.0)])[0] < 0.5


def test_calibrated_on_data_it_never_saw():
    feats, labels = _rows(900, seed=2)
    groups = [f"g{i % 9}" for i in range(len(labels))]
    p = grouped_scores(labels, groups, scorer_trainer(feats, labels))
    assert expected_calibration_error(labels, p) <= 0.06
    assert sum(b.n for b in reliability(labels, p)) == len(labels)


def test_strong_evidence_counts_whatever_the_text_says(trained):
    scorer, _, _ = trained
    genuine_like = {"img_sim": 0.6, "brand_found": 1.0, "price_known": 1.0, "mention_any": 0.0,
                    "seller_authorized": 0.0, "price_vs_msrp": 0.0, "seller_log_age": 1.0}
    assert scorer.predict([genuine_like])[0] < 0.5
    copy_of_fake = dict(genuine_like, cf_pdq_match=1.0)
    assert scorer.predict([copy_of_fake])[0] >= STRONG_EVIDENCE[0].floor
    assert "copy_of_confirmed_counterfeit" in scorer.contributions(copy_of_fake)
    catalog_cheap = dict(genuine_like, img_sim=0.97, pdq_match=1.0, price_vs_msrp=-5.0)  # 3 % of MSRP
    assert scorer.predict([catalog_cheap])[0] >= STRONG_EVIDENCE[1].floor
    authorized = dict(catalog_cheap, seller_authorized=1.0)
    assert not strong_evidence(authorized)
    used_price = dict(catalog_cheap, price_vs_msrp=-1.0)  # half price: a sale or a used item, not a floor
    assert not strong_evidence(used_price)


def test_small_decision_sets_train_without_calibration():
    """Moderator decisions start small (train_scorer needs 10): the trees still separate them."""
    fake = {"img_sim": 0.9, "brand_found": 1.0, "mention_any": 1.0, "price_known": 1.0, "price_vs_msrp": -2.0}
    fair = dict(fake, price_vs_msrp=0.0)
    s = Scorer.train([fake, fair] * 6, [1, 0] * 6)
    assert s.calibration == (1.0, 0.0)
    p_fake, p_fair = s.predict([fake, fair])
    assert p_fake > 0.5 > p_fair


def test_legacy_logistic_documents_still_load():
    doc = {"kind": "logistic", "version": "lr-old", "feature_names": ["img_sim", "mention_any"],
           "mean": [0.5, 0.5], "scale": [0.2, 0.5], "coef": [1.0, 2.0], "intercept": -0.5, "meta": {}}
    s = Scorer.from_dict(doc)
    z = (0.9 - 0.5) / 0.2 * 1.0 + (1 - 0.5) / 0.5 * 2.0 - 0.5
    assert s.predict([{"img_sim": 0.9, "mention_any": 1.0}])[0] == pytest.approx(1 / (1 + math.exp(-z)))
    assert s.to_dict() == doc


def test_leave_one_trick_out_holds_the_trick_out_of_training():
    seen: list[set[str]] = []
    cats = ["g_a", "cf_x", "cf_y"] * 20
    y = [int(c.startswith("cf_")) for c in cats]
    groups = [f"b{i % 5}" for i in range(len(cats))]

    def train(rows, left_out):
        seen.append({cats[i] for i in rows})
        assert left_out in {"cf_x", "cf_y"} and left_out not in seen[-1]
        return lambda test: np.ones(len(test))

    out = leave_one_trick_out(y, cats, groups, train)
    assert out == {"cf_x": 1.0, "cf_y": 1.0}
    assert all(len(s & {"cf_x", "cf_y"}) == 1 for s in seen)


def test_a_left_out_trick_leaves_the_generated_rows_too():
    """The generator plays the same tricks: its rows of the held-out trick must not train the held-out model."""
    extra = ExtraRows([{"n": float(n)} for n in range(6)], [1, 1, 0, 1, 0, 1], 0.5,
                      ["cf_x", "cf_y", "g_a", "cf_x", "g_a", "cf_y"])
    left = extra.without("cf_x")
    assert left.categories == ["cf_y", "g_a", "g_a", "cf_y"] and [f["n"] for f in left.features] == [1, 2, 4, 5]
    assert left.labels == [1, 0, 0, 1] and left.weight == 0.5
    assert extra.without(None) is extra and ExtraRows([{"n": 0.0}], [1]).without("cf_x").labels == [1]
