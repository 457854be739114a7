"""The transparency report (DSA Art. 15/24): per month, what was restricted on which ground, how automated, how
fast, and how appeals ended. The figures come from plain rows (``summarize``) so they are tested without a database."""
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from anticounterfeit.moderation.models import Appeal

from .models import StatementOfReasons


@dataclass(frozen=True)
class StatementRow:
    decided_at: datetime
    ground: str
    category: str
    restriction: str
    automated_detection: bool
    detected_at: datetime | None


@dataclass(frozen=True)
class AppealRow:
    filed_at: datetime
    status: str  # open | upheld | reinstated


@dataclass
class Month:
    month: str
    statements: int = 0
    by_ground: Counter = field(default_factory=Counter)
    by_category: Counter = field(default_factory=Counter)
    by_restriction: Counter = field(default_factory=Counter)
    automated: int = 0
    median_hours_to_decision: float | None = None
    appeals_received: int = 0
    appeals_upheld: int = 0
    appeals_reversed: int = 0

    @property
    def breakdowns(self) -> list[list[tuple[str, int]]]:
        """Ground, category and restriction counts as sorted pairs (templates cannot call ``Counter.items``)."""
        return [sorted(c.items()) for c in (self.by_ground, self.by_category, self.by_restriction)]

    @property
    def automated_share(self) -> float | None:
        return self.automated / self.statements if self.statements else None


def summarize(statements: list[StatementRow], appeals: list[AppealRow]) -> list[Month]:
    """One ``Month`` per calendar month that has a statement or an appeal, newest first."""
    months: dict[str, Month] = {}
    waits: dict[str, list[float]] = {}

    def month_of(moment: datetime) -> Month:
        key = moment.strftime("%Y-%m")
        return months.setdefault(key, Month(key))

    for row in statements:
        month = month_of(row.decided_at)
        month.statements += 1
        month.by_ground[row.ground] += 1
        month.by_category[row.category] += 1
        month.by_restriction[row.restriction] += 1
        month.automated += row.automated_detection
        if row.detected_at is not None:
            waits.setdefault(month.month, []).append((row.decided_at - row.detected_at).total_seconds() / 3600)
    for appeal in appeals:
        month = month_of(appeal.filed_at)
        month.appeals_received += 1
        month.appeals_upheld += appeal.status == "upheld"
        month.appeals_reversed += appeal.status == "reinstated"
    for key, hours in waits.items():
        months[key].median_hours_to_decision = round(median(hours), 2)
    return [months[key] for key in sorted(months, reverse=True)]


CSV_HEADER = ["month", "dimension", "value", "count"]


def csv_rows(months: list[Month]) -> list[list]:
    """Long format (month, dimension, value, count): one table a spreadsheet pivots any way."""
    rows = []
    for m in months:
        for dimension, counter in (("ground", m.by_ground), ("category", m.by_category),
                                   ("restriction", m.by_restriction)):
            rows += [[m.month, dimension, value, count] for value, count in sorted(counter.items())]
        share = "" if m.automated_share is None else round(m.automated_share, 4)
        rows += [[m.month, "statements", "total", m.statements], [m.month, "automated_detection", "share", share],
                 [m.month, "median_hours_detection_to_decision", "hours", m.median_hours_to_decision or ""],
                 [m.month, "appeals", "received", m.appeals_received], [m.month, "appeals", "upheld", m.appeals_upheld],
                 [m.month, "appeals", "reversed", m.appeals_reversed]]
    return rows


def load(since: datetime | None = None) -> list[Month]:
    """The report from the database (statements of reasons and the appeals against takedowns)."""


    statements = StatementOfReasons.objects.all()
    appeals = Appeal.objects.all()
    if since is not None:
        statements, appeals = statements.filter(decided_at__gte=since), appeals.filter(created_at__gte=since)
    return summarize(
        [StatementRow(*values) for values in statements.values_list(
            "decided_at", "ground", "category", "restriction", "automated_detection", "detected_at")],
        [AppealRow(*values) for values in appeals.values_list("created_at", "status")])
