"""``./run relay``: publish the outbox rows that the commit hooks could not (the broker was down), in a loop.

Run one or more (rows are taken with SKIP LOCKED, so relays never publish a row twice). SIGTERM or SIGINT ends
the loop after the current round.
"""
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from anticounterfeit.core import queue


class Command(BaseCommand):
    help = "Publish pending outbox messages to the broker until stopped (SIGTERM ends it gracefully)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--interval", type=float, default=None,
                            help="seconds between rounds (default OUTBOX_RELAY_INTERVAL_SECONDS)")

    def handle(self, *args, once: bool = False, interval: float | None = None, **options) -> None:
        pause = settings.OUTBOX["RELAY_INTERVAL_SECONDS"] if interval is None else interval
        stopping = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.set())
        self.stdout.write(f"outbox relay: every {pause}s")
        while not stopping.is_set():
            sent = queue.publish_pending()
            if sent:
                self.stdout.write(f"published {sent}")
            close_old_connections()
            if once:
                break
            stopping.wait(pause)
        self.stdout.write("outbox relay stopped")
