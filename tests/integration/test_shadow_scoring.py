"""Shadow scoring with real scans: a candidate scorer in shadow gets its score recorded by the worker's scans
(acting on nothing), the dashboard compares it with the live scorer, and promotion is one audited action."""
import pytest
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.intake import accept_validated
from anticounterfeit.catalog.actions import import_bundle
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection import actions as detection_actions
from anticounterfeit.detection.detector_cache import load_scorer
from anticounterfeit.detection.models import BankVersion, Detection, ScorerVersion
from anticounterfeit.listings.models import Listing
from tests.factories import logged_in
from tests.support import wait_for

from .helpers import read_jsonl

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def strict_candidate() -> dict:
    """The shipped scorer, shifted to call fewer listings counterfeit (a visibly different candidate)."""
    document = load_scorer().to_dict()
    if document.get("kind") == "boosted_trees":  # calibrated logit = a * raw + b
        a, b = document["calibration"]
        shifted = {"calibration": [a, b - 3.0]}
    else:
        shifted = {"intercept": document["intercept"] - 3.0}
    return {**document, **shifted, "version": "shadow-test"}


def test_real_scans_record_the_shadow_score_and_promotion_is_audited(celery_worker_real, demo_bundle, make_user):
    import_bundle(str(demo_bundle))
    wait_for(lambda: BankVersion.objects.exists(), timeout=300, message="first bank")
    lead = make_user("lead", Role.LEAD)
    candidate = detection_actions.add_scorer_version(strict_candidate(), acting_user=lead)
    detection_actions.start_shadow(candidate.number, acting_user=lead)

    records = read_jsonl(demo_bundle / "listings.jsonl")[:6]
    listings = [accept_validated({**{k: v for k, v in r.items() if k != "images"}, "listing_id": f"shadow-{r['listing_id']}",
                                  "images": [{"filename": p.split("/")[-1], "data": (demo_bundle / p).read_bytes()}
                                             for p in r["images"]]}) for r in records]
    ids = [listing.pk for listing in listings]
    wait_for(lambda: not Listing.objects.filter(pk__in=ids, status="pending").exists(), timeout=300,
             message="listings scanned")
    detections = list(Detection.objects.filter(listing_id__in=ids))
    assert detections and all(d.shadow_scorer_id == candidate.pk for d in detections)
    strict = load_scorer(candidate)
    for d in detections:
        assert d.shadow_score == pytest.approx(float(strict.predict([d.signals])[0]), abs=1e-6)
        assert d.shadow_score < d.score or d.score < 0.05  # the shifted candidate scores lower, and decided nothing
    assert not ScorerVersion.objects.filter(is_active=True).exists()

    client = logged_in(lead)
    page = client.get(reverse("moderation:shadow")).content.decode()
    assert f'data-testid="shadow-scans">{len(detections)}<' in page and '<svg class="chart"' in page
    client.post(reverse("moderation:shadow"), {"step": "promote"})
    candidate.refresh_from_db()
    assert candidate.is_active and not candidate.is_shadow
    event = AuditEvent.objects.get(action="detection.shadow_promote")
    assert event.actor == lead and event.after["shadow_scored"] == len(detections)
