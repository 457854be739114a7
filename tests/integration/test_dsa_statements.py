"""Statements of reasons, for real: a takedown issues a valid statement in its transaction (shown in the notice
and its e-mail, sent by the real worker), the export and the client API give the API's objects, and the
submitter retries through a failing Transparency Database stub."""
import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token

from anticounterfeit.accounts.models import Role
from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.compliance import actions as compliance_actions
from anticounterfeit.compliance import dsa_rules
from anticounterfeit.compliance.models import StatementOfReasons, StatementSubmission
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from anticounterfeit.notifications.models import Notification
from tests.factories import make_brand, make_reference, scanned_listing
from tests.support import wait_for

from .local_servers import transparency_database

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def flagged(key: str, seller: str = "s-1"):
    brand = make_brand()
    listing = scanned_listing(key, seller, score=0.95, brand=brand, ref=make_reference(brand, key=f"ref-{key}"))
    Listing.objects.filter(pk=listing.pk).update(client=MarketplaceClient.objects.first())
    type(listing.seller).objects.filter(pk=listing.seller_id).update(email="seller@example.test")
    return Case.objects.get(listing=listing)


@pytest.fixture
def market(make_user):
    return MarketplaceClient.objects.create(name="Market A", user=make_user("market", Role.API_CLIENT))


