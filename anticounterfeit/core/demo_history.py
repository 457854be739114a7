"""The demo's past: weeks of marketplace activity replayed through the same actions as live work.

Each event runs with the clock set to its moment (time_machine, frozen), and its consequences (scans, notices,
webhook deliveries, seller links, bank builds) run on the embedded runner before the clock moves on, so audit rows,
trust events, notices and deliveries carry the times they would have had. Nothing here writes a row itself: the
actions do. The same bundle, seed and number of days give the same history.
"""
import heapq
import itertools
import json
import logging
import math
import random
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import time_machine
from django.conf import settings
from django.test.utils import override_settings
from django.utils import timezone

from anticounterfeit.api.intake import IntakeRejected, accept_validated
from anticounterfeit.catalog.actions import ReportRefused, report_listing
from anticounterfeit.catalog.models import Brand
from anticounterfeit.core import queue, tasks
from anticounterfeit.detection.actions import NotEnoughDecisions, train_scorer
from anticounterfeit.detection.scanning import SCAN_BATCH
from anticounterfeit.listings.management.commands.ingest_listings import read_listing_line
from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Appeal, Case, Decision
from anticounterfeit.notifications.actions import requeue_failed_webhooks, set_webhook_url
from anticounterfeit.trust import actions as trust_actions
from anticounterfeit.trust.models import RestrictionReview

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
LIVE_WEBHOOK_URL = "https://hooks.demo-marketplace.example/anticounterfeit"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class HistoryConfig:
    days: int = 42
    seed: int = 7
    end: datetime | None = None  # the demo's "now"; the history ends a little before it
    # Cases opened in the last this-much are left open for the demo's moderators (so the queue has work).
    open_tail: timedelta = timedelta(hours=72)
    # Escalations and appeals of the last this-much are left for the demo's lead.
    lead_tail: timedelta = timedelta(days=3)
    backlog_share: float = 0.2  # older cases nobody has got to yet (the dashboard's oldest-case age)
    escalate_share: float = 0.1  # moderators send this share of cases to a lead
    wrong_takedown_share: float = 0.2  # flagged genuine listings a moderator takes down anyway (appeals reinstate)
    appeal_share: float = 0.3  # sellers appeal this share of correct takedowns (a lead upholds them)
    decision_median_hours: float = 5.0  # time from a case opening to its decision (log-normal)
    # The marketplace's webhook receiver is down in these windows (days from the start, length in hours).
    receiver_outages: tuple[tuple[float, float], ...] = ((0.35, 72.0), (0.7, 5.0), (0.97, 48.0))
    sweep_every: timedelta = timedelta(hours=3)  # the beat's sweeper of failed webhook deliveries
    scorer_retrain_at: tuple[float, ...] = (0.55, 0.85)  # fractions of the period
    min_training_decisions: int = 10
    over_report_share: float = 1.0  # the second brand also reports genuine resales (moderators dismiss them)


@dataclass
class Cast:
    """The demo's people and the marketplace whose listings arrive."""

    moderators: list
    leads: list
    admin: object
    brand_owners: dict  # brand pk -> user
    client: object


@dataclass
class HistorySummary:
    counts: Counter = field(default_factory=Counter)
    refused_listings: int = 0


class _Receiver:
    """The demo marketplace's webhook endpoint on loopback: answers 200, or 503 while "down" (by the travelled clock)."""

    def __init__(self, outages: list[tuple[datetime, datetime]], unknown_listings: set[str]):
        def answer(handler):
            body = json.loads(handler.rfile.read(int(handler.headers.get("Content-Length") or 0)) or b"{}")
            now = timezone.now()
            if any(start <= now < end for start, end in outages):
                code, text = 503, b"maintenance"
            elif body.get("listing_id") in unknown_listings:  # deleted on the marketplace: refused on every try
                code, text = 404, b"unknown listing"
            else:
                code, text = 200, b"ok"
            handler.send_response(code)
            handler.end_headers()
            handler.wfile.write(text)

        handler = type("Handler", (BaseHTTPRequestHandler,), {"do_POST": answer, "log_message": lambda *a: None})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/anticounterfeit"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def lognormal(rng: random.Random, median: timedelta, sigma: float, low: timedelta, high: timedelta) -> timedelta:
    return min(high, max(low, median * math.exp(rng.gauss(0.0, sigma))))


