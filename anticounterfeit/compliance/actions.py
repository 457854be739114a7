"""Issuing statements of reasons (in the takedown's transaction) and submitting them to the Transparency Database."""
import logging
import time

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anticounterfeit.core import audit

from . import statements
from .models import StatementOfReasons, StatementSubmission

log = logging.getLogger(__name__)


@transaction.atomic
def record_statement(decision, *, appeal_deadline, via_brand: bool, acting_user=None) -> StatementOfReasons:
    """The statement of reasons for a takedown, validated against the API's rules before it is stored.

    Called by the takedown itself, so a takedown without a valid statement does not happen (``StatementInvalid``
    rolls the decision back).
    """
    listing = decision.case.listing
    fields = statements.build(decision, appeal_deadline=appeal_deadline, via_brand=via_brand)
    statement = StatementOfReasons.objects.create(decision=decision, listing=listing, seller=listing.seller,
                                                  client_id=listing.client_id, **fields)
    audit.record("statement.issue", statement, actor=acting_user,
                 after={"decision": decision.pk, "ground": statement.ground, "puid": statement.puid})
    return statement


def export_rows(*, since=None, queryset=None):
    """The API objects of the statements (oldest first), for the export command and the client API."""
    rows = queryset if queryset is not None else StatementOfReasons.objects.all()
    if since is not None:
        rows = rows.filter(decided_at__date__gte=since)
    return rows.order_by("decided_at", "pk")


def _post(url: str, token: str, batch: list[dict]) -> requests.Response:
    return requests.post(url, json={"statements": batch}, timeout=settings.DSA["SUBMIT_TIMEOUT_SECONDS"],
                         headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})


def submit_batch(rows: list[StatementOfReasons]) -> StatementSubmission:
    """POST one batch with retries (network errors and 5xx/429 answers), then record what was accepted.

    The API answers 201 with the created statements (each with its ``uuid``, in order) or 422 with the errors
    of the refused ones; a 422 is not retried: the statements need fixing, not resending.
    """
    cfg = settings.DSA
    url, token = cfg["SUBMIT_URL"], cfg["SUBMIT_TOKEN"]
    code, error, body, attempts = None, "", None, 0
    for attempts in range(1, cfg["SUBMIT_RETRIES"] + 2):
        try:
            response = _post(url, token, [row.payload for row in rows])
        except requests.RequestException as exc:
            code, error = None, f"{type(exc).__name__}: {exc}"[:500]
        else:
            code = response.status_code
            if 200 <= code < 300 or code == 422:
                body, error = response.json(), ""
                break
            error = f"HTTP {code}: {response.text[:300]}"
        if attempts <= cfg["SUBMIT_RETRIES"]:
            time.sleep(cfg["SUBMIT_RETRY_SECONDS"] * 2 ** (attempts - 1))
    return _record_submission(rows, url=url, code=code, error=error, body=body, attempts=attempts)


@transaction.atomic
def _record_submission(rows, *, url: str, code, error: str, body, attempts: int) -> StatementSubmission:
    status = StatementSubmission.Status
    accepted = 0
    if body is not None and code != 422:
        created = body.get("statements", [])
        now = timezone.now()
        for row, echo in zip(rows, created, strict=False):
            StatementOfReasons.objects.filter(pk=row.pk).update(
                submitted_at=now, database_uuid=str(echo.get("uuid", ""))[:64], submission_error="")
            accepted += 1
        outcome = status.ACCEPTED
    elif code == 422:
        errors = (body or {}).get("errors", {})
        for index, row in enumerate(rows):
            refused = errors.get(f"statement_{index}")
            StatementOfReasons.objects.filter(pk=row.pk).update(
                submission_error=str(refused)[:500] if refused else "batch refused: another statement was invalid")
        outcome, error = status.REJECTED, str(errors)[:500]
    else:
        outcome = status.FAILED
    submission = StatementSubmission.objects.create(endpoint=url, status=outcome, attempts=attempts,
                                                    accepted=accepted, last_status_code=code, last_error=error)
    submission.statements.set(rows)
    audit.record("statement.submit", submission, after={"status": outcome, "accepted": accepted,
                                                        "statements": len(rows), "attempts": attempts})
    if outcome != status.ACCEPTED:
        log.warning("statement submission %s %s after %s attempts: %s", submission.pk, outcome, attempts, error)
    return submission


def submit_pending(limit: int | None = None) -> list[StatementSubmission]:
    """Submit every statement not yet accepted, in batches of ``DSA_SUBMIT_BATCH``; nothing when no endpoint is set."""
    cfg = settings.DSA
    if not cfg["SUBMIT_URL"]:
        return []
    pending = list(StatementOfReasons.objects.filter(submitted_at__isnull=True, submission_error="")
                   .order_by("decided_at", "pk")[:limit])
    size = cfg["SUBMIT_BATCH"]
    return [submit_batch(pending[i:i + size]) for i in range(0, len(pending), size)]
