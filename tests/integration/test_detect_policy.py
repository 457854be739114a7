"""Per-brand review thresholds, the allow bank fed by dismissals, and the noisy-reference report."""
import functools

import pytest

from anticounterfeit.catalog.actions import set_quarantine
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection import actions
from anticounterfeit.detection.models import AllowRule
from anticounterfeit.detection.policy import review_threshold_for
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.actions import do_dismiss, do_take_down
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db]
S = Listing.Status


def dismiss(listing, moderator):
    return do_dismiss(Case.objects.get(listing=listing).pk, acting_user=moderator)


def test_brand_override_replaces_the_global_threshold(acme, staff):
    brand, ref = acme
    other = make_brand("zeta", "Zeta")
    assert scanned_listing("L1", "S1", score=0.7, brand=brand, ref=ref).status == S.IN_REVIEW
    actions.set_brand_threshold(brand, 0.8, acting_user=staff[1])
    quiet = scanned_listing("L2", "S2", score=0.7, brand=brand, ref=ref)
    assert quiet.status == S.CLEAR and review_threshold_for(quiet) == pytest.approx(0.8, abs=0.06)
    assert scanned_listing("L3", "S3", score=0.7, brand=other).status == S.IN_REVIEW  # other brands unaffected
    event = AuditEvent.objects.get(action="detection.brand_threshold_set")
    assert (event.before, event.after) == ({"review_threshold": None}, {"review_threshold": 0.8})
    with pytest.raises(ValueError, match="between 0 and 1"):
        actions.set_brand_threshold(brand, 1.5, acting_user=staff[1])


@pytest.mark.parametrize("batch_context", [False, True], ids=["single", "scan-batch"])
def test_dismissal_allow_rule_stops_the_same_genuine_listing_being_flagged(acme, staff, batch_context):
    """Recorded alone or as a scan batch records (which looks up the rules' owners once per batch)."""
    brand, ref = acme
    moderator, _ = staff
    scan = functools.partial(scanned_listing, batch_context=batch_context)

    first = scan("L1", "S-reseller", score=0.9, brand=brand, ref=ref)
    decision = dismiss(first, moderator)
    [rule] = actions.add_allow_rule_from_dismissal(decision.pk, AllowRule.Scope.SELLER_REFERENCE, acting_user=moderator)
    assert (rule.seller.seller_key, rule.reference, rule.decision) == ("S-reseller", ref, decision)
    again = scan("L2", "S-reseller", score=0.9, brand=brand, ref=ref, image_color=(1, 2, 3))
    assert again.status == S.CLEAR and not Case.objects.filter(listing=again).exists()
    # Another seller matching the same reference is still flagged.
    other = scan("L3", "S-other", score=0.9, brand=brand, ref=ref, image_color=(9, 9, 9))
    assert other.status == S.IN_REVIEW
    # Image scope: that exact photo is allowed for anyone; a different photo is not.
    d3 = dismiss(other, moderator)
    actions.add_allow_rule_from_dismissal(d3.pk, AllowRule.Scope.IMAGE, acting_user=moderator)
    assert scan("L4", "S-new", score=0.9, brand=brand, ref=ref, image_color=(9, 9, 9)).status == S.CLEAR
    assert scan("L5", "S-new2", score=0.9, brand=brand, ref=ref, image_color=(50, 9, 9)).status == S.IN_REVIEW
    assert AuditEvent.objects.filter(action="detection.allow_rule_added").count() == 2
    takedown = do_take_down(Case.objects.get(listing__listing_key="L5").pk, acting_user=moderator)
    with pytest.raises(ValueError, match="only from dismissals"):
        actions.add_allow_rule_from_dismissal(takedown.pk, AllowRule.Scope.IMAGE, acting_user=moderator)


def test_reference_with_dismissed_matches_is_reported_noisy_and_can_be_quarantined(acme, staff):
    brand, ref = acme
    moderator, lead = staff
    good = make_reference(brand, "ref-good")
    for i in range(3):
        dismiss(scanned_listing(f"N{i}", f"SN{i}", score=0.9, brand=brand, ref=ref), moderator)
    for i in range(3):
        do_take_down(Case.objects.get(listing=scanned_listing(f"G{i}", f"SG{i}", score=0.9, brand=brand, ref=good)).pk,
                     acting_user=moderator)
    report = actions.noisy_references(min_dismissed=3)
    assert [(r["reference"], r["dismissed"], r["taken_down"], r["quarantined"]) for r in report] == [(ref, 3, 0, False)]
    set_quarantine(report[0]["reference"], True, acting_user=lead)
    assert actions.noisy_references(min_dismissed=3)[0]["quarantined"] is True
