"""Brand portal: a brand owner manages its own brands' catalog and sees only listings matched to them.

Every lookup goes through ``visible_to(request.user)``: another brand's object is a 404.
"""
import csv
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from anticounterfeit.accounts.models import Role, is_staff_role
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.core import audit
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.models import Detection
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.evidence import explanation_lines
from anticounterfeit.moderation.models import Decision

from . import actions
from .accuracy import accuracy_of, report_outcomes
from .forms import (
    AuthorizedSellersForm,
    CsvUploadForm,
    FolderUploadForm,
    MatchFilterForm,
    ProfileForm,
    ReferenceForm,
    ReportForm,
    ZipUploadForm,
    lines,
)
from .models import AuthorizedSeller, Brand, BrandReport, ImportJob, ReferenceItem

portal_role = role_required(Role.BRAND_OWNER, Role.ADMIN)
WEEKS = 12


def matched_listings(user):
    brands = Brand.objects.visible_to(user)
    return (Listing.objects.visible_to(user).filter(matched_brand__in=brands).exclude(status=Listing.Status.PENDING)
            .select_related("matched_brand", "seller"))


@portal_role
def portal(request):
    brands = list(Brand.objects.visible_to(request.user))
    listings = matched_listings(request.user)
    history = AuditEvent.objects.filter(action="brand.self_service", object_type="catalog.brand",
                                        object_id__in=[str(b.pk) for b in brands])[:20]
    return render(request, "catalog/portal.html", {
        "brands": [(b, accuracy_of(b)) for b in brands], "history": history,
        "reference_count": ReferenceItem.objects.visible_to(request.user).count(),
        "matched": listings.count(), "top": listings.order_by("-score")[:10],
        "removed": listings.filter(status=Listing.Status.REMOVED).count(),
        "in_review": listings.filter(status=Listing.Status.IN_REVIEW).count(),
        "reports": BrandReport.objects.visible_to(request.user).count(),
        "charts": weekly_charts(request.user, brands),
        "jobs": ImportJob.objects.visible_to(request.user).select_related("brand")[:5],
    })


def weekly_charts(user, brands) -> list[dict]:
    """Matches, takedowns and reports per week, and the share of decided reports confirmed, as bar series."""

    since = timezone.now() - timedelta(weeks=WEEKS)
    weeks = [(timezone.now() - timedelta(weeks=n)).date() for n in range(WEEKS - 1, -1, -1)]
    weeks = [w - timedelta(days=w.weekday()) for w in weeks]

    def per_week(qs, field):
        rows = qs.filter(**{f"{field}__gte": since}).annotate(week=TruncWeek(field)).values("week").annotate(n=Count("id"))
        counts = {r["week"].date(): r["n"] for r in rows}
        return [counts.get(w, 0) for w in weeks]

    matches = per_week(matched_listings(user), "created_at")
    takedowns = per_week(Decision.objects.filter(action=Decision.Action.TAKEDOWN, case__listing__matched_brand__in=brands),
                         "created_at")
    reports = BrandReport.objects.visible_to(user)
    reported = per_week(reports, "created_at")
    confirmed = per_week(reports.filter(case__decisions__action=Decision.Action.TAKEDOWN), "created_at")
    accuracy = [round(100 * c / r) if r else 0 for c, r in zip(confirmed, reported, strict=True)]
    series = [("Matches", matches, ""), ("Takedowns", takedowns, ""), ("Reports", reported, ""),
              ("Reports confirmed", accuracy, "%")]
    charts = []
    for title, values, unit in series:
        top = max(values) or 1
        bars = [{"week": w, "value": v, "height": round(60 * v / top), "y": 64 - round(60 * v / top), "x": 4 + i * 22}
                for i, (w, v) in enumerate(zip(weeks, values, strict=True))]
        charts.append({"title": title, "bars": bars, "unit": unit, "total": sum(values) if not unit else None})
    return charts


