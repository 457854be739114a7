"""A second moderator gets a sampled case as a blind QA review: the evidence, but not the first decision."""
import pytest

from anticounterfeit.accounts.models import Role
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case, QAReview
from tests.factories import make_brand, make_reference, scanned_listing

from .pages import login

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_second_reviewer_answers_a_qa_case_without_seeing_the_first_decision(live_server, browser, make_user, shot,
                                                                              settings):
    settings.QA_SAMPLE_RATE = 1.0
    brand = make_brand()
    case = Case.objects.get(listing=scanned_listing("Q-1", "S-1", score=0.92, brand=brand, ref=make_reference(brand),
                                                    title="Acme runner, mirror quality"))
    make_user("second", Role.MODERATOR)
    actions.do_take_down(case.pk, acting_user=make_user("first", Role.MODERATOR),
                         reason_code="trademark_misuse", note="first reviewer's note")
    review = QAReview.objects.get()
    assert review.reviewer.username == "second"

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(page, live_server.url, "second")
    page.click("nav >> text=QA")
    page.wait_for_selector("[data-testid=qa-pending]")
    shot(page, "qa_queue_second")
    page.click(f"text=QA #{review.pk}")
    page.wait_for_selector("[data-testid=qa-answer]")
    text = page.inner_text("body")
    assert "Acme runner, mirror quality" in text and "Why it was flagged" in text
    assert "first reviewer's note" not in text and "by first" not in text and "Removed" not in text
    shot(page, "qa_review_blind")
    page.check("input[name=action][value=takedown]")
    page.select_option("#qa-reason", "counterfeit")
    page.click("#qa-form button[type=submit]")
    page.wait_for_selector(".messages")
    review.refresh_from_db()
    assert review.outcome == QAReview.Outcome.AGREE
    assert "100%" in page.inner_text("[data-testid=figures-second]")
    shot(page, "qa_answered")
