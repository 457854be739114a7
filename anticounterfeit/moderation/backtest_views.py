"""Console pages for backtests: run one, read its figures and charts, activate the change it tested."""
import json

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from anticounterfeit.accounts.models import LEAD_ROLES
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.detection import actions as detection_actions
from anticounterfeit.detection import backtests
from anticounterfeit.detection.models import Backtest, ScorerVersion
from anticounterfeit.detection.shadow import summary

from .dashboard import column_chart
from .forms import BacktestForm
from .models import Case

lead_required = role_required(*LEAD_ROLES)
BASELINE, CANDIDATE = "#8a94a6", "#2f5bd3"


def _candidate(form: BacktestForm, user) -> dict:
    """The run_backtest arguments for the form's candidate (an uploaded scorer is stored first, inactive)."""
    data, kind = form.cleaned_data, form.cleaned_data["kind"]
    if kind == Backtest.Kind.SCORER:
        if data.get("scorer_file"):
            try:
                document = json.loads(data["scorer_file"].read().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValueError(f"scorer_file: not JSON ({exc})") from exc
            return {"scorer": detection_actions.add_scorer_version(document, acting_user=user)}
        scorer = ScorerVersion.objects.filter(number=data.get("scorer")).first()
        if scorer is None:
            raise ValueError("scorer: choose a stored version or upload one")
        return {"scorer": scorer}
    return {"threshold": data.get("threshold"), "brand": data.get("brand")}


@lead_required
def backtest_list(request):
    form = BacktestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            backtest = backtests.run_backtest(form.cleaned_data["kind"], days=form.cleaned_data["days"],
                                              acting_user=request.user, **_candidate(form, request.user))
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("moderation:backtest", pk=backtest.pk)
    return render(request, "moderation/backtests.html", {
        "form": form, "backtests": Backtest.objects.select_related("scorer", "brand", "created_by")[:30],
        "scorers": ScorerVersion.objects.all()[:20]})


def _charts(results: dict) -> dict:
    days = results["per_day"]
    sides = [("live", BASELINE, "baseline"), ("candidate", CANDIDATE, "candidate")]
    return {
        "per_day": column_chart([d["day"][5:] for d in days],
                                [(name, colour, [d[key] for d in days]) for name, colour, key in sides]),
        "quality": column_chart(["precision %", "recall %"], [
            (name, colour, [round(100 * (results[key][metric] or 0), 1) for metric in ("precision", "recall")])
            for name, colour, key in sides], width=320),
    }


@lead_required
def backtest_detail(request, pk: int):
    backtest = get_object_or_404(Backtest.objects.select_related("scorer", "brand", "activated_by"), pk=pk)
    results = backtest.results
    listing_ids = [c["listing_id"] for c in results["changed"]]
    cases = dict(Case.objects.filter(listing_id__in=listing_ids).order_by("opened_at").values_list("listing_id", "pk"))
    changed = [{**c, "case_id": cases.get(c["listing_id"])} for c in results["changed"]]
    return render(request, "moderation/backtest.html", {"b": backtest, "r": results, "changed": changed,
                                                        "charts": _charts(results)})


@lead_required
@require_POST
def backtest_activate(request, pk: int):
    backtest = get_object_or_404(Backtest, pk=pk)
    try:
        backtests.activate(backtest, acting_user=request.user)
    except (backtests.ActivationRefused, ValueError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Activated: {backtest.describe()} (based on backtest #{backtest.pk}).")
    return redirect("moderation:backtest", pk=pk)


@lead_required
def shadow(request):
    """The scorer running in shadow: agreement with the live one, what it would queue or clear, who was right."""

    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "start":
                version = detection_actions.start_shadow(int(request.POST.get("scorer") or 0), acting_user=request.user)
                messages.success(request, f"Scorer v{version.number} runs in shadow: new scans record its score.")
            elif step in ("promote", "discard"):
                version = detection_actions.end_shadow(promote=step == "promote", acting_user=request.user)
                messages.success(request, f"Scorer v{version.number} {'promoted: it is now the active scorer' if step == 'promote' else 'discarded'}.")
        except (ValueError, ScorerVersion.DoesNotExist) as exc:
            messages.error(request, str(exc))
        return redirect("moderation:shadow")
    version = ScorerVersion.objects.filter(is_shadow=True).first()
    s = summary(version) if version else None
    chart = None
    if s:
        chart = column_chart(["queued (all scans)", "right where they differ"], [
            ("live", BASELINE, [s["live_queued"], s["live_right"]]),
            ("shadow", CANDIDATE, [s["shadow_queued"], s["shadow_right"]])], width=360)
    return render(request, "moderation/shadow.html", {
        "version": version, "s": s, "chart": chart,
        "candidates": ScorerVersion.objects.filter(is_active=False).order_by("-number")[:20]})
