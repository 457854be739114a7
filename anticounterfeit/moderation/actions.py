"""Moderation actions. Each is atomic, writes its AuditEvent and schedules follow-ups on commit.

A takedown composes: listing status (listings.actions) → trust event (trust.actions) → seller notice
(notifications.actions) → confirmed-counterfeit bank rebuild (workers.banks).
"""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anticounterfeit.core import audit
from anticounterfeit.core.models import DetectionPolicy
from anticounterfeit.listings import actions as listing_actions
from anticounterfeit.listings.models import Listing
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import TrustEvent

from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Appeal, Case, Decision, ReasonCode


class CaseUnavailable(Exception):
    """The case is decided, or another moderator holds its lease."""


def open_or_update_case(listing: Listing, detection, *, source: str = Case.Source.SCAN) -> Case:
    policy = DetectionPolicy.current()
    high = detection is not None and detection.score >= policy.high_priority_threshold
    priority = (detection.score if detection is not None else 1.0) + (1.0 if source == Case.Source.BRAND_REPORT else 0.0)
    case = Case.objects.open().filter(listing=listing).first()
    if case is None:
        case = Case.objects.create(listing=listing, detection=detection, source=source, priority=priority, high_priority=high)
        audit.record("case.open", case, after={"score": priority, "source": source})
    else:
        case.detection, case.priority, case.high_priority = detection, max(case.priority, priority), high
        case.save(update_fields=["detection", "priority", "high_priority"])
    return case


def lease_is_free(case: Case, user, now=None) -> bool:
    now = now or timezone.now()
    return case.assigned_to_id in (None, user.pk) or case.lease_expires_at is None or case.lease_expires_at <= now


@transaction.atomic
def claim_case(case_id: int, *, acting_user) -> Case:
    """Assign the case to the moderator for a lease, unless someone else holds a live lease."""
    case = Case.objects.select_for_update().get(pk=case_id)
    if case.state == Case.State.DECIDED:
        raise CaseUnavailable(f"case #{case.pk} was already decided")
    if not lease_is_free(case, acting_user):
        raise CaseUnavailable(f"case #{case.pk} is being reviewed by {case.assigned_to.get_username()}")
    before = case.assigned_to_id
    case.assigned_to, case.lease_expires_at = acting_user, timezone.now() + settings.CASE_LEASE
    case.save(update_fields=["assigned_to", "lease_expires_at"])
    if before != acting_user.pk:
        audit.record("case.claim", case, actor=acting_user, before={"assigned_to": before}, after={"assigned_to": acting_user.pk})
    return case


def _lock_for_decision(case_id: int, acting_user) -> Case:
    case = Case.objects.select_for_update().select_related("listing__seller").get(pk=case_id)
    if case.state == Case.State.DECIDED:
        raise CaseUnavailable(f"case #{case.pk} was already decided")
    if not lease_is_free(case, acting_user):
        raise CaseUnavailable(f"case #{case.pk} is being reviewed by {case.assigned_to.get_username()}")
    return case


def _decide(case: Case, action: str, reason_code: str, note: str, acting_user) -> Decision:
    decision = Decision.objects.create(case=case, action=action, reason_code=reason_code, note=note, moderator=acting_user)
    before = case.state
    if action == Decision.Action.ESCALATE:
        case.state, case.assigned_to, case.lease_expires_at = Case.State.ESCALATED, None, None
    else:
        case.state, case.closed_at = Case.State.DECIDED, timezone.now()
    case.save(update_fields=["state", "assigned_to", "lease_expires_at", "closed_at"])
    audit.record(f"case.{action}", case, actor=acting_user, before={"state": before},
                 after={"state": case.state, "reason_code": reason_code, "decision": decision.pk})
    return decision


