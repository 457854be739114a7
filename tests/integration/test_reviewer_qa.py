"""Reviewer QA on the real database: a sampled decision goes to another moderator blind; a disagreement goes to a
lead; golden cases measure accuracy; moderators see only their own figures."""
import pytest
from django.urls import reverse

from anticounterfeit.accounts.models import Role
from anticounterfeit.moderation import actions, qa
from anticounterfeit.moderation.models import Case, QAReview
from tests.factories import logged_in, make_brand, make_reference, scanned_listing

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(make_user):
    brand = make_brand()
    ref = make_reference(brand)
    cases = [Case.objects.get(listing=scanned_listing(f"Q-{n}", f"S-{n}", score=0.9, brand=brand, ref=ref,
                                                      title=f"Acme runner {n}")) for n in range(3)]
    return {"cases": cases, "first": make_user("first-mod", Role.MODERATOR),
            "second": make_user("second-mod", Role.MODERATOR), "lead": make_user("lead", Role.LEAD)}


def test_a_sampled_decision_is_reviewed_blind_and_a_disagreement_goes_to_a_lead(world, settings):
    settings.QA_SAMPLE_RATE = 1.0
    first, second, lead = world["first"], world["second"], world["lead"]
    case = world["cases"][0]
    mod = logged_in(first)
    mod.get(reverse("moderation:case", args=[case.pk]))  # claims it
    mod.post(reverse("moderation:decide", args=[case.pk]), {"action": "takedown", "reason_code": "trademark_misuse",
                                                            "note": "first-mod-note"})
    review = QAReview.objects.get()
    assert review.reviewer in (second, lead) and review.reviewer != first and review.kind == "sample"
    if review.reviewer != second:  # the least-loaded reviewer may be the lead; hand it to the second moderator
        QAReview.objects.filter(pk=review.pk).update(reviewer=second)

    other = logged_in(second)
    assert other.get(reverse("moderation:case", args=[case.pk])).url == reverse("moderation:qa_review",
                                                                                args=[review.pk])
    page = other.get(reverse("moderation:qa_review", args=[review.pk])).content.decode()
    assert "Acme runner 0" in page and 'data-testid="qa-answer"' in page
    assert "first-mod" not in page and "first-mod-note" not in page and "Trademark misuse in the listing</b>" not in page
    assert logged_in(lead).get(reverse("moderation:qa_review", args=[review.pk])).status_code == 404

    other.post(reverse("moderation:qa_review", args=[review.pk]), {"action": "dismiss", "reason_code": "genuine"})
    review.refresh_from_db()
    assert review.outcome == QAReview.Outcome.DISAGREE
    case.refresh_from_db()
    assert case.listing.status == "removed"  # a second review never changes the listing

    boss = logged_in(lead)
    assert "second-mod" in boss.get(reverse("moderation:qa_disagreements")).content.decode()
    boss.post(reverse("moderation:qa_disagreements"), {"review": review.pk, "resolution": "first"})
    review.refresh_from_db()
    assert review.resolution == "first" and review.resolved_by == lead

    figures = {f.username: f for f in qa.figures_visible_to(lead)}
    assert figures["first-mod"].agreement_rate == 0.0 and figures["first-mod"].median_minutes_per_case is not None
    own = other.get(reverse("moderation:qa")).content.decode()
    assert 'data-testid="figures-second-mod"' in own and 'data-testid="figures-first-mod"' not in own
    assert 'data-testid="figures-first-mod"' in boss.get(reverse("moderation:qa")).content.decode()


def test_golden_cases_measure_accuracy_and_sampling_respects_the_rate(world, settings):
    settings.QA_SAMPLE_RATE = 0.0
    first, second, lead = world["first"], world["second"], world["lead"]
    decision = actions.do_take_down(world["cases"][1].pk, acting_user=first)
    assert not QAReview.objects.exists()  # rate 0: not sampled
    logged_in(lead).post(reverse("moderation:mark_golden", args=[decision.case_id]))
    golden = QAReview.objects.filter(kind="golden")
    assert set(golden.values_list("reviewer__username", flat=True)) == {"second-mod", "lead"}
    qa.answer_review(golden.get(reviewer=second).pk, acting_user=second, action="takedown",
                     reason_code="counterfeit")
    assert qa.moderator_figures(second).golden_accuracy == 1.0
    with pytest.raises(PermissionError):
        qa.mark_golden(world["cases"][1], acting_user=second)
