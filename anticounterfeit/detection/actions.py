"""Scorer lifecycle: train from moderator decisions, activate, roll back. Each writes one AuditEvent.

Labels come from decisions (takedown = counterfeit, dismiss = genuine); features are the signals the
scan stored on the listing's Detection, so training needs no model run and no images.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from anticounterfeit.core.audit import record
from anticounterfeit.detection.models import AllowRule, BrandPolicy, ScorerVersion
from anticounterfeit.listings.models import Detection
from anticounterfeit.moderation.models import Decision

LABELS = {Decision.Action.TAKEDOWN: 1, Decision.Action.DISMISS: 0}


class NotEnoughDecisions(ValueError):
    """Too few (or one-sided) decisions to train a scorer worth trusting."""


def active_version() -> ScorerVersion | None:
    return ScorerVersion.objects.filter(is_active=True).first()


def new_decisions_since(version: ScorerVersion | None) -> int:
    """Labelled decisions not yet seen by ``version`` (all of them when no version was trained)."""
    qs = Decision.objects.filter(action__in=LABELS)
    return qs.filter(pk__gt=version.last_decision_id).count() if version else qs.count()


def _latest_labelled_decisions() -> dict[int, Decision]:
    """listing id → its latest takedown/dismiss decision (a later decision overrides an earlier one)."""
    latest: dict[int, Decision] = {}
    for d in Decision.objects.filter(action__in=LABELS).select_related("case").order_by("created_at", "pk"):
        latest[d.case.listing_id] = d
    return latest


def training_rows() -> tuple[list[dict], list[int], int]:
    """(signals, labels, newest decision id): the latest labelled decision per listing, with the
    listing's latest detection made before that decision."""
    features, labels = [], []
    for listing_id, d in _latest_labelled_decisions().items():
        det = (Detection.objects.filter(listing_id=listing_id, created_at__lte=d.created_at).first()
               or Detection.objects.filter(listing_id=listing_id).first())
        if det is None or not det.signals:
            continue
        features.append(det.signals)
        labels.append(LABELS[d.action])
    last = Decision.objects.filter(action__in=LABELS).aggregate(m=Max("pk"))["m"] or 0
    return features, labels, last


