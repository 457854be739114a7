"""Moderation console: the queue, the case page and decisions. Views parse, call actions, render."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from anticounterfeit.accounts.models import STAFF_ROLES
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.catalog.models import Brand, ReferenceItem
from anticounterfeit.core import audit
from anticounterfeit.core.models import AuditEvent

from . import actions
from .forms import DecisionForm, QueueFilterForm
from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Case, Decision, ReasonCode

staff_required = role_required(*STAFF_ROLES)


def _queue(request):
    form = QueueFilterForm(request.GET or None)
    cases = Case.objects.visible_to(request.user).open().select_related(
        "listing__seller", "listing__matched_brand", "assigned_to", "detection")
    state = ""
    if form.is_valid():
        data = form.cleaned_data
        state = data.get("state") or ""
        if data.get("q"):
            q = data["q"]
            cases = cases.filter(Q(listing__listing_key=q) | Q(listing__seller__seller_key=q) | Q(listing__title__icontains=q))
        if data.get("brand"):
            cases = cases.filter(listing__matched_brand_id=data["brand"])
        if data.get("min_score") is not None:
            cases = cases.filter(listing__score__gte=data["min_score"])
    if state == "escalated":
        cases = cases.filter(state=Case.State.ESCALATED)
    elif state == "mine":
        cases = cases.filter(assigned_to=request.user)
    elif state == "unassigned":
        cases = cases.filter(Q(assigned_to__isnull=True) | Q(lease_expires_at__lt=timezone.now()))
    return form, cases.order_by("-priority", "opened_at", "pk")


@staff_required
def queue(request):
    form, cases = _queue(request)
    page = Paginator(cases, 25).get_page(request.GET.get("page"))
    open_cases = Case.objects.open()
    oldest = open_cases.order_by("opened_at").values_list("opened_at", flat=True).first()
    counters = {
        "open": open_cases.count(),
        "mine": open_cases.filter(assigned_to=request.user).count(),
        "escalated": open_cases.filter(state=Case.State.ESCALATED).count(),
        "oldest": oldest,
    }
    return render(request, "moderation/queue.html", {
        "form": form, "page": page, "counters": counters, "brands": Brand.objects.all(), "now": timezone.now(),
    })


@staff_required
def next_case(request):
    _, cases = _queue(request)
    for case in cases.filter(Q(assigned_to__isnull=True) | Q(assigned_to=request.user) |
                             Q(lease_expires_at__lt=timezone.now()))[:20]:
        return redirect("moderation:case", pk=case.pk)
    messages.info(request, "The queue is empty. Nice work.")
    return redirect("moderation:queue")


def _match_rows(case):
    """Pair each match with its reference and image, strongest first, for side-by-side evidence."""
    detection = case.detection
    if detection is None:
        return []
    matches = sorted(detection.matches, key=lambda m: -m["score"])
    refs = {r.ref_key: r for r in ReferenceItem.objects.filter(
        ref_key__in={m["ref_id"] for m in matches}).select_related("brand").prefetch_related("images")}
    listing_images = list(case.listing.images.all())
    rows, seen = [], set()
    for m in matches:
        key = (m["kind"], m["ref_id"], m.get("listing_image"), m.get("ref_image"))
        if key in seen:
            continue
        seen.add(key)
        ref = refs.get(m["ref_id"])
        ref_images = list(ref.images.all()) if ref else []
        ref_index = m.get("ref_image") or 0
        li = m.get("listing_image")
        rows.append({
            "match": m, "reference": ref,
            "ref_image": ref_images[ref_index] if ref_index < len(ref_images) else (ref_images[0] if ref_images else None),
            "listing_image": listing_images[li] if li is not None and li < len(listing_images) else None,
            "box": _box_style(m.get("box")),
        })
    return rows[:8]


def _box_style(box):
    if not box:
        return ""
    x0, y0, x1, y1 = box
    return f"left:{x0 * 100:.1f}%;top:{y0 * 100:.1f}%;width:{(x1 - x0) * 100:.1f}%;height:{(y1 - y0) * 100:.1f}%"


@staff_required
def case_detail(request, pk: int):
    case = get_object_or_404(Case.objects.visible_to(request.user).select_related(
        "listing__seller", "listing__matched_brand", "detection", "assigned_to"), pk=pk)
    if case.state != Case.State.DECIDED:
        try:
            case = actions.claim_case(case.pk, acting_user=request.user)
        except actions.CaseUnavailable as exc:
            messages.warning(request, str(exc))
    listing, seller = case.listing, case.listing.seller
    audit.record("seller.view", seller, actor=request.user, after={"case": case.pk})
    history = AuditEvent.objects.filter(
        Q(object_type="listings.listing", object_id=str(listing.pk)) | Q(object_type="moderation.case",
                                                                          object_id=str(case.pk)))[:30]
    price_ratio = None
    ref_msrp = None
    rows = _match_rows(case)
    for row in rows:
        if row["reference"] is not None and row["reference"].msrp:
            ref_msrp = row["reference"].msrp
            break
    if ref_msrp and listing.price is not None:
        price_ratio = float(listing.price) / float(ref_msrp)
    return render(request, "moderation/case.html", {
        "case": case, "listing": listing, "seller": seller, "rows": rows, "history": history,
        "decisions": case.decisions.select_related("moderator"), "form": DecisionForm(),
        "takedown_reasons": [(r.value, r.label) for r in TAKEDOWN_REASONS],
        "dismiss_reasons": [(r.value, r.label) for r in DISMISS_REASONS],
        "ref_msrp": ref_msrp, "price_ratio": price_ratio,
        "seller_open_cases": Case.objects.open().filter(listing__seller=seller).exclude(pk=case.pk).count(),
        "authorized": seller.authorizations.filter(brand=listing.matched_brand).exists() if listing.matched_brand else False,
        "i_hold_lease": case.assigned_to_id == request.user.pk,
    })


@staff_required
def decide(request, pk: int):
    if request.method != "POST":
        return HttpResponseBadRequest("POST only")
    case = get_object_or_404(Case.objects.visible_to(request.user), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("moderation:case", pk=case.pk)
    data = form.cleaned_data
    try:
        if data["action"] == Decision.Action.TAKEDOWN:
            actions.do_take_down(case.pk, acting_user=request.user, reason_code=data["reason_code"], note=data["note"])
        elif data["action"] == Decision.Action.DISMISS:
            actions.do_dismiss(case.pk, acting_user=request.user, reason_code=data["reason_code"], note=data["note"])
        else:
            actions.do_escalate(case.pk, acting_user=request.user, note=data["note"])
    except actions.CaseUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("moderation:queue")
    label = {"takedown": "taken down", "dismiss": "dismissed", "escalate": "escalated"}[data["action"]]
    messages.success(request, f"Case #{case.pk} ({case.listing.listing_key}) {label}.")
    return redirect("moderation:next")


REASON_LABELS = dict(ReasonCode.choices)
