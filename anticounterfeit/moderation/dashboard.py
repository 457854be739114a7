"""Dashboard numbers for leads, and the server-rendered SVG charts that draw them (no chart library, no CDN)."""
from datetime import timedelta
from statistics import median

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Case, Decision

AGE_BUCKETS = [("< 1 h", timedelta(hours=1)), ("1–4 h", timedelta(hours=4)), ("4–24 h", timedelta(hours=24)),
               ("1–3 d", timedelta(days=3)), ("3–7 d", timedelta(days=7)), ("> 7 d", None)]


def column_chart(labels: list[str], series: list[tuple[str, str, list[float]]], *, width: int = 560,
                 height: int = 200) -> dict:
    """Geometry for grouped vertical bars: one group per label, one bar per (name, colour, values) series."""
    pad_l, pad_b, pad_t = 34, 28, 10
    top = max([v for _, _, values in series for v in values] + [1])
    plot_h, plot_w = height - pad_b - pad_t, width - pad_l - 6
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(2.0, group_w * 0.8 / max(len(series), 1))
    bars = []
    for g, label in enumerate(labels):
        for s, (name, colour, values) in enumerate(series):
            h = plot_h * values[g] / top
            bars.append({"x": round(pad_l + g * group_w + group_w * 0.1 + s * bar_w, 1), "y": round(pad_t + plot_h - h, 1),
                         "w": round(bar_w - 1, 1), "h": round(h, 1), "colour": colour,
                         "title": f"{label}: {values[g]:g} {name}"})
    ticks = [{"y": round(pad_t + plot_h - plot_h * f, 1), "label": f"{top * f:g}"} for f in (0, 0.5, 1)]
    step = max(1, len(labels) // 8)
    xlabels = [{"x": round(pad_l + g * group_w + group_w / 2, 1), "label": label}
               for g, label in enumerate(labels) if g % step == 0]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "xlabels": xlabels, "pad_l": pad_l,
            "base_y": pad_t + plot_h, "label_y": height - 8, "legend": [(n, c) for n, c, _ in series]}


def bar_chart(items: list[tuple[str, float]], *, colour: str = "#2f5bd3", width: int = 420) -> dict:
    """Geometry for horizontal bars (top-N lists)."""
    row_h, label_w = 22, 150
    top = max([v for _, v in items] + [1])
    rows = [{"y": i * row_h, "label": label[:24], "value": value, "w": round((width - label_w - 40) * value / top, 1)}
            for i, (label, value) in enumerate(items)]
    return {"width": width, "height": max(row_h * len(items), row_h), "rows": rows, "label_w": label_w,
            "colour": colour, "row_h": row_h}


def dashboard_data(days: int = 14) -> dict:
    """Per-day flow, precision of the queue, time to decision, top brands and sellers, queue age."""
    now = timezone.now()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_keys = [(since + timedelta(days=i)).date() for i in range(days)]
    opened = dict(Case.objects.filter(opened_at__gte=since).annotate(day=TruncDate("opened_at"))
                  .values_list("day").annotate(n=Count("pk")).values_list("day", "n"))
    decided = dict(Case.objects.filter(closed_at__gte=since).annotate(day=TruncDate("closed_at"))
                   .values_list("day").annotate(n=Count("pk")).values_list("day", "n"))
    final = Decision.objects.filter(created_at__gte=since).exclude(action=Decision.Action.ESCALATE)
    split = final.aggregate(takedown=Count("pk", filter=Q(action=Decision.Action.TAKEDOWN)), total=Count("pk"))
    durations = [(closed - opened_at).total_seconds() for opened_at, closed in
                 Case.objects.filter(closed_at__gte=since).values_list("opened_at", "closed_at")[:20000]]
    takedowns = Decision.objects.filter(action=Decision.Action.TAKEDOWN, created_at__gte=since)
    top_brands = list(takedowns.exclude(case__listing__matched_brand=None)
                      .values_list("case__listing__matched_brand__name").annotate(n=Count("pk")).order_by("-n")[:8])
    top_sellers = list(takedowns.values_list("case__listing__seller__seller_key").annotate(n=Count("pk"))
                       .order_by("-n")[:8])
    open_cases = Case.objects.open()
    age_filters, lower = {}, None
    for i, (_label, upper) in enumerate(AGE_BUCKETS):
        q = Q()
        if upper is not None:
            q &= Q(opened_at__gt=now - upper)
        if lower is not None:
            q &= Q(opened_at__lte=now - lower)
        age_filters[f"b{i}"] = Count("pk", filter=q)
        lower = upper
    ages = open_cases.aggregate(**age_filters)
    labels = [d.strftime("%m-%d") for d in day_keys]
    median_s = median(durations) if durations else None
    return {
        "days": days,
        "flow": column_chart(labels, [("opened", "#2f5bd3", [opened.get(d, 0) for d in day_keys]),
                                      ("decided", "#1e8a4c", [decided.get(d, 0) for d in day_keys])]),
        "opened_total": sum(opened.values()), "decided_total": sum(decided.values()),
        "takedown_rate": (split["takedown"] / split["total"]) if split["total"] else None,
        "final_total": split["total"],
        "median_minutes": round(median_s / 60, 1) if median_s is not None else None,
        "top_brands": bar_chart(top_brands, colour="#c0392b"),
        "top_sellers": bar_chart(top_sellers, colour="#c77c02"),
        "ages": column_chart([label for label, _ in AGE_BUCKETS],
                             [("open cases", "#5d6878", [ages[f"b{i}"] for i in range(len(AGE_BUCKETS))])],
                             width=420),
    }