@transaction.atomic
def do_take_down(case_id: int, *, acting_user, reason_code: str = ReasonCode.COUNTERFEIT, note: str = "") -> Decision:
    from anticounterfeit.notifications.actions import notify_seller
    from workers.banks import rebuild_banks

    if reason_code not in TAKEDOWN_REASONS:
        raise ValueError(f"reason_code: '{reason_code}' is not a takedown reason")
    case = _lock_for_decision(case_id, acting_user)
    decision = _decide(case, Decision.Action.TAKEDOWN, reason_code, note, acting_user)
    listing, seller = case.listing, case.listing.seller
    listing_actions.set_status(listing, Listing.Status.REMOVED, acting_user=acting_user, reason=reason_code)
    rating_before = seller.trust_rating
    trust_actions.record_trust_event(seller, TrustEvent.Kind.TAKEDOWN, decision=decision, acting_user=acting_user)
    deadline = timezone.now() + settings.APPEAL_WINDOW
    notify_seller(
        seller, "takedown", listing=listing, decision=decision, appeal_deadline=deadline, acting_user=acting_user,
        context={"reason": ReasonCode(reason_code).label, "brand_name": listing.matched_brand.name if listing.matched_brand else "",
                 "rating_before": rating_before, "rating_after": seller.trust_rating, "tier": seller.trust_tier},
    )
    transaction.on_commit(lambda: rebuild_banks.delay(reason=f"takedown of {listing.listing_key}"))
    return decision


@transaction.atomic
def do_dismiss(case_id: int, *, acting_user, reason_code: str = ReasonCode.GENUINE, note: str = "") -> Decision:
    if reason_code not in DISMISS_REASONS:
        raise ValueError(f"reason_code: '{reason_code}' is not a dismissal reason")
    case = _lock_for_decision(case_id, acting_user)
    decision = _decide(case, Decision.Action.DISMISS, reason_code, note, acting_user)
    listing_actions.set_status(case.listing, Listing.Status.CLEARED, acting_user=acting_user, reason=reason_code)
    trust_actions.record_trust_event(case.listing.seller, TrustEvent.Kind.DISMISSED_FLAG, decision=decision,
                                     acting_user=acting_user)
    return decision


@transaction.atomic
def do_escalate(case_id: int, *, acting_user, note: str = "") -> Decision:
    case = _lock_for_decision(case_id, acting_user)
    if case.state == Case.State.ESCALATED:
        raise CaseUnavailable(f"case #{case.pk} is already escalated")
    return _decide(case, Decision.Action.ESCALATE, ReasonCode.NEEDS_LEAD, note, acting_user)


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
    from anticounterfeit.notifications.actions import notify_seller
    from workers.banks import rebuild_banks

    appeal = Appeal.objects.select_for_update().select_related("decision__case__listing__seller").get(pk=appeal_id)
    if appeal.status != Appeal.Status.OPEN:
        raise ValueError(f"appeal #{appeal.pk} was already decided")
    if appeal.decision.moderator_id == acting_user.pk:
        raise PermissionError("a moderator cannot decide an appeal against their own decision")
    listing, seller = appeal.decision.case.listing, appeal.seller
    appeal.status = Appeal.Status.REINSTATED if reinstate else Appeal.Status.UPHELD
    appeal.decided_by, appeal.decided_at = acting_user, timezone.now()
    appeal.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record("appeal.decide", appeal, actor=acting_user, before={"status": "open"}, after={"status": appeal.status})
    if reinstate:
        listing_actions.set_status(listing, Listing.Status.REINSTATED, acting_user=acting_user, reason="appeal")
        strike = TrustEvent.objects.filter(decision=appeal.decision, kind=TrustEvent.Kind.TAKEDOWN).first()
        trust_actions.record_trust_event(seller, TrustEvent.Kind.REINSTATED, reverses=strike, decision=appeal.decision,
                                         acting_user=acting_user)
        notify_seller(seller, "reinstatement", listing=listing, decision=appeal.decision, acting_user=acting_user,
                      context={"rating_after": seller.trust_rating, "tier": seller.trust_tier})
        transaction.on_commit(lambda: rebuild_banks.delay(reason=f"reinstatement of {listing.listing_key}"))
    else:
        notify_seller(seller, "appeal_outcome", listing=listing, decision=appeal.decision, acting_user=acting_user,
                      context={"note": note})
    return appeal
