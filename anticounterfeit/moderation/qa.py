"""Reviewer QA: blind second reviews of a share of decisions and of golden cases, and the figures per moderator.

Routing happens inside the decision's transaction (``route_decision``); answering never changes the listing: a
disagreement goes to a lead, who says which review was right.
"""
import random
from dataclasses import dataclass
from statistics import median

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from anticounterfeit.accounts.models import STAFF_ROLES, is_lead, is_staff_role
from anticounterfeit.core import audit

from .models import Appeal, Case, Decision, GoldenCase, QAReview

FINAL = (Decision.Action.TAKEDOWN, Decision.Action.DISMISS)


def _moderators():
    """Active staff who review cases (moderators, leads, admins with a profile)."""
    return get_user_model().objects.filter(is_active=True, profile__role__in=STAFF_ROLES)


def _second_reviewer(exclude_ids: set[int]):
    """Another moderator: the one with the fewest pending reviews (ties broken at random)."""
    candidates = list(_moderators().exclude(pk__in=exclude_ids)
                      .annotate(pending=Count("qa_reviews", filter=Q(qa_reviews__answered_at__isnull=True))))
    if not candidates:
        return None
    fewest = min(c.pending for c in candidates)
    return random.choice([c for c in candidates if c.pending == fewest])


def route_decision(decision: Decision, *, rng: random.Random | None = None) -> QAReview | None:
    """Send a moderator's final decision to a blind second review with probability ``QA_SAMPLE_RATE``, and
    always when the case is golden. Called inside the decision's transaction."""
    if decision.action not in FINAL or not is_staff_role(decision.moderator):
        return None  # escalations, and brands' self-service removals, are not moderator work to check
    golden = GoldenCase.objects.filter(case_id=decision.case_id).exists()
    if not golden and (rng or random).random() >= settings.QA_SAMPLE_RATE:
        return None
    reviewer = _second_reviewer({decision.moderator_id})
    if reviewer is None:
        return None
    review = QAReview.objects.create(kind=QAReview.Kind.SAMPLE, case_id=decision.case_id, reference=decision,
                                     reviewer=reviewer)
    audit.record("qa.route", review, after={"decision": decision.pk, "reviewer": reviewer.pk, "golden": golden})
    return review


@transaction.atomic
def mark_golden(case: Case, *, acting_user) -> GoldenCase:
    """A lead makes a decided case a reference answer; every other moderator gets it as a blind golden review."""
    if not is_lead(acting_user):
        raise PermissionError("only a lead can mark golden cases")
    if case.state != Case.State.DECIDED:
        raise ValueError(f"case #{case.pk} is not decided")
    decision = case.decisions.filter(action__in=FINAL).order_by("-created_at", "-pk").first()
    golden, created = GoldenCase.objects.get_or_create(case=case, defaults={"decision": decision,
                                                                            "marked_by": acting_user})
    if created:
        audit.record("qa.golden_mark", golden, actor=acting_user,
                     after={"case": case.pk, "answer": decision.action, "reason_code": decision.reason_code})
        for moderator in _moderators().exclude(pk=decision.moderator_id):
            QAReview.objects.get_or_create(kind=QAReview.Kind.GOLDEN, case=case, reference=decision,
                                           reviewer=moderator)
    return golden


def _agrees(review: QAReview) -> bool:
    return review.answer_action == review.reference.action


@transaction.atomic
def answer_review(review_id: int, *, acting_user, action: str, reason_code: str, note: str = "") -> QAReview:
    """The second reviewer's blind answer; a disagreement goes to the leads' list."""
    review = QAReview.objects.select_for_update().select_related("reference").get(pk=review_id)
    if review.reviewer_id != acting_user.pk:
        raise PermissionError("this QA review is assigned to another moderator")
    if review.answered_at is not None:
        raise ValueError(f"QA review #{review.pk} was already answered")
    if action not in FINAL:
        raise ValueError(f"action: '{action}' is not takedown or dismiss")
    review.answer_action, review.answer_reason, review.note = action, reason_code, note
    review.answered_at = timezone.now()
    review.outcome = QAReview.Outcome.AGREE if _agrees(review) else QAReview.Outcome.DISAGREE
    review.save(update_fields=["answer_action", "answer_reason", "note", "answered_at", "outcome"])
    audit.record("qa.answer", review, actor=acting_user, after={"outcome": review.outcome, "action": action})
    return review


@transaction.atomic
def resolve_disagreement(review_id: int, *, acting_user, resolution: str) -> QAReview:
    if not is_lead(acting_user):
        raise PermissionError("only a lead resolves QA disagreements")
    review = QAReview.objects.select_for_update().get(pk=review_id)
    if review.outcome != QAReview.Outcome.DISAGREE or review.resolution:
        raise ValueError(f"QA review #{review.pk} has no open disagreement")
    if resolution not in (QAReview.Resolution.FIRST, QAReview.Resolution.SECOND):
        raise ValueError("resolution: first or second")
    review.resolution, review.resolved_by, review.resolved_at = resolution, acting_user, timezone.now()
    review.save(update_fields=["resolution", "resolved_by", "resolved_at"])
    audit.record("qa.resolve", review, actor=acting_user, after={"resolution": resolution})
    return review


@dataclass
class ModeratorFigures:
    user_id: int
    username: str
    decisions: int
    agreement_rate: float | None
    agreement_n: int
    golden_accuracy: float | None
    golden_n: int
    appeal_reversal_rate: float | None
    takedowns: int
    median_minutes_per_case: float | None


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def moderator_figures(user) -> ModeratorFigures:
    """Agreement in blind second reviews (as first decider or as second reviewer), golden accuracy, how often
    the moderator's takedowns were reversed on appeal, and the median time from claiming a case to deciding it."""
    answered = QAReview.objects.exclude(outcome=QAReview.Outcome.PENDING)
    sample = answered.filter(kind=QAReview.Kind.SAMPLE).filter(Q(reference__moderator=user) | Q(reviewer=user))
    agree = sample.filter(outcome=QAReview.Outcome.AGREE).count()
    golden = answered.filter(kind=QAReview.Kind.GOLDEN, reviewer=user)
    decisions = Decision.objects.filter(moderator=user, action__in=FINAL)
    takedowns = decisions.filter(action=Decision.Action.TAKEDOWN)
    reversed_ = Appeal.objects.filter(decision__in=takedowns, status=Appeal.Status.REINSTATED).count()
    minutes = []
    for decided_at, lease_end in decisions.exclude(case__lease_expires_at=None).values_list(
            "created_at", "case__lease_expires_at")[:5000]:
        claimed = lease_end - settings.CASE_LEASE  # the last claim before deciding
        if decided_at >= claimed:
            minutes.append((decided_at - claimed).total_seconds() / 60)
    sample_n = sample.count()
    golden_n = golden.count()
    return ModeratorFigures(
        user_id=user.pk, username=user.get_username(), decisions=decisions.count(),
        agreement_rate=_rate(agree, sample_n), agreement_n=sample_n,
        golden_accuracy=_rate(golden.filter(outcome=QAReview.Outcome.AGREE).count(), golden_n), golden_n=golden_n,
        appeal_reversal_rate=_rate(reversed_, takedowns.count()), takedowns=takedowns.count(),
        median_minutes_per_case=round(median(minutes), 1) if minutes else None)


def figures_visible_to(user) -> list[ModeratorFigures]:
    """Leads see every moderator's figures; a moderator sees only their own."""
    people = _moderators().order_by("username") if is_lead(user) else [user]
    return [moderator_figures(person) for person in people]
