"""Moderation actions. Each is atomic, writes its AuditEvent and schedules follow-ups on commit.

A takedown composes: listing status (listings.actions) → trust event (trust.actions) → seller notice
(notifications.actions) → a counterfeit-bank delta (detection.bank_deltas), written in the same transaction.
"""
import math
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anticounterfeit.accounts.models import is_lead
from anticounterfeit.compliance.actions import record_statement
from anticounterfeit.core import audit
from anticounterfeit.detection import bank_deltas
from anticounterfeit.detection.models import DetectionPolicy
from anticounterfeit.listings import actions as listing_actions
from anticounterfeit.listings.models import Listing
from anticounterfeit.notifications.actions import announce_decision, notify_seller
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import TrustEvent

from . import qa
from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Appeal, Case, Decision, ReasonCode


class CaseUnavailable(Exception):
    """The case is decided, or another moderator holds its lease."""


PRIORITY_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
BRAND_REPORT_TIER = 10_000.0  # log units: a brand report outranks every scan opened within ~100 years
MIN_SCORE = 1e-4  # log(0) guard: a brand report on a listing the scorer rated 0 still gets a finite priority


def case_priority(score: float, *, seller_sales: int, source: str, opened_at: datetime) -> float:
    """Queue order: ``log(score × exposure × 2^((opened_at − epoch) / half-life))``, plus a tier for brand reports.

    Stored once in ``Case.priority`` and never recomputed: because the time term grows for every new case instead of
    decaying every old one, newer cases rank up while the queue stays one indexed ``ORDER BY -priority`` (no periodic
    re-rank of 100k rows). With the 72 h default half-life a case opened three days later with half the score ties;
    a much stronger match still comes first. Exposure is the seller's reach (prior sales) and moves a case by at most
    20%: a listing has no views or sales of its own to count. Brand reports sit a tier above every scan.
    """
    reach = min(1.0, math.log10(1 + max(seller_sales, 0)) / 4)  # 10k prior sales = full reach
    exposure = 0.8 + 0.2 * reach
    recency = (opened_at - PRIORITY_EPOCH) / settings.CASE_PRIORITY_HALF_LIFE * math.log(2)
    tier = BRAND_REPORT_TIER if source == Case.Source.BRAND_REPORT else 0.0
    return math.log(max(score, MIN_SCORE) * exposure) + recency + tier


def priority_of(case: Case) -> float:
    """``case_priority`` for an existing case, from its detection, seller, source and opening time."""
    score = case.detection.score if case.detection is not None else 1.0
    return case_priority(score, seller_sales=case.listing.seller.prior_sales, source=case.source,
                         opened_at=case.opened_at)


def open_or_update_case(listing: Listing, detection, *, source: str = Case.Source.SCAN,
                        policy: DetectionPolicy | None = None) -> Case:
    """Open a case for a flagged listing, or refresh the open one (a rescan, or a brand report on a flagged listing).

    A refresh keeps the case's opening time, so a rescan never makes an old case look new; priority only rises.
    ``policy``: the review policy when the caller has read it already.
    """
    policy = policy or DetectionPolicy.current()
    high = detection is not None and detection.score >= policy.high_priority_threshold
    score = detection.score if detection is not None else 1.0
    case = Case.objects.open().filter(listing=listing).first()
    if case is None:
        now = timezone.now()
        priority = case_priority(score, seller_sales=listing.seller.prior_sales, source=source, opened_at=now)
        case = Case.objects.create(listing=listing, detection=detection, source=source, priority=priority,
                                   high_priority=high, opened_at=now)
        audit.record("case.open", case, after={"score": detection.score if detection is not None else None,
                                               "priority": round(priority, 4), "source": source})
    else:
        if source == Case.Source.BRAND_REPORT:
            case.source = source
        priority = case_priority(score, seller_sales=listing.seller.prior_sales, source=case.source,
                                 opened_at=case.opened_at)
        case.detection, case.priority, case.high_priority = detection, max(case.priority, priority), high
        case.save(update_fields=["detection", "priority", "high_priority", "source"])
    return case


