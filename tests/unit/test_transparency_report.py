"""Transparency report figures (compliance.report.summarize) on hand-made rows."""
from datetime import UTC, datetime, timedelta

from anticounterfeit.compliance.report import AppealRow, StatementRow, csv_rows, summarize

NOV, DEC = datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
ILLEGAL, TERMS = "DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"
IP, REMOVED = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS", "DECISION_VISIBILITY_CONTENT_REMOVED"


def row(decided, ground, automated, hours):
    return StatementRow(decided, ground, IP, REMOVED, automated, decided - timedelta(hours=hours) if hours else None)


def test_months_count_grounds_automation_waits_and_appeals():
    months = summarize(
        [row(NOV, ILLEGAL, True, 2), row(NOV, TERMS, False, 10), row(NOV, ILLEGAL, True, 4), row(DEC, ILLEGAL, True, None)],
        [AppealRow(NOV, "upheld"), AppealRow(DEC, "reinstated"), AppealRow(DEC, "open")])
    dec, nov = months
    assert (nov.month, nov.statements, nov.by_ground[ILLEGAL], nov.by_ground[TERMS]) == ("2026-11", 3, 2, 1)
    assert nov.automated_share == 2 / 3 and nov.median_hours_to_decision == 4
    assert (nov.appeals_received, nov.appeals_upheld, nov.appeals_reversed) == (1, 1, 0)
    assert dec.median_hours_to_decision is None and (dec.appeals_received, dec.appeals_reversed) == (2, 1)
    assert ["2026-11", "ground", ILLEGAL, 2] in csv_rows(months)


def test_no_rows_no_months():
    assert summarize([], []) == []
