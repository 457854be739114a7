"""Moderation console: queue, case page, decisions, bulk decisions, appeals, thresholds and dashboard.

Views parse, check the role, call an action and render; the queue lives in filtersets, the evidence in evidence.
"""
import math

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from anticounterfeit.accounts.models import LEAD_ROLES, STAFF_ROLES, is_lead
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.catalog import actions as catalog_actions
from anticounterfeit.catalog.models import Brand, ReferenceItem
from anticounterfeit.core import audit
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection import actions as detection_actions
from anticounterfeit.detection import backtests
from anticounterfeit.detection.models import AllowRule, BrandPolicy, DetectionPolicy

from . import actions, consequences, evidence
from .dashboard import dashboard_data
from .filtersets import counters, querystring, queue_cases
from .forms import AppealDecisionForm, BrandThresholdForm, BulkForm, DecisionForm, PolicyForm, QuarantineForm
from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Appeal, Case, Decision, QAReview
from .thumbnails import attach_thumbnails

staff_required = role_required(*STAFF_ROLES)
lead_required = role_required(*LEAD_ROLES)
PAGE_SIZE = 25
TRAIL = 50  # cases remembered per session for k (previous) and j (skip to an unseen case)


def _claimable(user) -> Q:
    return Q(assigned_to__isnull=True) | Q(assigned_to=user) | Q(lease_expires_at__lte=timezone.now())


def _is_htmx(request, target: str) -> bool:
    """An htmx request swapping ``target`` (not a history restore, which wants the whole page)."""
    return (request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == target
            and not request.headers.get("HX-History-Restore-Request"))


def _vary_on_htmx(response):
    patch_vary_headers(response, ["HX-Request", "HX-Target"])  # one URL, two bodies: caches must tell them apart
    return response


@staff_required
def queue(request):
    """The queue page; filters and pagination ask htmx for the results table only (the URL is pushed, so links,
    reloads and the back button give the same page without JavaScript)."""
    policy = DetectionPolicy.current()
    form, cases = queue_cases(request.user, request.GET, policy)
    if request.session.get("queue_params") != request.GET.urlencode():  # n / next-after-decision keep these filters
        request.session["queue_params"] = request.GET.urlencode()
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # evaluated once: the thumbnails are set on these rows
    attach_thumbnails(page.object_list)
    context = {
        "form": form, "page": page, "now": timezone.now(), "policy": policy,
        "prev_qs": querystring(request.GET, page=page.previous_page_number()) if page.has_previous() else "",
        "next_qs": querystring(request.GET, page=page.next_page_number()) if page.has_next() else "",
    }
    if _is_htmx(request, "queue-results"):
        return _vary_on_htmx(render(request, "moderation/_queue_results.html", context))
    lead = is_lead(request.user)
    context.update({
        "counters": counters(request.user), "brands": Brand.objects.all(), "is_lead": lead,
        "escalations": list(Case.objects.filter(state=Case.State.ESCALATED).select_related(
            "listing__seller", "listing__matched_brand").order_by("-priority", "opened_at")[:5]) if lead else [],
        "appeals": list(Appeal.objects.filter(status=Appeal.Status.OPEN).select_related(
            "decision__case__listing", "seller")[:5]) if lead else [],
    })
    return _vary_on_htmx(render(request, "moderation/queue.html", context))


@staff_required
def queue_counters(request):
    """The counters strip alone, polled by the queue page so the SLA and open counts stay current."""
    return render(request, "moderation/_counters.html", {"counters": counters(request.user)})


def _decidable_appeals(user):
    return Appeal.objects.visible_to(user).filter(status=Appeal.Status.OPEN).exclude(decision__moderator=user)


@staff_required
def next_case(request):
    """The highest-priority case this moderator may take; ``skip=1`` also passes over cases seen this session.

    Leads get escalations first, then the oldest appeal they may decide, then the queue.
    """
    params = QueryDict(request.session.get("queue_params", ""))
    policy = DetectionPolicy.current()
    lead = is_lead(request.user) and not params.get("state")
    seen = request.session.get("case_trail", []) if request.GET.get("skip") else []
    if lead:
        escalated = queue_cases(request.user, {"state": "escalated"}, policy)[1]
        pk = escalated.filter(_claimable(request.user)).exclude(pk__in=seen).values_list("pk", flat=True).first()
        if pk is not None:
            return redirect("moderation:case", pk=pk)
        appeal_pk = _decidable_appeals(request.user).order_by("created_at", "pk").values_list("pk", flat=True).first()
        if appeal_pk is not None:
            return redirect("moderation:appeal", pk=appeal_pk)
    cases = queue_cases(request.user, params, policy)[1]
    pk = cases.filter(_claimable(request.user)).exclude(pk__in=seen).values_list("pk", flat=True).first()
    if pk is not None:
        return redirect("moderation:case", pk=pk)
    messages.info(request, "The queue is empty. Nice work.")
    return redirect("moderation:queue")