RERANK_BATCH = 2000


def rerank_open_cases() -> int:
    """Recompute every open case's priority (after the half-life setting changed); returns how many changed.

    Walks the open cases in primary-key batches so 100k rows never sit in memory at once.
    """
    changed, after = 0, 0
    while True:
        batch = list(Case.objects.open().filter(pk__gt=after).select_related("detection", "listing__seller")
                     .order_by("pk")[:RERANK_BATCH])
        if not batch:
            return changed
        for case in batch:
            case.priority, old = priority_of(case), case.priority
            changed += case.priority != old
        Case.objects.bulk_update(batch, ["priority"])
        after = batch[-1].pk


@transaction.atomic
def expire_case_leases(now=None) -> int:
    """Release the leases that ran out (beat), so the cases return to the shared queue; one audit row each."""
    now = now or timezone.now()
    expired = list(Case.objects.open().select_for_update(skip_locked=True, of=("self",)).select_related("listing")
                   .filter(lease_expires_at__lt=now))
    for case in expired:
        audit.record("case.lease_expired", case, before={"assigned_to": case.assigned_to_id},
                     after={"assigned_to": None})
    return Case.objects.filter(pk__in=[case.pk for case in expired]).update(assigned_to=None, lease_expires_at=None)


def lease_is_free(case: Case, user, now=None) -> bool:
    now = now or timezone.now()
    return case.assigned_to_id in (None, user.pk) or case.lease_expires_at is None or case.lease_expires_at <= now


def check_available(case: Case, user) -> None:
    """Why ``user`` may not work on ``case`` right now, as an exception; the one rule claims and decisions share."""
    if case.state == Case.State.DECIDED:
        raise CaseUnavailable(f"case #{case.pk} was already decided")
    if case.state == Case.State.ESCALATED and not is_lead(user):
        raise CaseUnavailable(f"case #{case.pk} is escalated: a lead decides it")
    if not lease_is_free(case, user):
        raise CaseUnavailable(f"case #{case.pk} is being reviewed by {case.assigned_to.get_username()}")


@transaction.atomic
def claim_case(case_id: int, *, acting_user) -> Case:
    """Assign the case to the moderator for a lease, unless someone else holds a live lease."""
    case = Case.objects.select_for_update().get(pk=case_id)
    check_available(case, acting_user)
    before = case.assigned_to_id
    case.assigned_to, case.lease_expires_at = acting_user, timezone.now() + settings.CASE_LEASE
    case.save(update_fields=["assigned_to", "lease_expires_at"])
    if before != acting_user.pk:
        audit.record("case.claim", case, actor=acting_user, before={"assigned_to": before}, after={"assigned_to": acting_user.pk})
    return case


def _lock_for_decision(case_id: int, acting_user) -> Case:
    case = Case.objects.select_for_update().select_related("listing__seller").get(pk=case_id)
    check_available(case, acting_user)
    return case


def _decide(case: Case, action: str, reason_code: str, note: str, acting_user) -> Decision:
    decision = Decision.objects.create(case=case, action=action, reason_code=reason_code, note=note, moderator=acting_user)
    before = case.state
    if action == Decision.Action.ESCALATE:
        case.state, case.assigned_to, case.lease_expires_at = Case.State.ESCALATED, None, None
    else:
        case.state, case.closed_at = Case.State.DECIDED, timezone.now()
    case.save(update_fields=["state", "assigned_to", "lease_expires_at", "closed_at"])
    _brand_accuracy_changed(case, acting_user)
    qa.route_decision(decision)
    audit.record(f"case.{action}", case, actor=acting_user, before={"state": before},
                 after={"state": case.state, "reason_code": reason_code, "decision": decision.pk})
    return decision


