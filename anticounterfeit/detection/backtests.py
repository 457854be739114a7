"""Backtests from the database: the decided history of a window, rescored from stored ``Detection.signals``
(no model runs), compared by ``detection.replay``; and activating the change a backtest was based on."""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anticounterfeit.core import audit
from anticounterfeit.moderation.models import Decision

from . import actions
from .detector_cache import load_scorer
from .models import Backtest, BrandPolicy, Detection, DetectionPolicy, ScorerVersion
from .policy import tier_adjusted
from .replay import Decided, replay, retrain_refusals

LABELS = {Decision.Action.TAKEDOWN: True, Decision.Action.DISMISS: False}


class ActivationRefused(ValueError):
    """A change without a backtest and without a lead's override reason."""


def decided_history(days: int) -> list[tuple[Decision, Detection]]:
    """The latest takedown/dismiss per listing decided in the last ``days`` days, with the detection it was
    decided on (the listing's latest one made before the decision)."""
    since = timezone.now() - timedelta(days=days)
    latest: dict[int, Decision] = {}
    for d in (Decision.objects.filter(action__in=LABELS, created_at__gte=since)
              .select_related("case__listing__seller", "case__listing__matched_brand").order_by("created_at", "pk")):
        latest[d.case.listing_id] = d
    pairs = []
    for listing_id, decision in latest.items():
        detection = (Detection.objects.filter(listing_id=listing_id, created_at__lte=decision.created_at).first()
                     or Detection.objects.filter(listing_id=listing_id).first())
        if detection is not None:
            pairs.append((decision, detection))
    return pairs


def _scores(scorer_row, detections: list[Detection]) -> list[float]:

    return [float(s) for s in load_scorer(scorer_row).predict([d.signals or {} for d in detections])]


def build_rows(kind: str, *, days: int, scorer: ScorerVersion | None = None, threshold: float | None = None,
               brand=None) -> list[Decided]:
    """Baseline = the live scorer and thresholds; candidate = the same with the one change applied.

    A scorer candidate rescores both sides from the stored signals (like for like); a threshold candidate keeps
    the stored scores, which are what the live scorer gave.
    """
    pairs = decided_history(days)
    detections = [det for _, det in pairs]
    if kind == Backtest.Kind.SCORER:
        active = ScorerVersion.objects.filter(is_active=True).first()
        base_scores, cand_scores = _scores(active, detections), _scores(scorer, detections)
    else:
        base_scores = cand_scores = [det.score for det in detections]
    policy = DetectionPolicy.current()
    overrides = dict(BrandPolicy.objects.filter(review_threshold__isnull=False).values_list("brand_id",
                                                                                           "review_threshold"))
    rows = []
    for (decision, _detection), base, cand in zip(pairs, base_scores, cand_scores, strict=True):
        listing = decision.case.listing
        live = overrides.get(listing.matched_brand_id, policy.review_threshold)
        changed = live
        if kind == Backtest.Kind.GLOBAL_THRESHOLD and listing.matched_brand_id not in overrides:
            changed = threshold
        elif kind == Backtest.Kind.BRAND_THRESHOLD and listing.matched_brand_id == brand.pk:
            changed = threshold if threshold is not None else policy.review_threshold
        tier = listing.seller.trust_tier
        rows.append(Decided(
            listing_id=listing.pk, listing_key=listing.listing_key,
            brand=listing.matched_brand.brand_key if listing.matched_brand else "", reason=decision.reason_code,
            day=timezone.localdate(decision.created_at), counterfeit=LABELS[decision.action],
            baseline_score=base, baseline_threshold=tier_adjusted(live, tier),
            candidate_score=cand, candidate_threshold=tier_adjusted(changed, tier)))
    return rows