@transaction.atomic
def train_scorer(*, acting_user=None, min_decisions: int | None = None, C: float = 0.3) -> ScorerVersion:
    """Fit a new scorer on all labelled decisions and make it the active version (the old one is kept)."""
    from ml.scorer import Scorer

    need = settings.DETECTION["RETRAIN_MIN_DECISIONS"] if min_decisions is None else min_decisions
    features, labels, last = training_rows()
    if len(labels) < need or len(set(labels)) < 2:
        raise NotEnoughDecisions(f"{len(labels)} labelled listings ({sum(labels)} taken down); "
                                 f"need {need} with both takedowns and dismissals")
    scorer = Scorer.train(features, labels, C=C)
    scorer.meta["source"] = "moderator decisions"
    previous = active_version()
    number = (ScorerVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    ScorerVersion.objects.filter(is_active=True).update(is_active=False)
    new = ScorerVersion.objects.create(number=number, version=scorer.version, document=scorer.to_dict(),
                                       is_active=True, n_decisions=len(labels), n_counterfeit=sum(labels),
                                       last_decision_id=last, created_by=_user(acting_user))
    record("detection.scorer_trained", new, actor=acting_user, before=_state(previous), after=_state(new))
    return new


@transaction.atomic
def activate_scorer(number: int, *, acting_user=None) -> ScorerVersion:
    target = ScorerVersion.objects.select_for_update().get(number=number)
    previous = active_version()
    ScorerVersion.objects.filter(is_active=True).update(is_active=False)
    target.is_active = True
    target.save(update_fields=["is_active"])
    record("detection.scorer_activated", target, actor=acting_user, before=_state(previous), after=_state(target))
    return target


def rollback_scorer(*, acting_user=None) -> ScorerVersion:
    """Activate the newest version older than the active one."""
    current = active_version()
    older = ScorerVersion.objects.filter(number__lt=current.number) if current else ScorerVersion.objects.none()
    target = older.first()
    if target is None:
        raise ScorerVersion.DoesNotExist("no earlier scorer version to roll back to")
    return activate_scorer(target.number, acting_user=acting_user)


# ---- per-brand thresholds ---------------------------------------------------------------------------
def brand_review_threshold(brand) -> float | None:
    """The brand's override, or None (use the global DetectionPolicy)."""
    if brand is None:
        return None
    return BrandPolicy.objects.filter(brand=brand).values_list("review_threshold", flat=True).first()


@transaction.atomic
def set_brand_threshold(brand, review_threshold: float | None, *, acting_user) -> BrandPolicy:
    if review_threshold is not None and not 0.0 < review_threshold < 1.0:
        raise ValueError("review_threshold: must be between 0 and 1 (exclusive), or empty")
    policy, _ = BrandPolicy.objects.select_for_update().get_or_create(brand=brand)
    before = {"review_threshold": policy.review_threshold}
    policy.review_threshold = review_threshold
    policy.save()
    record("detection.brand_threshold_set", policy, actor=acting_user, before=before,
           after={"review_threshold": review_threshold})
    return policy


# ---- allow bank ------------------------------------------------------------------------------------
def matched_ref_keys(detection) -> set[str]:
    return {m["ref_id"] for m in (detection.matches or []) if m.get("kind") != "counterfeit" and m.get("ref_id")}


def allow_rule_for(listing, detection, *, image_sha256s: list[str] | None = None) -> AllowRule | None:
    """The allow rule that covers this scan result, if any (checked where detections are recorded).
    ``image_sha256s``: the listing's image hashes when the caller has them (saves a query)."""
    return AllowRule.objects.matching(listing, matched_ref_keys(detection), image_sha256s=image_sha256s).first()


@transaction.atomic
def add_allow_rule_from_dismissal(decision_id: int, scope: str, *, acting_user) -> list[AllowRule]:
    """After a dismissal: allow this seller × the references it matched, or this listing's exact images."""
    from anticounterfeit.catalog.models import ReferenceItem

    decision = Decision.objects.select_related("case__listing__seller").get(pk=decision_id)
    if decision.action != Decision.Action.DISMISS:
        raise ValueError("decision: allow rules come only from dismissals")
    listing = decision.case.listing
    detection = Detection.objects.filter(listing=listing).first()
    rules = []
    if scope == AllowRule.Scope.SELLER_REFERENCE:
        refs = ReferenceItem.objects.filter(ref_key__in=matched_ref_keys(detection) if detection else set())
        for ref in refs:
            rule, _ = AllowRule.objects.get_or_create(scope=scope, seller=listing.seller, reference=ref,
                                                      defaults={"decision": decision, "created_by": _user(acting_user)})
            rules.append(rule)
    elif scope == AllowRule.Scope.IMAGE:
        for sha in dict.fromkeys(listing.images.values_list("sha256", flat=True)):
            rule, _ = AllowRule.objects.get_or_create(scope=scope, image_sha256=sha,
                                                      defaults={"decision": decision, "created_by": _user(acting_user)})
            rules.append(rule)
    else:
        raise ValueError(f"scope: unknown allow-rule scope {scope!r}")
    if not rules:
        raise ValueError("nothing to allow: the listing matched no reference / has no images")
    record("detection.allow_rule_added", listing, actor=acting_user,
           after={"scope": scope, "rules": [r.pk for r in rules], "decision": decision.pk})
    return rules


# ---- noisy references ------------------------------------------------------------------------------
def noisy_references(*, min_dismissed: int = 3, max_takedown_share: float = 0.2) -> list[dict]:
    """References whose matches moderators keep dismissing: candidates for quarantine by a lead.

    Counts each decided listing once per reference it matched (latest decision per case).
    """
    from collections import Counter

    from anticounterfeit.catalog.models import ReferenceItem

    dismissed, taken = Counter(), Counter()
    for listing_id, d in _latest_labelled_decisions().items():
        det = Detection.objects.filter(listing_id=listing_id).first()
        for key in matched_ref_keys(det) if det else ():
            (taken if d.action == Decision.Action.TAKEDOWN else dismissed)[key] += 1
    out = []
    refs = {r.ref_key: r for r in ReferenceItem.objects.filter(ref_key__in=dismissed).select_related("brand")}
    for key, n in dismissed.most_common():
        share = taken[key] / (n + taken[key])
        if n >= min_dismissed and share <= max_takedown_share and key in refs:
            out.append({"reference": refs[key], "dismissed": n, "taken_down": taken[key],
                        "quarantined": refs[key].quarantined})
    return out


def _state(v: ScorerVersion | None) -> dict:
    return {"number": v.number, "version": v.version} if v else {"number": None, "version": "shipped default"}


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