@transaction.atomic
def do_take_down(case_id: int, *, acting_user, reason_code: str = ReasonCode.COUNTERFEIT, note: str = "",
                 trust_kind: str = TrustEvent.Kind.TAKEDOWN) -> Decision:
    """Remove the listing and apply its consequences.

    A brand's self-service removal is this same takedown with ``trust_kind=BRAND_REMOVAL`` (catalog.actions).
    """
    if reason_code not in TAKEDOWN_REASONS:
        raise ValueError(f"reason_code: '{reason_code}' is not a takedown reason")
    case = _lock_for_decision(case_id, acting_user)
    decision = _decide(case, Decision.Action.TAKEDOWN, reason_code, note, acting_user)
    apply_takedown(decision, acting_user=acting_user, trust_kind=trust_kind)
    return decision


def apply_takedown(decision: Decision, *, acting_user, trust_kind: str = TrustEvent.Kind.TAKEDOWN) -> None:
    """A takedown's consequences, shared by moderator takedowns and brands' self-service removals: the statement
    of reasons is issued first, so the seller's notice carries it; the fake joins the counterfeit bank as a delta in
    this transaction (no rebuild)."""

    listing = decision.case.listing
    seller = listing.seller
    listing_actions.set_status(listing, Listing.Status.REMOVED, acting_user=acting_user, reason=decision.reason_code)
    rating_before = seller.trust_rating
    trust_actions.record_trust_event(seller, trust_kind, decision=decision, acting_user=acting_user)
    deadline = timezone.now() + settings.APPEAL_WINDOW
    statement = record_statement(decision, appeal_deadline=deadline, acting_user=acting_user,
                                 via_brand=trust_kind == TrustEvent.Kind.BRAND_REMOVAL)
    notify_seller(
        seller, "takedown", listing=listing, decision=decision, appeal_deadline=deadline, acting_user=acting_user,
        context={"reason": ReasonCode(decision.reason_code).label, "statement": statement,
                 "brand_name": listing.matched_brand.name if listing.matched_brand else "",
                 "rating_before": rating_before, "rating_after": seller.trust_rating, "tier": seller.trust_tier},
    )
    announce_decision(decision, "removed", acting_user=acting_user)
    bank_deltas.record_takedown(listing)


@transaction.atomic
def do_dismiss(case_id: int, *, acting_user, reason_code: str = ReasonCode.GENUINE, note: str = "") -> Decision:
    if reason_code not in DISMISS_REASONS:
        raise ValueError(f"reason_code: '{reason_code}' is not a dismissal reason")
    case = _lock_for_decision(case_id, acting_user)
    decision = _decide(case, Decision.Action.DISMISS, reason_code, note, acting_user)
    listing_actions.set_status(case.listing, Listing.Status.CLEARED, acting_user=acting_user, reason=reason_code)
    trust_actions.record_trust_event(case.listing.seller, TrustEvent.Kind.DISMISSED_FLAG, decision=decision,
                                     acting_user=acting_user)
    announce_decision(decision, "dismissed", acting_user=acting_user)
    return decision


@transaction.atomic
def do_escalate(case_id: int, *, acting_user, note: str = "") -> Decision:
    case = _lock_for_decision(case_id, acting_user)
    if case.state == Case.State.ESCALATED:
        raise CaseUnavailable(f"case #{case.pk} is already escalated")
    return _decide(case, Decision.Action.ESCALATE, ReasonCode.NEEDS_LEAD, note, acting_user)


BULK_LIMIT = 500


@transaction.atomic
def bulk_decide(case_ids: list[int], *, action: str, acting_user, reason_code: str, note: str = "",
                anchor: Case) -> tuple[list[int], dict[int, str]]:
    """Decide many cases the way one would be decided, each through its own action (own audit row).

    A case someone else holds or that was decided meanwhile is skipped, never stolen; each takedown appends its
    own bank delta. One summary row on ``anchor`` (the case the moderator started from) ties them together.
    """

    if action not in (Decision.Action.TAKEDOWN, Decision.Action.DISMISS):
        raise ValueError(f"action: '{action}' cannot be applied in bulk")
    if len(case_ids) > BULK_LIMIT:
        raise ValueError(f"case_ids: at most {BULK_LIMIT} cases at once")
    decided, skipped = [], {}
    for case_id in sorted(set(case_ids)):
        try:
            if action == Decision.Action.TAKEDOWN:
                do_take_down(case_id, acting_user=acting_user, reason_code=reason_code, note=note)
            else:
                do_dismiss(case_id, acting_user=acting_user, reason_code=reason_code, note=note)
        except CaseUnavailable as exc:
            skipped[case_id] = str(exc)
        else:
            decided.append(case_id)
    audit.record(f"case.bulk_{action}", anchor, actor=acting_user,
                 after={"decided": decided, "skipped": sorted(skipped), "reason_code": reason_code})
    return decided, skipped