@portal_role
def profile(request, pk: int):
    brand = get_object_or_404(Brand.objects.visible_to(request.user), pk=pk)
    form = ProfileForm(request.POST or None, initial=ProfileForm.initial_for(brand))
    if request.method == "POST" and form.is_valid():
        job = actions.update_brand_profile(brand, acting_user=request.user, **form.cleaned_lists())
        if job is None:
            messages.success(request, "Profile saved.")
        else:
            messages.success(request, format_html(
                'Profile saved. The new names and terms are being matched against the listings already in the '
                'system: <a href="{}">follow the progress</a>.', reverse("catalog:job", args=[job.pk])))
        return redirect("catalog:profile", pk=brand.pk)
    return render(request, "catalog/profile.html", {"brand": brand, "form": form})


@portal_role
def references(request):
    refs = ReferenceItem.objects.visible_to(request.user).select_related("brand").prefetch_related("images")
    if request.GET.get("brand"):
        refs = refs.filter(brand_id=request.GET["brand"])
    if request.GET.get("q"):
        refs = refs.filter(title__icontains=request.GET["q"]) | refs.filter(ref_key__icontains=request.GET["q"])
    page = Paginator(refs.order_by("-created_at", "ref_key"), 40).get_page(request.GET.get("page"))
    return render(request, "catalog/references.html", {
        "page": page, "zip_form": ZipUploadForm(user=request.user), "csv_form": CsvUploadForm(user=request.user),
        "folder_form": FolderUploadForm(user=request.user, auto_id="folder_%s"),
        "jobs": ImportJob.objects.visible_to(request.user).select_related("brand")[:5],
    })


