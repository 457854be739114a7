"""Backtests on a real decided history: the command and the console give the same figures, activation records
the backtest it was based on, and the thresholds page refuses a change without one unless a lead gives a reason."""
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection import actions as detection_actions
from anticounterfeit.detection.models import Backtest, BrandPolicy, DetectionPolicy, ScorerVersion
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# (score, moderators' verdict): with the live threshold 0.5 all four are queued; 0.8 keeps only the first. (The
# sellers' trust tiers nudge each threshold by at most 0.1, which these scores leave room for.)
HISTORY = [(0.95, True), (0.55, True), (0.62, False), (0.58, False)]


@pytest.fixture
def history(make_user):
    brand = make_brand()
    ref = make_reference(brand)
    moderator = make_user("mod", Role.MODERATOR)
    signals = {"img_sim": 0.9, "mention_any": 1.0, "seller_authorized": 0.0}
    for n, (score, counterfeit) in enumerate(HISTORY):
        listing = scanned_listing(f"H-{n}", f"S-{n}", score=score, brand=brand, ref=ref, signals=signals)
        case = Case.objects.get(listing=listing)
        if counterfeit:
            actions.do_take_down(case.pk, acting_user=moderator)
        else:
            actions.do_dismiss(case.pk, acting_user=moderator)
    return brand


def test_command_prints_the_figures_of_a_threshold_change(history):
    out = io.StringIO()
    call_command("backtest", "--threshold", "0.8", "--days", "7", stdout=out)
    text = out.getvalue()
    assert "4 decided listings over 7 days" in text
    assert "baseline         50.0%   100.0%       4" in text
    assert "candidate       100.0%    50.0%       1" in text
    assert "changed outcomes: 3 (2 agree with the moderators)" in text and "H-1 would be cleared" in text
    backtest = Backtest.objects.get()
    assert backtest.results["candidate"]["recall"] == 0.5 and backtest.activated_at is None


def test_a_candidate_scorer_is_replayed_from_stored_signals(history):
    version = detection_actions.train_scorer(min_decisions=2, activate=False)
    assert not version.is_active and not ScorerVersion.objects.filter(is_active=True).exists()
    out = io.StringIO()
    call_command("backtest", "--scorer", str(version.number), "--days", "7", stdout=out)
    assert f"scorer v{version.number}" in out.getvalue()
    assert Backtest.objects.get().results["decided"] == 4


def test_console_runs_activates_and_refuses_without_a_backtest(history, make_user, client):
    lead = make_user("lead", Role.LEAD)
    client.force_login(lead)
    response = client.post(reverse("moderation:backtests"), {"kind": "brand_threshold", "threshold": "0.7",
                                                             "brand": history.brand_key, "days": "7"})
    backtest = Backtest.objects.get()
    assert response.url == reverse("moderation:backtest", args=[backtest.pk])
    page = client.get(response.url).content.decode()
    assert page.count('<svg class="chart"') == 2 and "H-1" in page and "H-3" in page
    assert reverse("moderation:case", args=[Case.objects.get(listing__listing_key="H-1").pk]) in page

    client.post(reverse("moderation:backtest_activate", args=[backtest.pk]))
    backtest.refresh_from_db()
    assert backtest.activated_by == lead and BrandPolicy.objects.get(brand=history).review_threshold == 0.7
    event = AuditEvent.objects.get(action="detection.change_activated")
    assert event.after["backtest"] == backtest.pk and event.actor == lead

    refused = client.post(reverse("moderation:settings"), {"review_threshold": "0.3", "high_priority_threshold": "0.9"})
    assert "run a backtest of this change first" in refused.content.decode()
    assert DetectionPolicy.current().review_threshold == 0.5
    client.post(reverse("moderation:settings"), {"review_threshold": "0.3", "high_priority_threshold": "0.9",
                                                 "override_reason": "incident: flood of fakes"})
    assert DetectionPolicy.current().review_threshold == 0.3
    override = AuditEvent.objects.filter(action="detection.change_activated").latest("pk")
    assert override.after["backtest"] is None and override.after["override_reason"] == "incident: flood of fakes"