def test_a_takedown_issues_a_valid_statement_shown_in_the_notice_and_email(celery_worker_real, market, make_user,
                                                                             client):
    case = flagged("L-100")
    decision = actions.do_take_down(case.pk, acting_user=make_user("mod", Role.MODERATOR))

    statement = StatementOfReasons.objects.get(decision=decision)
    assert dsa_rules.validate(statement.payload) == []
    assert statement.payload["category"] == "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    assert statement.payload["category_specification"] == ["KEYWORD_TRADEMARK_INFRINGEMENT"]
    assert statement.payload["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert statement.payload["automated_detection"] == "Yes" and statement.client == market
    assert "ref-L-100" not in statement.facts and "0.93" not in statement.facts  # nothing confidential
    assert AuditEvent.objects.filter(action="statement.issue", object_id=str(statement.pk)).exists()

    notice = Notification.objects.get(decision=decision, kind="takedown")
    assert "Statement of reasons" in notice.body and statement.puid in notice.body
    wait_for(lambda: Notification.objects.filter(pk=notice.pk, email_status="sent").exists(), message="e-mail sent")
    assert any(statement.puid in message.body and "Redress" in message.body for message in mail.outbox)

    seller_user = make_user("seller", Role.SELLER, seller=case.listing.seller)
    client.force_login(seller_user)
    page = client.get(reverse("notifications:notice", args=[notice.pk])).content.decode()
    assert 'data-testid="statement-of-reasons"' in page and "appeal this decision free of charge" in page
    assert statement.puid in client.get(reverse("notifications:center")).content.decode()


def test_an_invalid_statement_rolls_the_takedown_back(market, make_user, settings):
    settings.DSA = {**settings.DSA, "TERRITORIAL_SCOPE": ["US"]}
    case = flagged("L-101")
    with pytest.raises(dsa_rules.StatementInvalid, match="territorial_scope"):
        actions.do_take_down(case.pk, acting_user=make_user("mod", Role.MODERATOR))
    case.refresh_from_db()
    assert case.state == Case.State.OPEN and not StatementOfReasons.objects.exists()


def test_export_and_client_api_give_the_api_objects(market, make_user, tmp_path, client):
    moderator = make_user("mod", Role.MODERATOR)
    for key in ("L-200", "L-201"):
        actions.do_take_down(flagged(key).pk, acting_user=moderator)
    out = tmp_path / "statements.jsonl"
    call_command("export_statements", "--out", str(out), "--since", "2020-01-01")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2 and all(dsa_rules.validate(line) == [] for line in lines)
    assert set(lines[0]) <= set(dsa_rules.FIELDS)

    other = MarketplaceClient.objects.create(name="Market B", user=make_user("market-b", Role.API_CLIENT))
    for owner, expected in ((market, lines), (other, [])):
        token = Token.objects.create(user=owner.user)
        answer = client.get("/api/v1/statements", HTTP_AUTHORIZATION=f"Token {token.key}").json()
        assert answer["statements"] == expected
    seller_token = Token.objects.create(user=make_user("nosy", Role.MODERATOR))
    assert client.get("/api/v1/statements", HTTP_AUTHORIZATION=f"Token {seller_token.key}").status_code == 403


def test_submitter_retries_through_a_stub_failure_and_records_what_was_accepted(market, make_user, settings):
    moderator = make_user("mod", Role.MODERATOR)
    for key in ("L-300", "L-301", "L-302"):
        actions.do_take_down(flagged(key).pk, acting_user=moderator)
    with transparency_database(fail_first=2) as (url, received):
        settings.DSA = {**settings.DSA, "SUBMIT_URL": url, "SUBMIT_TOKEN": "tdb-token", "SUBMIT_BATCH": 2,
                        "SUBMIT_RETRY_SECONDS": 0.05}
        submissions = compliance_actions.submit_pending()
    assert [s.status for s in submissions] == ["accepted", "accepted"]
    assert [s.attempts for s in submissions] == [3, 1] and len(received) == 4
    assert all(r["headers"]["Authorization"] == "Bearer tdb-token" for r in received)
    assert StatementOfReasons.objects.filter(submitted_at__isnull=True).count() == 0
    assert StatementOfReasons.objects.exclude(database_uuid="").count() == 3
    assert compliance_actions.submit_pending() == []  # nothing left to send


def test_submitter_records_a_refused_statement(market, make_user, settings):
    actions.do_take_down(flagged("L-400").pk, acting_user=make_user("mod", Role.MODERATOR))
    StatementOfReasons.objects.update(payload={**StatementOfReasons.objects.get().payload, "puid": "bad puid"})
    with transparency_database() as (url, _):
        settings.DSA = {**settings.DSA, "SUBMIT_URL": url, "SUBMIT_TOKEN": "tdb-token"}
        [submission] = compliance_actions.submit_pending()
    assert submission.status == StatementSubmission.Status.REJECTED and submission.attempts == 1
    assert "puid" in StatementOfReasons.objects.get().submission_error


def test_transparency_report_page_and_csv_for_leads_only(market, make_user, client):
    moderator = make_user("mod", Role.MODERATOR)
    actions.do_take_down(flagged("L-500").pk, acting_user=moderator)
    client.force_login(moderator)
    assert client.get(reverse("compliance:transparency")).status_code == 403
    client.force_login(make_user("lead", Role.LEAD))
    page = client.get(reverse("compliance:transparency")).content.decode()
    assert "DECISION_GROUND_ILLEGAL_CONTENT: 1" in page
    csv_text = client.get(reverse("compliance:transparency") + "?format=csv").content.decode()
    assert "automated_detection,share,1.0" in csv_text and "statements,total,1" in csv_text


def test_a_brand_self_service_removal_issues_a_statement_naming_the_notifier(market, make_user, settings):
    from anticounterfeit.catalog import actions as catalog_actions

    settings.BRAND_SELF_SERVICE = {"MIN_DECIDED_REPORTS": 1, "WINDOW": 1, "MIN_CONFIRMED_RATE": 0.9,
                                   "MAX_REVERSAL_RATE": 0.05}
    brand = make_brand()
    owner = make_user("owner", Role.BRAND_OWNER, brands=[brand])
    first, second = (scanned_listing(key, "s-9", score=0.3, brand=brand, ref=make_reference(brand, key=f"r-{key}"))
                     for key in ("B-1", "B-2"))
    report = catalog_actions.report_listing(first, brand, acting_user=owner, reason_code="trademark_misuse")
    actions.do_take_down(report.case_id, acting_user=make_user("mod", Role.MODERATOR),
                         reason_code="trademark_misuse")
    direct = catalog_actions.report_listing(second, brand, acting_user=owner, reason_code="counterfeit")
    assert direct.direct_removal
    statement = StatementOfReasons.objects.get(listing=second)
    assert dsa_rules.validate(statement.payload) == []
    assert statement.payload["source_type"] == "SOURCE_ARTICLE_16" and statement.payload["source_identity"] == "Acme"
    assert statement.payload["automated_detection"] == "No" and "self-service removal" in statement.facts
    moderated = StatementOfReasons.objects.get(listing=first).payload
    assert moderated["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert moderated["incompatible_content_ground"] and moderated["incompatible_content_illegal"] == "No"