def _remember(request, pk: int) -> int | None:
    """Record the visit in the session trail and return the case visited before it (for k)."""
    trail = [p for p in request.session.get("case_trail", [])]
    if pk in trail:
        trail = trail[: trail.index(pk) + 1]
    else:
        trail = (trail + [pk])[-TRAIL:]
    request.session["case_trail"] = trail
    return trail[-2] if len(trail) > 1 else None


@staff_required
def case_detail(request, pk: int):
    case = get_object_or_404(Case.objects.visible_to(request.user).select_related(
        "listing__seller__client", "listing__matched_brand", "detection", "assigned_to"), pk=pk)
    blind = QAReview.objects.for_reviewer(request.user).filter(case=case).first()
    if blind is not None:  # the case page shows its decisions: a pending second review stays blind
        return redirect("moderation:qa_review", pk=blind.pk)
    if case.state != Case.State.DECIDED:
        try:
            claimed = actions.claim_case(case.pk, acting_user=request.user)
        except actions.CaseUnavailable as exc:
            messages.warning(request, str(exc))
        else:
            case.state, case.assigned_to, case.lease_expires_at = claimed.state, request.user, claimed.lease_expires_at
    listing, seller = case.listing, case.listing.seller
    audit.record("seller.view", seller, actor=request.user, after={"case": case.pk})
    rows = evidence.match_rows(case)
    brands = evidence.brand_infos(evidence.brands_for(listing, rows))
    detection = case.detection
    return render(request, "moderation/case.html", {
        "case": case, "listing": listing, "seller": seller, "rows": rows,
        "title_html": evidence.highlight(listing.title, brands),
        "description_html": evidence.highlight(listing.description, brands),
        "ocr": evidence.ocr_texts(detection, listing, brands),
        "signals": evidence.signal_lines(detection.signals) if detection else [],
        "explanation": evidence.explanation_lines(detection.explanation) if detection else [],
        "price": evidence.price_context(listing, rows),
        "card": evidence.seller_card(seller, listing, case, request.user),
        **_lease_context(case, request.user),
        "history": evidence.history(listing),
        **(_consequences_context(case) if case.state == Case.State.DECIDED else {}),
        "form": DecisionForm(),
        "takedown_reasons": [(r.value, r.label) for r in TAKEDOWN_REASONS],
        "dismiss_reasons": [(r.value, r.label) for r in DISMISS_REASONS],
        "allow_scopes": AllowRule.Scope.choices,
        "i_hold_lease": case.assigned_to_id == request.user.pk and case.state != Case.State.DECIDED,
        "prev_pk": _remember(request, case.pk),
        "is_lead": is_lead(request.user),
    })


def _lease_context(case: Case, user) -> dict:
    """Who holds the case and for how long, for the lease strip the case page polls."""
    now = timezone.now()
    live = case.lease_expires_at is not None and case.lease_expires_at > now
    return {"lease": {
        "mine": live and case.assigned_to_id == user.pk,
        "other": case.assigned_to if live and case.assigned_to_id not in (None, user.pk) else None,
        "expires_at": case.lease_expires_at,
        "minutes_left": max(0, math.ceil((case.lease_expires_at - now).total_seconds() / 60)) if live else 0,
        "is_lead": is_lead(user),
    }}


@staff_required
def case_consequences(request, pk: int):
    """What the case's decision set off (polled by the decided case page until it has all arrived)."""
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    return render(request, "moderation/_consequences.html", _consequences_context(case))


def _consequences_context(case: Case) -> dict:
    decision = (Decision.objects.filter(case=case, action__in=[Decision.Action.TAKEDOWN, Decision.Action.DISMISS])
                .select_related("case__listing").order_by("-pk").first())
    if decision is None:
        return {"case": case, "consequences": [], "polling": False}
    found = consequences.of_decision(decision)
    return {"case": case, "consequences": found, "polling": consequences.still_arriving(decision, found)}


@staff_required
def lease_status(request, pk: int):
    """The case's lease strip alone (polled by the case page): a moderator sees when their hold runs out."""
    case = get_object_or_404(Case.objects.visible_to(request.user).select_related("assigned_to"), pk=pk)
    return render(request, "moderation/_lease.html", {"case": case, **_lease_context(case, request.user)})


