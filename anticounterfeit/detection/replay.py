"""Backtest arithmetic: replay a candidate (scorer or threshold) on decided history and compare it with the live
setting. Pure: rows in, JSON-ready figures out (``detection.backtests`` builds the rows from the database).

Only decided cases are history, so recall is measured among what moderators saw: a candidate that queues less
can only lose recall here, and one that queues more shows as more cases per day, not as found counterfeits.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Decided:
    """One decided listing, scored and thresholded twice: as it is live (baseline) and under the candidate."""

    listing_id: int
    listing_key: str
    brand: str  # "" when no brand matched
    reason: str  # the decision's reason code
    day: date
    counterfeit: bool  # the moderators' verdict: taken down
    baseline_score: float
    baseline_threshold: float
    candidate_score: float
    candidate_threshold: float

    @property
    def baseline_queued(self) -> bool:
        return self.baseline_score >= self.baseline_threshold

    @property
    def candidate_queued(self) -> bool:
        return self.candidate_score >= self.candidate_threshold


def confusion(verdicts: list[tuple[bool, bool]], *, days: int) -> dict:
    """(queued, counterfeit) pairs → queued, caught, false alarms, missed, precision, recall and cases per day."""
    queued = sum(q for q, _ in verdicts)
    caught = sum(q and c for q, c in verdicts)
    missed = sum((not q) and c for q, c in verdicts)
    return {
        "queued": queued, "caught": caught, "false_alarms": queued - caught, "missed": missed,
        "precision": round(caught / queued, 4) if queued else None,
        "recall": round(caught / (caught + missed), 4) if caught + missed else None,
        "per_day": round(queued / max(days, 1), 2),
    }


def retrain_refusals(results: dict, *, min_decided: int, max_drop: float) -> list[str]:
    """Why an automatic retrain must not go live (empty: it may): too little history to judge, or precision or
    recall on the decided history falling more than ``max_drop`` below the live scorer's."""
    reasons = []
    if results["decided"] < min_decided:
        reasons.append(f"only {results['decided']} decided listings in {results['days']} days (need {min_decided})")
    for metric in ("precision", "recall"):
        live, candidate = results["baseline"][metric], results["candidate"][metric]
        if live is not None and (candidate or 0.0) < live - max_drop:
            reasons.append(f"{metric} would fall from {_pct(live)} to {_pct(candidate)}")
    return reasons


def _sides(rows: list[Decided], *, days: int) -> dict:
    return {"baseline": confusion([(r.baseline_queued, r.counterfeit) for r in rows], days=days),
            "candidate": confusion([(r.candidate_queued, r.counterfeit) for r in rows], days=days),
            "decided": len(rows)}


def _grouped(rows: list[Decided], key, *, days: int) -> list[dict]:
    groups: dict[str, list[Decided]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [{"key": name, **_sides(group, days=days)}
            for name, group in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))]


def replay(rows: list[Decided], *, days: int, first_day: date) -> dict:
    """Figures for the baseline and the candidate: overall, per day, per brand, per reason, and the listings
    whose outcome changes (queued ↔ cleared)."""
    per_day: dict[date, list[int]] = {}
    for offset in range(days):
        per_day[date.fromordinal(first_day.toordinal() + offset)] = [0, 0]
    for row in rows:
        counts = per_day.setdefault(row.day, [0, 0])
        counts[0] += row.baseline_queued
        counts[1] += row.candidate_queued
    changed = [{"listing_id": r.listing_id, "listing_key": r.listing_key, "brand": r.brand, "reason": r.reason,
                "counterfeit": r.counterfeit, "now": "queued" if r.candidate_queued else "cleared",
                "baseline_score": round(r.baseline_score, 4), "candidate_score": round(r.candidate_score, 4)}
               for r in rows if r.baseline_queued != r.candidate_queued]
    return {
        "days": days, **_sides(rows, days=days),
        "per_day": [{"day": d.isoformat(), "baseline": b, "candidate": c} for d, (b, c) in sorted(per_day.items())],
        "by_brand": _grouped(rows, lambda r: r.brand or "(no brand)", days=days),
        "by_reason": _grouped(rows, lambda r: r.reason, days=days),
        "changed": changed,
        "changed_right": sum(r["now"] == ("queued" if r["counterfeit"] else "cleared") for r in changed),
    }


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def summary_lines(results: dict, *, top: int = 10) -> list[str]:
    """The figures as text (the ``backtest`` command prints what the console page shows)."""
    lines = [f"{results['decided']} decided listings over {results['days']} days",
             f"{'':12}{'precision':>10}{'recall':>9}{'queued':>8}{'per day':>9}{'caught':>8}{'false alarms':>14}"]
    for side in ("baseline", "candidate"):
        f = results[side]
        lines.append(f"{side:12}{_pct(f['precision']):>10}{_pct(f['recall']):>9}{f['queued']:>8}{f['per_day']:>9}"
                     f"{f['caught']:>8}{f['false_alarms']:>14}")
    for title, groups in (("per brand", results["by_brand"]), ("per reason", results["by_reason"])):
        lines.append(f"{title} (precision / recall / queued: baseline → candidate)")
        for g in groups[:top]:
            b, c = g["baseline"], g["candidate"]
            lines.append(f"  {g['key'][:24]:24} {_pct(b['precision'])} → {_pct(c['precision'])} / "
                         f"{_pct(b['recall'])} → {_pct(c['recall'])} / {b['queued']} → {c['queued']}")
    lines.append(f"changed outcomes: {len(results['changed'])} ({results['changed_right']} agree with the moderators)")
    lines += [f"  {c['listing_key']} would be {c['now']} (moderators: {'takedown' if c['counterfeit'] else 'dismiss'};"
              f" score {c['baseline_score']} → {c['candidate_score']})" for c in results["changed"][:top]]
    return lines


@dataclass(frozen=True)
class Shadowed:
    """One scan scored live and in shadow, against the listing's threshold; ``counterfeit`` once decided."""

    live_score: float
    shadow_score: float
    threshold: float
    counterfeit: bool | None

    @property
    def live_queued(self) -> bool:
        return self.live_score >= self.threshold

    @property
    def shadow_queued(self) -> bool:
        return self.shadow_score >= self.threshold


def shadow_summary(rows: list[Shadowed]) -> dict:
    """Agreement with the live scorer, what the shadow would have queued or cleared instead, and on the decided
    disagreements, which of the two the moderators proved right."""
    differ = [r for r in rows if r.live_queued != r.shadow_queued]
    decided = [r for r in differ if r.counterfeit is not None]
    shadow_right = sum(r.shadow_queued == r.counterfeit for r in decided)
    return {
        "scans": len(rows), "live_queued": sum(r.live_queued for r in rows),
        "shadow_queued": sum(r.shadow_queued for r in rows),
        "agreement": round(1 - len(differ) / len(rows), 4) if rows else None,
        "would_queue": sum(r.shadow_queued and not r.live_queued for r in rows),
        "would_clear": sum(r.live_queued and not r.shadow_queued for r in rows),
        "decided_disagreements": len(decided), "shadow_right": shadow_right, "live_right": len(decided) - shadow_right,
        "live_decided": confusion([(r.live_queued, r.counterfeit) for r in rows if r.counterfeit is not None], days=1),
        "shadow_decided": confusion([(r.shadow_queued, r.counterfeit) for r in rows if r.counterfeit is not None],
                                    days=1),
    }