@transaction.atomic
def file_appeal(decision: Decision, *, seller, statement: str, evidence=None, acting_user=None) -> Appeal:
    if decision.action != Decision.Action.TAKEDOWN or decision.case.listing.seller_id != seller.pk:
        raise ValueError("decision: only the seller of a removed listing can appeal its takedown")
    if decision.created_at + settings.APPEAL_WINDOW < timezone.now():
        raise ValueError("decision: the appeal window has closed")
    if decision.appeals.filter(status=Appeal.Status.OPEN).exists():
        raise ValueError("decision: an appeal for this takedown is already open")
    appeal = Appeal.objects.create(decision=decision, seller=seller, statement=statement)
    if evidence is not None:
        appeal.evidence.save(evidence.name, evidence, save=True)
    audit.record("appeal.file", appeal, actor=acting_user, after={"decision": decision.pk})
    return appeal


@transaction.atomic
def decide_appeal(appeal_id: int, *, acting_user, reinstate: bool, note: str = "") -> Appeal:

    appeal = Appeal.objects.select_for_update().select_related("decision__case__listing__seller").get(pk=appeal_id)
    if appeal.status != Appeal.Status.OPEN:
        raise ValueError(f"appeal #{appeal.pk} was already decided")
    if appeal.decision.moderator_id == acting_user.pk:
        raise PermissionError("a moderator cannot decide an appeal against their own decision")
    if not is_lead(acting_user):
        raise PermissionError("only a lead can decide an appeal")
    listing, seller = appeal.decision.case.listing, appeal.seller
    appeal.status = Appeal.Status.REINSTATED if reinstate else Appeal.Status.UPHELD
    appeal.decided_by, appeal.decided_at = acting_user, timezone.now()
    appeal.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record("appeal.decide", appeal, actor=acting_user, before={"status": "open"}, after={"status": appeal.status})
    if reinstate:
        apply_reinstatement(appeal.decision, acting_user=acting_user, reason="appeal")
    else:
        notify_seller(seller, "appeal_outcome", listing=listing, decision=appeal.decision, acting_user=acting_user,
                      context={"note": note})
    return appeal


def apply_reinstatement(decision: Decision, *, acting_user, reason: str) -> None:
    """Undo a takedown's consequences (appeal reinstatement, or a moderator reversing a brand's removal)."""

    listing = decision.case.listing
    seller = listing.seller
    listing_actions.set_status(listing, Listing.Status.REINSTATED, acting_user=acting_user, reason=reason)
    trust_actions.reverse_strike(decision, acting_user=acting_user)  # strike and the seller links it made
    _brand_accuracy_changed(decision.case, acting_user)
    notify_seller(seller, "reinstatement", listing=listing, decision=decision, acting_user=acting_user,
                  context={"rating_after": seller.trust_rating, "tier": seller.trust_tier})
    announce_decision(decision, "reinstated", acting_user=acting_user)
    bank_deltas.record_reinstatement(listing)


def _brand_accuracy_changed(case: Case, acting_user) -> None:
    """Outcomes of brand reports move the brand's self-service status (catalog.accuracy)."""
    if case.source == Case.Source.BRAND_REPORT:
        from anticounterfeit.catalog.accuracy import reevaluate_for_case

        reevaluate_for_case(case, acting_user=acting_user)