@transaction.atomic
def run_backtest(kind: str, *, days: int, acting_user=None, scorer: ScorerVersion | None = None,
                 threshold: float | None = None, brand=None) -> Backtest:
    if kind == Backtest.Kind.SCORER and scorer is None:
        raise ValueError("scorer: a scorer backtest needs a scorer version")
    if kind != Backtest.Kind.SCORER and (threshold is None or not 0.0 < threshold < 1.0):
        raise ValueError("threshold: must be between 0 and 1 (exclusive)")
    if kind == Backtest.Kind.BRAND_THRESHOLD and brand is None:
        raise ValueError("brand: a brand threshold backtest needs a brand")
    if not 1 <= days <= 365:
        raise ValueError("days: 1 to 365")
    rows = build_rows(kind, days=days, scorer=scorer, threshold=threshold, brand=brand)
    first_day = timezone.localdate() - timedelta(days=days - 1)
    backtest = Backtest.objects.create(kind=kind, scorer=scorer, threshold=threshold, brand=brand, days=days,
                                       results=replay(rows, days=days, first_day=first_day),
                                       created_by=acting_user if getattr(acting_user, "pk", None) else None)
    audit.record("detection.backtest_run", backtest, actor=acting_user,
                 after={"kind": kind, "days": days, "decided": backtest.results["decided"]})
    return backtest


@transaction.atomic
def activate(backtest: Backtest, *, acting_user) -> Backtest:
    """Put the backtested change live, through its own action (own audit row), and record the link."""

    backtest = Backtest.objects.select_for_update().get(pk=backtest.pk)
    if backtest.activated_at is not None:
        raise ActivationRefused(f"backtest #{backtest.pk} was already activated")
    if backtest.kind == Backtest.Kind.SCORER:
        actions.activate_scorer(backtest.scorer.number, acting_user=acting_user)
    elif backtest.kind == Backtest.Kind.GLOBAL_THRESHOLD:
        policy = DetectionPolicy.current()
        actions.update_detection_policy(acting_user=acting_user, review_threshold=backtest.threshold,
                                        high_priority_threshold=max(policy.high_priority_threshold,
                                                                    backtest.threshold))
    else:
        actions.set_brand_threshold(backtest.brand, backtest.threshold, acting_user=acting_user)
    backtest.activated_at, backtest.activated_by = timezone.now(), acting_user
    backtest.save(update_fields=["activated_at", "activated_by"])
    audit.record("detection.change_activated", backtest, actor=acting_user,
                 after={"backtest": backtest.pk, "change": backtest.describe(), "override_reason": ""})
    return backtest


def record_override(change: str, *, reason: str, acting_user, obj) -> None:
    """A lead activates a change with no backtest: allowed only with a reason, which is audited."""
    if not reason.strip():
        raise ActivationRefused("run a backtest of this change first, or give a reason to override")
    audit.record("detection.change_activated", obj, actor=acting_user,
                 after={"backtest": None, "change": change, "override_reason": reason.strip()[:500]})


@transaction.atomic
def retrain_if_due() -> ScorerVersion | None:
    """The beat job's retrain. A candidate trained on all decisions goes live only when its backtest over the
    recent window is no worse than the live scorer; otherwise it waits, with that backtest, for a lead.

    Returns the candidate (None when too few decisions are new since the latest version, live or held);
    raises ``actions.NotEnoughDecisions`` when there are too few to train on at all.
    """
    cfg = settings.DETECTION
    latest = ScorerVersion.objects.order_by("-number").first()
    if actions.new_decisions_since(latest) < cfg["RETRAIN_MIN_NEW_DECISIONS"]:
        return None
    candidate = actions.train_scorer(activate=False)
    backtest = run_backtest(Backtest.Kind.SCORER, days=cfg["RETRAIN_BACKTEST_DAYS"], scorer=candidate)
    reasons = retrain_refusals(backtest.results, min_decided=cfg["RETRAIN_MIN_BACKTEST_DECIDED"],
                               max_drop=cfg["RETRAIN_MAX_METRIC_DROP"])
    if reasons:
        audit.record("detection.retrain_held", candidate, after={"backtest": backtest.pk, "reasons": reasons})
    else:
        activate(backtest, acting_user=None)
    candidate.refresh_from_db()
    return candidate