@portal_role
@require_POST
def upload(request, kind: str):
    form_class = {"zip": ZipUploadForm, "folder": FolderUploadForm, "csv": CsvUploadForm}.get(kind)
    if form_class is None:
        raise Http404("No such upload kind.")
    form = form_class(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("catalog:references")
    brand = form.cleaned_data["brand"]
    if kind == "zip":
        job = actions.upload_bundle_zip(brand, form.cleaned_data["bundle"], acting_user=request.user)
    elif kind == "folder":
        try:
            job = actions.upload_bundle_folder(brand, form.cleaned_data["files"], acting_user=request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect("catalog:references")
    else:
        job = actions.upload_catalog_csv(brand, form.cleaned_data["catalog"], form.cleaned_data["images"],
                                         acting_user=request.user)
    return redirect("catalog:job", pk=job.pk)


@portal_role
def reference_edit(request, pk: int | None = None):
    ref = get_object_or_404(ReferenceItem.objects.visible_to(request.user), pk=pk) if pk else None
    initial = ({"brand": ref.brand, "ref_key": ref.ref_key, "title": ref.title, "description": ref.description,
                "kind": ref.kind, "msrp": ref.msrp, "currency": ref.currency} if ref else {"currency": "USD"})
    form = ReferenceForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if ref:
        form.fields["ref_key"].disabled = form.fields["brand"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if ref is None and not data["images"]:
            form.add_error("images", "A new reference needs at least one image.")
        else:
            try:
                job = actions.save_reference(data["brand"], acting_user=request.user, ref_key=data["ref_key"],
                                             title=data["title"], description=data["description"], msrp=data["msrp"],
                                             currency=data["currency"], kind=data["kind"], images=data["images"])
            except ValueError as exc:
                form.add_error("ref_key", str(exc).split(": ", 1)[-1])
            else:
                return redirect("catalog:job", pk=job.pk)
    return render(request, "catalog/reference_form.html", {"form": form, "ref": ref})


@portal_role
@require_POST
def reference_delete(request, pk: int):
    ref = get_object_or_404(ReferenceItem.objects.visible_to(request.user), pk=pk)
    actions.delete_reference(ref, acting_user=request.user)
    messages.success(request, f"Reference {ref.ref_key} deleted; it no longer matches.")
    return redirect("catalog:references")


@portal_role
def job(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("brand"), pk=pk)
    if request.GET.get("format") == "json" or request.headers.get("Accept") == "application/json":
        return JsonResponse({"status": job.status, "label": job.get_status_display(), "progress": job.progress,
                             "counts": job.counts, "errors": len(job.errors), "retro_done": job.retro_done,
                             "retro_total": job.retro_total})
    return render(request, "catalog/job.html", {"job": job})


@portal_role
def job_errors(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    writer = csv.writer(response)
    writer.writerow(["error"])
    writer.writerows([e] for e in job.errors)
    return response


@portal_role
def sellers(request):
    form = AuthorizedSellersForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        brand = form.cleaned_data["brand"]
        add = lines(form.cleaned_data["seller_ids"])
        if form.cleaned_data["csv"]:
            add += actions.seller_ids_from_csv(form.cleaned_data["csv"])
        remove = request.POST.getlist("remove")
        for error in actions.set_authorized_sellers(brand, acting_user=request.user, add=add, remove=remove):
            messages.error(request, error)
        messages.success(request, f"Authorized sellers of {brand.name} updated.")
        return redirect("catalog:sellers")
    rows = (AuthorizedSeller.objects.filter(brand__in=Brand.objects.visible_to(request.user))
            .select_related("brand", "seller").order_by("brand__name", "seller__seller_key"))
    return render(request, "catalog/sellers.html", {"form": form, "rows": rows})


def filtered_matches(request):
    form = MatchFilterForm(request.GET or None, user=request.user)
    listings = matched_listings(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["brand"]:
            listings = listings.filter(matched_brand=data["brand"])
        if data["status"]:
            listings = listings.filter(status=data["status"])
        if data["min_score"] is not None:
            listings = listings.filter(score__gte=data["min_score"])
        if data["q"]:
            listings = listings.filter(title__icontains=data["q"])
    return form, listings.order_by("-score", "-created_at")


@portal_role
def matches(request):
    form, listings = filtered_matches(request)
    page = Paginator(listings, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "catalog/matches.html", {"form": form, "page": page, "query": query.urlencode()})


@portal_role
def matches_csv(request):
    _, listings = filtered_matches(request)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="matches.csv"'
    writer = csv.writer(response)
    writer.writerow(["listing_id", "title", "brand", "score", "status", "price", "currency", "seller_id", "created_at"])
    for item in listings[:50_000]:
        writer.writerow([item.listing_key, item.title, item.matched_brand.brand_key, f"{item.score:.4f}", item.status,
                         item.price, item.currency, item.seller.seller_key, item.created_at.isoformat()])
    audit.record("brand.export_matches", Brand.objects.visible_to(request.user).first() or request.user.profile,
                 actor=request.user, after={"query": request.GET.urlencode()[:200]})
    return response


@portal_role
def match_detail(request, pk: int):
    listing = get_object_or_404(matched_listings(request.user).prefetch_related("images"), pk=pk)
    detection = listing.detections.first()
    ref_keys = [m["ref_id"] for m in (detection.matches if detection else []) if m.get("ref_id")]
    own_refs = {r.ref_key: r for r in ReferenceItem.objects.visible_to(request.user).filter(ref_key__in=ref_keys)
                .prefetch_related("images")}
    evidence = {}  # one entry per own reference, with every way it matched
    for m in detection.matches if detection else []:
        if m.get("ref_id") in own_refs:
            evidence.setdefault(m["ref_id"], {"ref": own_refs[m["ref_id"]], "matches": []})["matches"].append(m)
    evidence = list(evidence.values())
    form = ReportForm(request.POST or None, brand=listing.matched_brand,
                      initial={"reference": evidence[0]["ref"] if evidence else None})
    if request.method == "POST" and form.is_valid():
        try:
            report = actions.report_listing(listing, listing.matched_brand, acting_user=request.user,
                                            reason_code=form.cleaned_data["reason_code"], note=form.cleaned_data["note"],
                                            reference=form.cleaned_data["reference"])
        except actions.ReportRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Removed under your self-service privilege; the seller was notified."
                             if report.direct_removal else "Reported: the listing is in the moderators' queue with "
                             "high priority and your report attached.")
            return redirect("catalog:match", pk=listing.pk)
    return render(request, "catalog/match.html", {
        "listing": listing, "detection": detection, "evidence": evidence, "form": form,
        "explanation": explanation_lines(detection.explanation) if detection else [],
        "reports": BrandReport.objects.visible_to(request.user).filter(listing=listing).select_related("case"),
    })


@portal_role
def reports(request):
    items = [r for b in Brand.objects.visible_to(request.user)
             for r in report_outcomes(b).select_related("brand", "listing", "case")[:200]]
    items.sort(key=lambda r: r.created_at, reverse=True)
    return render(request, "catalog/reports.html", {"reports": items})


@require_POST
@role_required(Role.MODERATOR, Role.LEAD, Role.ADMIN)
def reverse_removal(request, pk: int):
    if not is_staff_role(request.user):
        raise PermissionDenied
    report = get_object_or_404(BrandReport.objects.visible_to(request.user), pk=pk)
    try:
        actions.reverse_brand_removal(report, acting_user=request.user, note=request.POST.get("note", ""))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Removal reversed: {report.listing.listing_key} reinstated, the seller notified.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("catalog:removals")
    return redirect(target)


@role_required(Role.MODERATOR, Role.LEAD, Role.ADMIN)
def removals(request):
    """Staff: brands' self-service removals, each reversible."""
    rows = (BrandReport.objects.visible_to(request.user).filter(direct_removal=True)
            .select_related("brand", "listing", "case")[:200])
    return render(request, "catalog/removals.html", {"rows": rows})


def detections_matching(key: str, kinds: set[str], limit: int = 100):
    """Latest detections whose matches name ``key`` (a reference id, or a confirmed counterfeit's listing id)."""
    from django.db import connection


    detections = Detection.objects.select_related("listing__seller", "brand").order_by("-created_at")
    if connection.vendor == "postgresql":
        found = detections.filter(matches__contains=[{"ref_id": key}])[:limit]
    else:  # the embedded SQLite mode has no JSON containment: scan the recent detections
        found = [d for d in detections[:5000] if any(m.get("ref_id") == key for m in d.matches)][:limit]
    rows = []
    for detection in found:
        hits = [m for m in detection.matches if m.get("ref_id") == key and m.get("kind") in kinds]
        if hits:
            rows.append({"detection": detection, "best": max(hits, key=lambda m: m["score"]), "kinds": sorted(
                {m["kind"] for m in hits})})
    return rows


@role_required(Role.MODERATOR, Role.LEAD, Role.ADMIN, Role.BRAND_OWNER)
def match_target(request, key: str):
    """What a match points at — a reference or a confirmed counterfeit — and what else it matched."""
    reference = ReferenceItem.objects.visible_to(request.user).select_related("brand").filter(ref_key=key).first()
    counterfeit = None
    if reference is None:
        if not is_staff_role(request.user):
            raise Http404("No such reference.")
        # Counterfeit bank ids are opaque ("cf-<pk>", detection.bank_deltas.counterfeit_bank_id): staff resolve them.
        pk = key.removeprefix("cf-")
        if not key.startswith("cf-") or not pk.isdigit():
            raise Http404("No such reference or counterfeit.")
        counterfeit = get_object_or_404(Listing.objects.select_related("seller__client", "matched_brand"), pk=int(pk),
                                        status=Listing.Status.REMOVED)
        kinds = {"counterfeit"}
    else:
        kinds = {"image", "region", "pdq", "text", "logo"}
    rows = detections_matching(key, kinds)
    if not is_staff_role(request.user):
        visible = set(Listing.objects.visible_to(request.user).values_list("pk", flat=True))
        rows = [r for r in rows if r["detection"].listing_id in visible]
    return render(request, "catalog/match_target.html", {
        "reference": reference, "counterfeit": counterfeit, "key": key, "rows": rows,
    })
