"""Backtest figures (detection.replay) on hand-made decided histories."""
from datetime import date

from anticounterfeit.detection.replay import Decided, confusion, replay, retrain_refusals

D1, D2 = date(2026, 12, 1), date(2026, 12, 2)


def row(n, counterfeit, base, cand, *, brand="acme", reason="counterfeit", day=D1, threshold=0.5, cand_threshold=None):
    return Decided(n, f"L-{n}", brand, reason, day, counterfeit, base, threshold, cand,
                   threshold if cand_threshold is None else cand_threshold)


def test_confusion_counts_precision_recall_and_rate():
    figures = confusion([(True, True), (True, False), (False, True), (False, False)], days=2)
    assert figures == {"queued": 2, "caught": 1, "false_alarms": 1, "missed": 1, "precision": 0.5, "recall": 0.5,
                       "per_day": 1.0}
    assert confusion([], days=0)["precision"] is None


def test_a_stricter_threshold_trades_recall_for_precision():
    rows = [row(1, True, 0.9, 0.9, cand_threshold=0.7), row(2, True, 0.6, 0.6, cand_threshold=0.7),
            row(3, False, 0.55, 0.55, cand_threshold=0.7, day=D2), row(4, False, 0.3, 0.3, cand_threshold=0.7, day=D2)]
    result = replay(rows, days=2, first_day=D1)
    assert result["baseline"]["precision"] == round(2 / 3, 4) and result["baseline"]["recall"] == 1.0
    assert result["candidate"]["precision"] == 1.0 and result["candidate"]["recall"] == 0.5
    assert [(d["baseline"], d["candidate"]) for d in result["per_day"]] == [(2, 1), (1, 0)]
    assert {c["listing_key"]: c["now"] for c in result["changed"]} == {"L-2": "cleared", "L-3": "cleared"}
    assert result["changed_right"] == 1  # L-3 (genuine) rightly cleared, L-2 (counterfeit) wrongly


def test_a_new_scorer_is_broken_down_by_brand_and_reason():
    rows = [row(1, True, 0.4, 0.8, brand="acme"), row(2, False, 0.7, 0.2, brand="acme", reason="genuine"),
            row(3, True, 0.9, 0.9, brand="zeta"), row(4, False, 0.6, 0.6, brand="", reason="genuine")]
    result = replay(rows, days=1, first_day=D1)
    brands = {b["key"]: b for b in result["by_brand"]}
    assert brands["acme"]["baseline"]["caught"] == 0 and brands["acme"]["candidate"]["caught"] == 1
    assert brands["acme"]["candidate"]["false_alarms"] == 0 and "(no brand)" in brands
    reasons = {r["key"]: r for r in result["by_reason"]}
    assert reasons["genuine"]["baseline"]["false_alarms"] == 2 and reasons["genuine"]["candidate"]["false_alarms"] == 1
    assert result["changed_right"] == 2 and len(result["changed"]) == 2


def test_shadow_summary_counts_agreement_and_who_was_right():
    from anticounterfeit.detection.replay import Shadowed, shadow_summary

    rows = [Shadowed(0.9, 0.8, 0.5, True), Shadowed(0.6, 0.3, 0.5, False), Shadowed(0.3, 0.7, 0.5, True),
            Shadowed(0.2, 0.6, 0.5, None), Shadowed(0.1, 0.1, 0.5, None)]
    summary = shadow_summary(rows)
    assert summary["scans"] == 5 and summary["agreement"] == 0.4
    assert (summary["would_queue"], summary["would_clear"]) == (2, 1)
    assert (summary["decided_disagreements"], summary["shadow_right"], summary["live_right"]) == (2, 2, 0)
    assert summary["shadow_decided"]["precision"] == 1.0 and summary["live_decided"]["recall"] == 0.5
    assert shadow_summary([])["agreement"] is None


def test_an_automatic_retrain_is_held_when_it_loses_recall_or_lacks_history():
    worse = replay([row(1, True, 0.9, 0.9), row(2, True, 0.8, 0.4), row(3, False, 0.2, 0.2)], days=1, first_day=D1)
    assert retrain_refusals(worse, min_decided=3, max_drop=0.02) == ["recall would fall from 100.0% to 50.0%"]
    assert retrain_refusals(worse, min_decided=3, max_drop=0.6) == []  # within the allowed drop
    assert retrain_refusals(worse, min_decided=4, max_drop=0.6) == ["only 3 decided listings in 1 days (need 4)"]
    silent = replay([row(1, True, 0.9, 0.1), row(2, False, 0.7, 0.1)], days=1, first_day=D1)
    assert retrain_refusals(silent, min_decided=1, max_drop=0.02) == [  # a candidate that queues nothing
        "precision would fall from 50.0% to –", "recall would fall from 100.0% to 0.0%"]
