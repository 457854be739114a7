"""Scorer lifecycle: train from moderator decisions, activate, roll back. Each writes one AuditEvent.

Labels come from decisions (takedown = counterfeit, dismiss = genuine); features are the signals the
scan stored on the listing's Detection, so training needs no model run and no images.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q

from anticounterfeit.catalog.models import Brand, ReferenceItem
from anticounterfeit.core import audit
from anticounterfeit.core.audit import record
from anticounterfeit.listings.actions import set_status
from anticounterfeit.listings.models import Listing, ListingImage
from anticounterfeit.moderation.actions import open_or_update_case
from anticounterfeit.moderation.models import Decision
from ml.scorer import Scorer

from .models import AllowRule, BrandPolicy, Detection, DetectionPolicy, ScorerVersion
from .policy import review_threshold_for

log = logging.getLogger(__name__)
S = Listing.Status

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
def train_scorer(*, acting_user=None, min_decisions: int | None = None, C: float = 0.3,
                 activate: bool = True) -> ScorerVersion:
    """Fit a new scorer on all labelled decisions and make it the active version (the old one is kept);
    ``activate=False`` stores it as a candidate to backtest or shadow first."""

    need = settings.DETECTION["RETRAIN_MIN_DECISIONS"] if min_decisions is None else min_decisions
    features, labels, last = training_rows()
    if len(labels) < need or len(set(labels)) < 2:
        raise NotEnoughDecisions(f"{len(labels)} labelled listings ({sum(labels)} taken down); "
                                 f"need {need} with both takedowns and dismissals")
    scorer = Scorer.train(features, labels, C=C)
    scorer.meta["source"] = "moderator decisions"
    previous = active_version()
    number = (ScorerVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    if activate:
        ScorerVersion.objects.filter(is_active=True).update(is_active=False)
    new = ScorerVersion.objects.create(number=number, version=scorer.version, document=scorer.to_dict(),
                                       is_active=activate, n_decisions=len(labels), n_counterfeit=sum(labels),
                                       last_decision_id=last, created_by=_user(acting_user))
    record("detection.scorer_trained", new, actor=acting_user, before=_state(previous), after=_state(new))
    return new


@transaction.atomic
def add_scorer_version(document: dict, *, acting_user=None) -> ScorerVersion:
    """Store an uploaded scorer document (``ml.scorer.Scorer.to_dict`` JSON) as an inactive candidate."""

    try:
        scorer = Scorer.from_dict(document)
        scorer.predict([{}])  # shapes agree
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"document: not a scorer document ({exc})") from exc
    number = (ScorerVersion.objects.aggregate(m=Max("number"))["m"] or 0) + 1
    new = ScorerVersion.objects.create(number=number, version=scorer.version, document=scorer.to_dict(),
                                       is_active=False, created_by=_user(acting_user))
    record("detection.scorer_uploaded", new, actor=acting_user, after=_state(new))
    return new


def _sole(target: ScorerVersion, flag: str) -> None:
    """``target`` becomes the one version with ``flag`` (``is_active`` or ``is_shadow``) set."""
    ScorerVersion.objects.filter(**{flag: True}).exclude(pk=target.pk).update(**{flag: False})
    setattr(target, flag, True)
    target.save(update_fields=[flag])


@transaction.atomic
def activate_scorer(number: int, *, acting_user=None) -> ScorerVersion:
    """Make a version the live scorer (a version running in shadow stops shadowing: it is live now)."""
    target = ScorerVersion.objects.select_for_update().get(number=number)
    previous = active_version()
    target.is_shadow = False
    _sole(target, "is_active")
    ScorerVersion.objects.filter(pk=target.pk).update(is_shadow=False)
    record("detection.scorer_activated", target, actor=acting_user, before=_state(previous), after=_state(target))
    return target


@transaction.atomic
def start_shadow(number: int, *, acting_user=None) -> ScorerVersion:
    """Run a stored candidate in shadow: from now on every scan also records its score (one shadow at a time)."""
    target = ScorerVersion.objects.select_for_update().get(number=number)
    if target.is_active:
        raise ValueError(f"scorer v{number} is the active version: nothing to compare it with")
    previous = ScorerVersion.objects.filter(is_shadow=True).exclude(pk=target.pk).first()
    _sole(target, "is_shadow")
    record("detection.shadow_start", target, actor=acting_user, before=_state(previous), after=_state(target))
    return target


@transaction.atomic
def end_shadow(*, promote: bool, acting_user=None) -> ScorerVersion:
    """Promote the shadow candidate (it becomes the active scorer) or discard it: one audited action either way."""
    shadow = ScorerVersion.objects.select_for_update().filter(is_shadow=True).first()
    if shadow is None:
        raise ScorerVersion.DoesNotExist("no scorer is running in shadow")
    previous = active_version()
    shadow.is_shadow = False
    shadow.save(update_fields=["is_shadow"])
    if promote:
        _sole(shadow, "is_active")
    scored = shadow.shadow_detections.count()
    record("detection.shadow_promote" if promote else "detection.shadow_discard", shadow, actor=acting_user,
           before=_state(previous), after={**_state(shadow), "shadow_scored": scored, "active": shadow.is_active})
    return shadow


def rollback_scorer(*, acting_user=None) -> ScorerVersion:
    """Activate the newest version older than the active one."""
    current = active_version()
    older = ScorerVersion.objects.filter(number__lt=current.number) if current else ScorerVersion.objects.none()
    target = older.first()
    if target is None:
        raise ScorerVersion.DoesNotExist("no earlier scorer version to roll back to")
    return activate_scorer(target.number, acting_user=acting_user)


# ---- per-brand thresholds ---------------------------------------------------------------------------
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


@transaction.atomic
def update_detection_policy(*, acting_user, review_threshold: float, high_priority_threshold: float) -> DetectionPolicy:
    """Validate and store new thresholds; the audit row keeps the old values so a change can be undone."""
    if not 0.0 < review_threshold < 1.0:
        raise ValueError("review_threshold: must be between 0 and 1")
    if not review_threshold <= high_priority_threshold <= 1.0:
        raise ValueError("high_priority_threshold: must be between the review threshold and 1")
    DetectionPolicy.current()
    policy = DetectionPolicy.objects.select_for_update().get(pk=1)
    before = {"review_threshold": policy.review_threshold, "high_priority_threshold": policy.high_priority_threshold}
    policy.review_threshold, policy.high_priority_threshold = review_threshold, high_priority_threshold
    policy.save(update_fields=["review_threshold", "high_priority_threshold", "updated_at"])
    record("policy.update", policy, actor=acting_user, before=before,
                 after={"review_threshold": review_threshold, "high_priority_threshold": high_priority_threshold})
    return policy


@dataclass(frozen=True)
class ScanBatchContext:
    """What the listings of one scan batch share, read once per batch rather than once per listing: the review
    policy, each listing's images (prefetched with the batch) and which sellers and image hashes have allow rules
    at all. ``record_detection`` reads the rest under the listing's lock; a rule or policy change that lands while
    the batch is scanned applies from the next scan, as it would a few milliseconds later without the context.
    """

    policy: DetectionPolicy
    images: dict[int, list[ListingImage]]  # listing pk -> its images by position
    sellers_with_rules: frozenset[int]
    images_with_rules: frozenset[str]

    @classmethod
    def of(cls, listings: list[Listing]) -> ScanBatchContext:
        """For listings fetched with their images (``workers.scan.listings_for_scan``): 2 queries."""
        images = {listing.pk: list(listing.images.all()) for listing in listings}
        shas = {image.sha256 for rows in images.values() for image in rows}
        rules = list(AllowRule.objects.filter(Q(seller_id__in={listing.seller_id for listing in listings})
                                              | Q(image_sha256__in=shas)).values_list("seller_id", "image_sha256"))
        return cls(policy=DetectionPolicy.current(), images=images,
                   sellers_with_rules=frozenset(seller for seller, _ in rules if seller is not None),
                   images_with_rules=frozenset(sha for _, sha in rules if sha))

    def may_be_allowed(self, listing: Listing, shas: list[str]) -> bool:
        return listing.seller_id in self.sellers_with_rules or not self.images_with_rules.isdisjoint(shas)


@transaction.atomic
def record_detection(listing_id: int, result, *, bank_version: int, replace: bool = False,
                     features_version: str | None = None, context: ScanBatchContext | None = None,
                     shadow: tuple[ScorerVersion, float] | None = None) -> Detection | None:
    """Store a scan result and move the listing: pending → clear | in_review (opening a case).

    Idempotent: a listing already scanned against this bank version is left alone, and an open case is
    updated rather than duplicated.

    ``replace=True`` is the OCR follow-up (``workers.scan.scan_ocr``): its complete result overwrites the fast
    result of the same bank version *in place* (one Detection row per listing × bank version, so the open case
    keeps pointing at it) and the threshold logic runs again; re-running it changes nothing. Listings a moderator
    already decided are left alone (the evidence behind a decision is never rewritten).

    Status only moves towards review: clear → in_review when a later result passes the threshold, never
    in_review → clear automatically (a lower score updates the case's evidence; a moderator dismisses it).
    A fast result that still waits for OCR (``result.followup_pending``) is provisional: on a listing scanned before
    it may raise ``listing.score``/``matched_brand`` but never lower them (no flicker while the follow-up runs).
    It is stored as ``Detection.followup_pending`` (so a follow-up lost to a broker outage is re-queued by the sweeper);
    the follow-up, or a follow-up that finds the listing decided, clears it.

    ``features_version`` is the ml ``Models.version`` that computed the image vectors/PDQ hashes (default: the
    first part of ``result.model_version``); it is stored with them so stale ones get recomputed for the bank.
    ``context``: what a scan batch read once for all its listings (``ScanBatchContext``).
    ``shadow``: the shadow candidate and its score for these signals, stored beside the live score, acting on nothing.
    """

    # The seller comes with the row (trust tier, allow rules, case priority); only the listing row is locked.
    listing = Listing.objects.select_for_update(of=("self",)).select_related("seller").filter(pk=listing_id).first()
    if listing is None:
        return None
    # This bank version's result and any still waiting for a follow-up (at most a few rows), in one query.
    current = list(listing.detections.filter(Q(bank_version=bank_version) | Q(followup_pending=True)).order_by("pk"))
    existing = next((d for d in current if d.bank_version == bank_version), None)
    if existing is not None and listing.status != S.PENDING and not replace:
        return existing
    if replace and listing.status not in {S.PENDING, S.CLEAR, S.IN_REVIEW}:
        listing.detections.filter(followup_pending=True).update(followup_pending=False)  # decided: no follow-up will land
        return existing
    brand = Brand.objects.filter(brand_key=result.brand_id).first() if result.brand_id else None
    fields = {
        "score": float(result.score), "brand": brand, "signals": result.signals, "explanation": result.explanation,
        "matches": [_match_json(m) for m in result.matches], "errors": result.errors,
        "image_text": {str(pos): text for pos, text in (result.image_text or {}).items() if text},
        "model_version": result.model_version,
        "shadow_scorer": shadow[0] if shadow else None, "shadow_score": shadow[1] if shadow else None,
    }
    # By position (the scan's image order), for the features and the allow rules.
    images = context.images[listing.pk] if context and listing.pk in context.images else list(listing.images.all())
    if replace and existing is not None:
        detection = _replace_detection(existing, fields)
    else:
        detection = Detection.objects.create(listing=listing, bank_version=bank_version, **fields,
                                             followup_pending=not replace and bool(getattr(result, "followup_pending", False)))
        _store_image_features(listing, images, result, features_version or models_version_of(result.model_version))
    # The flag is processing state, not evidence (not audited): the complete result clears it, and a newer result
    # supersedes the flag of older bank versions (the sweeper re-queues only what is still waiting). The listing
    # row lock keeps ``current`` exact: every writer of the flag holds it (or only clears the flag).
    superseded = [d.pk for d in current if d.followup_pending and (replace or d.pk != detection.pk)]
    if superseded:
        Detection.objects.filter(pk__in=superseded).update(followup_pending=False)
    changed = []  # listing fields to save, with the status change if there is one (one UPDATE)
    provisional = bool(getattr(result, "followup_pending", False)) and listing.status != S.PENDING
    if not provisional or listing.score is None or detection.score >= listing.score:
        listing.score, listing.matched_brand = detection.score, brand
        changed = ["score", "matched_brand"]

    new_status, reason = None, ""
    shas = [image.sha256 for image in images]
    rule = (allow_rule_for(listing, detection, image_sha256s=shas)
            if context is None or context.may_be_allowed(listing, shas) else None)
    if rule is not None:  # a moderator already confirmed this seller × reference (or image) is genuine
        if listing.status == S.PENDING:
            new_status, reason = S.CLEAR, f"allowed by rule #{rule.pk} ({rule})"
    else:
        policy = context.policy if context else DetectionPolicy.current()
        threshold = review_threshold_for(listing, policy)
        # A copy of a confirmed counterfeit (the shared bank: any marketplace's takedowns) is always reviewed,
        # whatever the scorer thinks of the rest of the listing.
        known_fake = any(m.get("kind") == "counterfeit" for m in detection.matches or [])
        if (detection.score >= threshold or known_fake) and listing.status in {S.PENDING, S.CLEAR, S.IN_REVIEW}:
            open_or_update_case(listing, detection, policy=policy)
            new_status, reason = S.IN_REVIEW, (f"score {detection.score:.2f} ≥ {threshold:.2f}" if not known_fake
                                               else "matches a confirmed counterfeit")
        elif listing.status == S.PENDING:
            new_status, reason = S.CLEAR, f"score {detection.score:.2f} < {threshold:.2f}"
    if new_status is not None:
        set_status(listing, new_status, reason=reason, also_save=changed)
    elif changed:
        listing.save(update_fields=[*changed, "updated_at"])
    return detection


def settle_decided_ocr_followups() -> int:
    """Clear ``followup_pending`` on listings a moderator decided (their evidence is final: no follow-up will land)."""
    return (Detection.objects.filter(followup_pending=True)
            .exclude(listing__status__in=[S.PENDING, S.CLEAR, S.IN_REVIEW]).update(followup_pending=False))


def _replace_detection(detection: Detection, fields: dict) -> Detection:
    """Overwrite a fast result with the follow-up's; audited when anything changed (the fast values are kept there)."""
    def comparable(d: dict) -> dict:
        return {**d, "brand": d["brand"].pk if d["brand"] is not None else None}

    current = comparable({name: getattr(detection, name) for name in fields})
    if current == comparable(fields):
        return detection
    for name, value in fields.items():
        setattr(detection, name, value)
    detection.save(update_fields=list(fields))
    audit.record("detection.replace", detection,
                 before={"score": current["score"], "brand": current["brand"], "signals": current["signals"]},
                 after={"score": fields["score"], "brand": comparable(fields)["brand"], "signals": fields["signals"],
                        "image_text": bool(fields["image_text"]), "reason": "OCR follow-up"})
    return detection


def models_version_of(model_version: str) -> str:
    """The ml ``Models.version`` part of a Detection's ``model_version`` ("{models}/{scorer}/{index}")."""
    return model_version.split("/", 1)[0]


def _store_image_features(listing: Listing, images: list[ListingImage], result, features_version: str) -> None:
    """Keep each image's vector and PDQ hash (with the models version that computed them): the
    confirmed-counterfeit bank is built from them on takedown, and recomputed there once the models change.

    The result has one row per image that decoded, with its index in the scan's image list in
    ``image_positions`` (images that failed have none). When the rows cannot be paired with the images for
    sure, nothing is kept: build_bank recomputes from files. ``images``: the listing's, by position (the order
    of the scan's image_paths).
    """
    vectors = np.asarray(result.image_vectors, dtype=np.float32) if result.image_vectors is not None else None
    hashes = list(result.pdq_hashes or [])
    rows = len(hashes) if vectors is None else len(vectors)
    positions = result.image_positions if result.image_positions is not None else range(rows)
    decoded = [images[p] for p in positions if p < len(images)]
    if rows > len(decoded) or (vectors is not None and hashes and len(hashes) != rows):
        log.warning("listing %s: %s feature rows for %s decoded images; not stored", listing.listing_key, rows,
                    len(decoded))
        rows = 0
    stored = {image.pk: n for n, image in enumerate(decoded[:rows])}
    for image in images:
        n = stored.get(image.pk)
        image.vector = vectors[n].tobytes() if n is not None and vectors is not None else None
        image.pdq = (hashes[n] or "") if n is not None and n < len(hashes) else ""
        image.features_version = features_version if n is not None else ""
    ListingImage.objects.bulk_update(images, ["vector", "pdq", "features_version"])


def _match_json(match) -> dict:
    return {
        "kind": match.kind, "ref_id": match.ref_id, "brand_id": match.brand_id, "score": round(float(match.score), 4),
        "listing_image": match.listing_image, "ref_image": match.ref_image,
        "box": list(match.box) if match.box is not None else None,
    }