def arrival_times(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    """Arrivals spread over the period (more on later days: the marketplace grows), within 16 hours of each day,
    sorted. Days count from ``start``, not the calendar: one seed gives one history relative to the demo's "now"."""
    span = (end - start).total_seconds()
    times = []
    for _ in range(n):
        day = int(span * math.sqrt(rng.random()) // DAY.total_seconds())
        times.append(max(start, min(end, start + day * DAY + timedelta(hours=rng.uniform(1, 16)))))
    return sorted(times)


class History:
    """An event queue in time order; each handler runs at its moment and may schedule later events."""

    def __init__(self, bundle: Path, cast: Cast, cfg: HistoryConfig):
        self.cfg, self.cast, self.bundle = cfg, cast, bundle
        self.rng = random.Random(cfg.seed)
        self.end = cfg.end or timezone.now()
        self.start = self.end - timedelta(days=cfg.days)
        self.labels = {r["listing_id"]: r for r in _jsonl(bundle / "labels.jsonl")}
        self.summary = HistorySummary()
        self._events: list = []
        self._seq = itertools.count()
        self._scheduled_cases: set[int] = set()
        self._reviews_seen: set[int] = set()
        self._reviews_waiting: list[int] = []
        self._second_brand: str | None = None  # its owners also report genuine resales

    # --- the clock ---

    def at(self, when: datetime, handler: Callable, *args) -> None:
        if when <= self.end:
            heapq.heappush(self._events, (when, next(self._seq), handler, args))

    def run(self) -> HistorySummary:

        brands = {b.pk: b.brand_key for b in Brand.objects.filter(pk__in=self.cast.brand_owners)}
        keys = [brands[pk] for pk in self.cast.brand_owners]  # in the cast's order: the trusted brand first
        self._second_brand = keys[1] if len(keys) > 1 else None
        outages = [(self.start + timedelta(days=self.cfg.days * f), self.start + timedelta(days=self.cfg.days * f) + hours * HOUR)
                   for f, hours in self.cfg.receiver_outages]
        # The receiver is on loopback over plain http, which deliveries refuse outside tests: allowed for the replay only.
        local = {**settings.NOTIFY, "WEBHOOK_ALLOW_HTTP": True, "WEBHOOK_ALLOW_PRIVATE_HOSTS": True}
        # The marketplace deleted some listings itself before our notice came: its receiver refuses those for good.
        unknown = {key for key in self.labels if zlib.crc32(key.encode()) % 5 == 0}
        with _Receiver(outages, unknown) as receiver, override_settings(NOTIFY=local):
            self._set_webhook_url(receiver.url)
            self._plan_arrivals()
            sweep = self.start + self.cfg.sweep_every
            while sweep <= self.end:
                self.at(sweep, self.sweep_webhooks)
                sweep += self.cfg.sweep_every
            week = self.start + 7 * DAY
            while week <= self.end:
                self.at(week, self.weekly_bank_build)
                week += 7 * DAY
            self.at(self.end - 2 * HOUR, self.lead_has_work)
            for fraction in self.cfg.scorer_retrain_at:
                self.at(self.start + timedelta(days=self.cfg.days * fraction), self.retrain_scorer)
            while self._events:
                when, _, handler, args = heapq.heappop(self._events)
                with time_machine.travel(when, tick=False):
                    handler(when, *args)
                    queue.wait_until_idle()  # the consequences happen at this moment too
        # The loopback receiver ends with the replay: the marketplace's address from now on (live deliveries to it
        # fail, as the demo has no network, and show the retry path).
        self._set_webhook_url(LIVE_WEBHOOK_URL, self.end)
        return self.summary

    def _set_webhook_url(self, url: str, when: datetime | None = None) -> None:

        with time_machine.travel(when or self.start - DAY, tick=False):
            set_webhook_url(self.cast.client, url, acting_user=self.cast.admin)

    # --- listings arrive and are scanned ---

    def _plan_arrivals(self) -> None:
        rows = _jsonl(self.bundle / "listings.jsonl")
        times = arrival_times(self.rng, len(rows), self.start + 6 * HOUR, self.end - HOUR)
        by_day: dict = {}
        for row, when in zip(rows, times, strict=True):
            self.at(when, self.arrive, row)
            by_day.setdefault((when - self.start) // DAY, []).append(when)
        for whens in by_day.values():  # each day's arrivals are scanned in one batch, shortly after the last
            self.at(max(whens) + timedelta(minutes=self.rng.randint(2, 20)), self.scan_waiting)

    def arrive(self, when, row: dict) -> None:

        try:
            accept_validated(read_listing_line(row, self.bundle), client=self.cast.client, enqueue=False)
        except IntakeRejected:  # a restricted seller's new listing is refused, as it would be live
            self.summary.refused_listings += 1
            return
        self.summary.counts["listings"] += 1

    def _brand_will_report(self, listing_key: str) -> bool:
        """Brands report their counterfeits; the second brand also reports genuine resales of its goods."""
        label = self.labels.get(listing_key, {})
        over_reported = (label.get("category", "").startswith(("g_resale", "g_compatible"))
                         and label.get("brand_id") == self._second_brand
                         and self.rng.random() < self.cfg.over_report_share)
        return bool(label.get("brand_id")) and bool(label.get("counterfeit") or over_reported)

    def scan_waiting(self, when) -> None:

        pending = list(Listing.objects.filter(status=Listing.Status.PENDING).values_list("pk", flat=True))
        for start in range(0, len(pending), SCAN_BATCH):  # model-sized batches, as the intake queues them
            queue.enqueue(tasks.SCAN_BATCH, pending[start:start + SCAN_BATCH])
        queue.wait_until_idle()
        for case in Case.objects.open().filter(listing_id__in=pending):
            self._schedule_decision(case, when)
        for key in Listing.objects.filter(pk__in=pending).order_by("pk").values_list("listing_key", flat=True):
            if self._brand_will_report(key):  # the brand's team finds it some hours after it went live
                self.at(when + lognormal(self.rng, 90 * timedelta(minutes=1), 0.7, 20 * timedelta(minutes=1),
                                         30 * HOUR), self.brand_report, key)

    # --- moderators, leads, brands, sellers ---

    def _schedule_decision(self, case, when, *, backlog: bool = True) -> None:
        """``backlog``: the case may be one nobody gets to (brand reports rank first, so they never are)."""
        if case.pk in self._scheduled_cases:
            return
        self._scheduled_cases.add(case.pk)
        if when > self.end - self.cfg.open_tail or (backlog and self.rng.random() < self.cfg.backlog_share):
            return  # left for the demo's moderators
        delay = lognormal(self.rng, self.cfg.decision_median_hours * HOUR, 0.9, 10 * timedelta(minutes=1), 60 * HOUR)
        self.at(when + delay, self.moderator_decides, case.pk)

    def _is_counterfeit(self, case) -> bool:
        return bool(self.labels.get(case.listing.listing_key, {}).get("counterfeit"))

    def moderator_decides(self, when, case_id: int) -> None:

        case = Case.objects.select_related("listing").get(pk=case_id)
        if case.state != Case.State.OPEN:
            return
        moderator = self.rng.choice(self.cast.moderators)
        actions.claim_case(case.pk, acting_user=moderator)
        fake = self._is_counterfeit(case)
        if self.rng.random() < self.cfg.escalate_share:
            actions.do_escalate(case.pk, acting_user=moderator, note="Not sure: the photos could be the brand's own.")
            self.summary.counts["escalated"] += 1
            if when > self.end - self.cfg.lead_tail:
                return  # in the lead's queue
            self.at(when + lognormal(self.rng, 14 * HOUR, 0.5, 2 * HOUR, 48 * HOUR), self.lead_decides, case.pk)
        elif fake or not self.summary.counts["wrong_takedowns"] or self.rng.random() < self.cfg.wrong_takedown_share:
            decision = actions.do_take_down(case.pk, acting_user=moderator)
            self.summary.counts["takedowns"] += 1
            self.summary.counts["wrong_takedowns"] += not fake
            self._maybe_appeal(decision, when, wrong=not fake)
        else:
            actions.do_dismiss(case.pk, acting_user=moderator)
            self.summary.counts["dismissals"] += 1
        self._restriction_reviews(when)

    def lead_decides(self, when, case_id: int) -> None:

        case = self._case(case_id)
        lead = self.cast.leads[0]
        if self._is_counterfeit(case):
            actions.do_take_down(case.pk, acting_user=lead, note="Confirmed by a lead.")
            self.summary.counts["takedowns"] += 1
        else:
            actions.do_dismiss(case.pk, acting_user=lead, note="The brand's own photos, resold.")
            self.summary.counts["dismissals"] += 1
        self._restriction_reviews(when)

    def _case(self, case_id: int):

        return Case.objects.select_related("listing").get(pk=case_id)

    def brand_report(self, when, listing_key: str) -> None:
        """The brand's own team finds its counterfeit and reports it (a takedown at once once it has earned that)."""

        label = self.labels[listing_key]
        brand = Brand.objects.filter(brand_key=label["brand_id"], pk__in=self.cast.brand_owners).first()
        listing = Listing.objects.filter(listing_key=listing_key, client=self.cast.client).first()
        if brand is None or listing is None:
            return
        try:
            report = report_listing(listing, brand, acting_user=self.cast.brand_owners[brand.pk],
                                    reason_code="counterfeit", note="Not one of our products: logo and label are off.")
        except ReportRefused:
            return
        self.summary.counts["brand_reports"] += 1
        if report.direct_removal:
            self.summary.counts["self_service_removals"] += 1
            self._restriction_reviews(when)
        else:
            self._scheduled_cases.discard(report.case_id)  # reported cases are decided first, whatever was planned
            self._schedule_decision(report.case, when, backlog=False)

    def _maybe_appeal(self, decision, when, *, wrong: bool) -> None:
        recent = when > self.end - 3 * DAY  # recent takedowns bring appeals a lead has not decided yet
        if wrong or self.rng.random() < (2 * self.cfg.appeal_share if recent else self.cfg.appeal_share):
            after = lognormal(self.rng, 20 * HOUR, 0.5, 2 * HOUR, 4 * DAY)
            self.at(when + after, self.seller_appeals, decision.pk, wrong)

    def seller_appeals(self, when, decision_id: int, wrong: bool) -> None:

        decision = Decision.objects.select_related("case__listing__seller").get(pk=decision_id)
        statement = ("This is a genuine item bought from the brand's outlet; the receipt is attached." if wrong
                     else "I did not know it was not genuine. Please restore the listing.")
        appeal = actions.file_appeal(decision, seller=decision.case.listing.seller, statement=statement)
        self.summary.counts["appeals"] += 1
        if when > self.end - self.cfg.lead_tail:
            return  # in the lead's queue
        self.at(when + lognormal(self.rng, 30 * HOUR, 0.4, 6 * HOUR, 4 * DAY), self.lead_decides_appeal, appeal.pk,
                wrong)

    def lead_decides_appeal(self, when, appeal_id: int, reinstate: bool) -> None:

        note = "Receipt checks out: reinstated." if reinstate else "Logo and stitching do not match the brand's."
        actions.decide_appeal(appeal_id, acting_user=self.cast.leads[0], reinstate=reinstate, note=note)
        self.summary.counts["appeals_reinstated" if reinstate else "appeals_upheld"] += 1

    def _restriction_reviews(self, when) -> None:
        """Strikes open restriction reviews by themselves (trust.actions). A lead restricts each seller once the
        next review has opened, so the latest review is always still open for the demo's lead."""

        for review in RestrictionReview.objects.filter(state=RestrictionReview.State.OPEN).exclude(
                pk__in=self._reviews_seen).order_by("pk"):
            for earlier in self._reviews_waiting:
                self.at(when + lognormal(self.rng, DAY, 0.3, 6 * HOUR, 3 * DAY), self.lead_restricts, earlier)
            self._reviews_waiting = [review.pk]
            self._reviews_seen.add(review.pk)
            self.summary.counts["restriction_reviews"] += 1

    def lead_restricts(self, when, review_id: int) -> None:

        if not RestrictionReview.objects.filter(pk=review_id, state=RestrictionReview.State.OPEN).exists():
            return

        trust_actions.decide_restriction(review_id, acting_user=self.cast.leads[0], restrict=True,
                                         note="Three confirmed counterfeits within the window.")
        self.summary.counts["restrictions"] += 1

    def lead_has_work(self, when) -> None:
        """However the dice fell, the demo's lead finds an escalated case and an appeal waiting."""

        if not Case.objects.filter(state=Case.State.ESCALATED).exists():
            case = Case.objects.open().filter(state=Case.State.OPEN).order_by("opened_at").first()
            if case is not None:
                moderator = self.cast.moderators[-1]
                actions.claim_case(case.pk, acting_user=moderator)
                actions.do_escalate(case.pk, acting_user=moderator, note="Not sure: could be the brand's own photos.")
                self.summary.counts["escalated"] += 1
        if not Appeal.objects.filter(status=Appeal.Status.OPEN).exists():
            decision = (Decision.objects.filter(action=Decision.Action.TAKEDOWN, appeals__isnull=True,
                                                created_at__gt=when - settings.APPEAL_WINDOW,
                                                moderator__in=self.cast.moderators,
                                                case__listing__status="removed")
                        .order_by("-created_at").first())
            if decision is not None:
                self.seller_appeals(when, decision.pk, False)

    # --- the beat's work ---

    def sweep_webhooks(self, when) -> None:

        requeue_failed_webhooks()

    def weekly_bank_build(self, when) -> None:
        queue.enqueue(tasks.REBUILD_BANKS, reason="weekly build: the week's confirmed counterfeits")
        self.summary.counts["bank_builds"] += 1

    def retrain_scorer(self, when) -> None:

        try:
            train_scorer(acting_user=self.cast.admin, min_decisions=self.cfg.min_training_decisions)
        except NotEnoughDecisions as exc:
            log.warning("demo history: no scorer retrained at %s: %s", when, exc)
            return
        self.summary.counts["scorer_versions"] += 1


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replay(bundle: Path, cast: Cast, cfg: HistoryConfig) -> HistorySummary:
    """Replay ``cfg.days`` of history on a freshly imported catalog (embedded mode: consequences run in-process)."""
    if not settings.EMBEDDED_MODE:
        raise RuntimeError("the demo history runs in the embedded mode: its consequences must run at their moment")
    return History(bundle, cast, cfg).run()
