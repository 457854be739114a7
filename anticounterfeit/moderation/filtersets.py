"""The queue: which open cases a moderator sees, in which order, with which filters; and its counters.

Every filter maps to an indexed column or a narrow join so the queue stays fast with 100k open cases;
the order (state, priority, opened_at) is the Case index. Priority already encodes recency (actions.case_priority),
so "newer ranks up" costs no re-ranking and no computed ORDER BY.
"""
from datetime import timedelta

from django import forms
from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from anticounterfeit.accounts.models import is_lead
from anticounterfeit.detection.models import DetectionPolicy

from .evidence import SIGNAL_KINDS, signal_filter
from .models import Appeal, Case

AGES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24), "3d": timedelta(days=3),
        "7d": timedelta(days=7)}


class QueueFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    brand = forms.IntegerField(required=False)
    band = forms.ChoiceField(required=False, choices=[("high", "High"), ("medium", "Medium"), ("low", "Low")])
    signal = forms.ChoiceField(required=False, choices=[(k, "OCR" if k == "ocr" else k.capitalize()) for k in SIGNAL_KINDS])
    seller = forms.CharField(required=False, max_length=64)
    age = forms.ChoiceField(required=False, choices=[(k, f"older than {k}") for k in AGES])
    state = forms.ChoiceField(required=False, choices=[("mine", "Assigned to me"), ("unassigned", "Unassigned"),
                                                       ("escalated", "Escalated")])


def queue_cases(user, params, policy: DetectionPolicy) -> tuple[QueueFilterForm, QuerySet]:
    """Open cases for ``user`` filtered by ``params``, highest priority first.

    Moderators see open cases; escalations are the leads' (state=escalated), never mixed into the main queue.
    """
    form = QueueFilterForm(params or None)
    data = form.cleaned_data if form.is_valid() else {}
    state = data.get("state") or ""
    now = timezone.now()
    cases = Case.objects.visible_to(user).select_related(
        "listing__seller", "listing__client", "listing__matched_brand", "assigned_to")
    if state == "escalated" and is_lead(user):
        cases = cases.filter(state=Case.State.ESCALATED)
    else:
        cases = cases.filter(state=Case.State.OPEN)
    if state == "mine":
        cases = cases.filter(assigned_to=user, lease_expires_at__gt=now)
    elif state == "unassigned":
        cases = cases.filter(Q(assigned_to__isnull=True) | Q(lease_expires_at__lte=now))
    if q := (data.get("q") or "").strip():
        cases = cases.filter(Q(listing__listing_key=q) | Q(listing__seller__seller_key=q) | Q(listing__title__icontains=q))
    if data.get("brand"):
        cases = cases.filter(listing__matched_brand_id=data["brand"])
    if band := data.get("band"):
        high, review = policy.high_priority_threshold, policy.review_threshold
        cases = cases.filter(**{"high": {"listing__score__gte": high},
                                "medium": {"listing__score__gte": review, "listing__score__lt": high},
                                "low": {"listing__score__lt": review}}[band])
    if data.get("signal"):
        cases = cases.filter(signal_filter(data["signal"]))
    if seller := (data.get("seller") or "").strip():
        cases = cases.filter(listing__seller__seller_key=seller)
    if data.get("age"):
        cases = cases.filter(opened_at__lte=now - AGES[data["age"]])
    return form, cases.order_by("-priority", "opened_at", "pk")


def counters(user) -> dict:
    """Open, mine, escalated, appeals and the oldest open case (SLA), in two queries."""
    now = timezone.now()
    agg = Case.objects.open().aggregate(
        open=Count("pk", filter=Q(state=Case.State.OPEN)),
        mine=Count("pk", filter=Q(assigned_to=user, lease_expires_at__gt=now)),
        escalated=Count("pk", filter=Q(state=Case.State.ESCALATED)),
        oldest=Min("opened_at"),
    )
    agg["appeals"] = Appeal.objects.filter(status=Appeal.Status.OPEN).count()
    agg["oldest_age"] = (now - agg["oldest"]) if agg["oldest"] else None
    agg["sla_breached"] = bool(agg["oldest_age"] and agg["oldest_age"] > settings.CASE_SLA)
    return agg


def querystring(params, **changes) -> str:
    """The current filters with ``changes`` applied (None removes a key), for pagination links."""
    q = params.copy()
    for key, value in changes.items():
        q.pop(key, None)
        if value is not None:
            q[key] = value
    return q.urlencode()