@staff_required
@require_POST
def claim(request, pk: int):
    """Extend (or take again) the lease on a case; htmx swaps the strip, a plain form returns to the case."""
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    error, held_before = "", case.assigned_to_id
    try:
        case = actions.claim_case(case.pk, acting_user=request.user)
    except actions.CaseUnavailable as exc:
        error = str(exc)
    if _is_htmx(request, "lease"):
        case = Case.objects.select_related("assigned_to").get(pk=case.pk)
        response = render(request, "moderation/_lease.html",
                          {"case": case, "error": error, **_lease_context(case, request.user)})
        if not error and held_before != request.user.pk:
            response["HX-Refresh"] = "true"  # the page was rendered locked: reload it with the decision form
        return _vary_on_htmx(response)
    if error:  # the case page says why (its own claim fails the same way)
        return redirect("moderation:case", pk=case.pk)
    messages.success(request, f"Case #{case.pk} is yours until {timezone.localtime(case.lease_expires_at):%H:%M}.")
    return redirect("moderation:case", pk=case.pk)


@staff_required
@require_POST
def decide(request, pk: int):
    case = get_object_or_404(Case.objects.visible_to(request.user).select_related("listing"), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("moderation:case", pk=case.pk)
    data = form.cleaned_data
    try:
        if data["action"] == Decision.Action.TAKEDOWN:
            decision = actions.do_take_down(case.pk, acting_user=request.user, reason_code=data["reason_code"],
                                            note=data["note"])
        elif data["action"] == Decision.Action.DISMISS:
            decision = actions.do_dismiss(case.pk, acting_user=request.user, reason_code=data["reason_code"],
                                          note=data["note"])
        else:
            decision = actions.do_escalate(case.pk, acting_user=request.user, note=data["note"])
    except actions.CaseUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("moderation:queue")
    label = {"takedown": "taken down", "dismiss": "dismissed", "escalate": "escalated"}[data["action"]]
    messages.success(request, format_html('Case <a href="{}">#{}</a> ({}) {}: its consequences arrive on its page.',
                                          reverse("moderation:case", args=[case.pk]), case.pk,
                                          case.listing.listing_key, label)
                     if decision.action != Decision.Action.ESCALATE else f"Case #{case.pk} ({case.listing.listing_key}) {label}.")
    if data["allow"] and decision.action == Decision.Action.DISMISS:  # the dismissal stands even when there is nothing to allow
        try:
            rules = detection_actions.add_allow_rule_from_dismissal(decision.pk, data["allow"], acting_user=request.user)
        except ValueError as exc:
            messages.warning(request, f"No allow rule added: {exc}")
        else:
            messages.success(request, f"Allowed from now on: {'; '.join(str(r) for r in rules)}.")
    return redirect("moderation:next")


@staff_required
def bulk(request, pk: int):
    """Confirm, then decide every open case of the same seller or sharing the same images.

    The confirmation lists the exact cases; the POST decides only those still in scope, so nothing added in
    between is decided unseen.
    """
    case = get_object_or_404(Case.objects.visible_to(request.user).select_related("listing__seller"), pk=pk)
    form = BulkForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    data = form.cleaned_data
    in_scope = evidence.related_open_cases(case, data["scope"], request.user)
    if request.method == "POST" and request.POST.get("confirm"):
        chosen = list(in_scope.filter(pk__in=data["ids"]).values_list("pk", flat=True))
        decided, skipped = actions.bulk_decide(chosen, action=data["action"], acting_user=request.user,
                                               reason_code=data["reason_code"], note=data["note"], anchor=case)
        verb = "taken down" if data["action"] == Decision.Action.TAKEDOWN else "dismissed"
        messages.success(request, f"{len(decided)} case{'s' if len(decided) != 1 else ''} {verb}."
                         + (f" {len(skipped)} skipped (held by another moderator or already decided)." if skipped else ""))
        return redirect("moderation:next")
    cases = list(in_scope.select_related("listing__seller", "listing__matched_brand")[:actions.BULK_LIMIT])
    reasons = TAKEDOWN_REASONS if data["action"] == Decision.Action.TAKEDOWN else DISMISS_REASONS
    return render(request, "moderation/bulk.html", {
        "case": case, "cases": cases, "count": len(cases), "data": data, "ids": ",".join(str(c.pk) for c in cases),
        "reasons": [(r.value, r.label) for r in reasons],
    })


@lead_required
def appeals(request):
    items = Appeal.objects.visible_to(request.user).filter(status=Appeal.Status.OPEN).select_related(
        "decision__case__listing__matched_brand", "decision__moderator", "seller")
    return render(request, "moderation/appeals.html", {"appeals": items[:200]})


@lead_required
def appeal_detail(request, pk: int):
    appeal = get_object_or_404(Appeal.objects.visible_to(request.user).select_related(
        "decision__moderator", "decision__case__detection", "decision__case__listing__seller",
        "decision__case__listing__matched_brand", "seller", "decided_by"), pk=pk)
    case = appeal.decision.case
    listing = case.listing
    audit.record("seller.view", appeal.seller, actor=request.user, after={"appeal": appeal.pk})
    rows = evidence.match_rows(case)
    brands = evidence.brand_infos(evidence.brands_for(listing, rows))
    return render(request, "moderation/appeal.html", {
        "appeal": appeal, "case": case, "listing": listing, "seller": appeal.seller, "rows": rows,
        "title_html": evidence.highlight(listing.title, brands),
        "description_html": evidence.highlight(listing.description, brands),
        "ocr": evidence.ocr_texts(case.detection, listing, brands),
        "signals": evidence.signal_lines(case.detection.signals) if case.detection else [],
        "explanation": evidence.explanation_lines(case.detection.explanation) if case.detection else [],
        "price": evidence.price_context(listing, rows),
        "history": evidence.history(listing),
        "own_decision": appeal.decision.moderator_id == request.user.pk,
        "form": AppealDecisionForm(),
    })


@lead_required
@require_POST
def appeal_decide(request, pk: int):
    appeal = get_object_or_404(Appeal.objects.visible_to(request.user), pk=pk)
    form = AppealDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose uphold or reinstate.")
        return redirect("moderation:appeal", pk=appeal.pk)
    reinstate = form.cleaned_data["outcome"] == "reinstate"
    try:
        actions.decide_appeal(appeal.pk, acting_user=request.user, reinstate=reinstate, note=form.cleaned_data["note"])
    except (PermissionError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("moderation:appeal", pk=appeal.pk)
    messages.success(request, f"Appeal #{appeal.pk}: {'listing reinstated' if reinstate else 'takedown upheld'}.")
    return redirect("moderation:appeals")


@lead_required
def policy_settings(request):
    policy = DetectionPolicy.current()
    form = PolicyForm(request.POST or None, initial={"review_threshold": policy.review_threshold,
                                                     "high_priority_threshold": policy.high_priority_threshold})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                backtests.record_override(f"global thresholds {form.cleaned_data}", acting_user=request.user,
                                          obj=policy, reason=request.POST.get("override_reason", ""))
                detection_actions.update_detection_policy(acting_user=request.user, **form.cleaned_data)
        except backtests.ActivationRefused as exc:
            form.add_error(None, f"{exc} (Backtests page).")
        else:
            messages.success(request, "Thresholds saved. New scans use them now.")
            return redirect("moderation:settings")
    changes = AuditEvent.objects.filter(action="policy.update").order_by("-created_at")[:10]
    return render(request, "moderation/settings.html", {
        "form": form, "policy": policy, "changes": changes, "brand_form": BrandThresholdForm(),
        "overrides": BrandPolicy.objects.filter(review_threshold__isnull=False).select_related("brand").order_by("brand__name"),
    })


@lead_required
@require_POST
def brand_threshold(request):
    form = BrandThresholdForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("moderation:settings")
    brand, value = form.cleaned_data["brand"], form.cleaned_data["review_threshold"]
    try:
        with transaction.atomic():
            backtests.record_override(f"{brand.brand_key} review threshold {value}", acting_user=request.user,
                                      obj=brand, reason=request.POST.get("override_reason", ""))
            detection_actions.set_brand_threshold(brand, value, acting_user=request.user)
    except ValueError as exc:  # ActivationRefused included
        messages.error(request, str(exc))
        return redirect("moderation:settings")
    messages.success(request, f"{brand.name}: review threshold {value if value is not None else 'back to the global value'}.")
    return redirect("moderation:settings")


@lead_required
def noisy(request):
    return render(request, "moderation/noisy.html", {"rows": detection_actions.noisy_references()})


@lead_required
@require_POST
def quarantine(request, pk: int):
    reference = get_object_or_404(ReferenceItem, pk=pk)
    form = QuarantineForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("quarantined: choose 1 or 0")
    catalog_actions.set_quarantine(reference, form.cleaned_data["quarantined"], acting_user=request.user)
    state = "quarantined" if reference.quarantined else "back in the banks"
    messages.success(request, f"Reference {reference.ref_key} {state}; the live banks follow at once.")
    return redirect("moderation:noisy")


@lead_required
def dashboard(request):
    return render(request, "moderation/dashboard.html", {"d": dashboard_data(), "queue_url": reverse("moderation:queue")})
