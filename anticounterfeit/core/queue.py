"""The one way to queue work: by task name, through the transactional outbox.

``enqueue`` writes an ``OutboxMessage`` in the caller's transaction, so a consequence exists exactly when the
state change it follows from commits. After the commit it is published at once; if the broker is down the
request still succeeds and the relay (``publish_pending``: ``./run relay`` and a beat task) publishes it later.
The Django apps never import ``workers``: they name tasks (``anticounterfeit.core.tasks``).

Consumers are keyed by the outbox id (the ``outbox_id`` header of every published message): ``begin_consuming``
says whether the row's consumer already completed (a redelivery then does nothing), ``finish_consuming`` records
the completion and ``dead_letter`` the final failure, which admins see and retry. A row published but never
completed (the broker lost it, e.g. a Redis restart without persistence) is published again by the relay after
``OUTBOX["REPUBLISH_AFTER_SECONDS"]``; that is safe because consumers are idempotent.

In the embedded mode (no broker) published tasks run on one background thread of the same process, so the
person whose request queued them never waits for them (``wait_until_idle`` lets commands wait).
"""
import logging
import queue as stdlib_queue
import threading
from collections.abc import Iterable, Sequence
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from .models import OutboxMessage

log = logging.getLogger(__name__)
# A publish while the broker is down gives up quickly: the relay publishes the row later.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.3}


def enqueue(task_name: str, *args, **kwargs) -> OutboxMessage:
    """Queue ``task_name(*args, **kwargs)`` once the current transaction commits (at once outside one)."""
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: publish([message.pk]), robust=True)
    return message


def enqueue_each(task_name: str, calls: Iterable[Sequence]) -> list[OutboxMessage]:
    """``enqueue`` for many calls of one task (positional arguments each), in one INSERT."""
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task_name=task_name, args=list(call)) for call in calls])
    if messages:
        ids = [message.pk for message in messages]
        transaction.on_commit(lambda: publish(ids), robust=True)
    return messages


def publish(ids: Sequence[int] | None = None, *, limit: int = 500) -> int:
    """Publish pending outbox rows (these ids, or the oldest ``limit``); returns how many went out.

    Rows another publisher holds are skipped (``SKIP LOCKED``), so the commit hook and any number of relays
    never publish one row twice. A broker failure stops the round and leaves the rest pending; it never raises.
    """
    published: list[int] = []
    try:
        with transaction.atomic():
            rows = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
                status=OutboxMessage.Status.PENDING)
            rows = list(rows.filter(pk__in=ids) if ids is not None else rows.order_by("pk")[:limit])
            if settings.EMBEDDED_MODE:  # the runner marks each row published once its task has run
                return _embedded_runner().submit_all(rows)
            for row in rows:
                try:
                    _send(row)
                except (BrokerError, ConnectionError, OSError) as exc:
                    log.warning("broker unavailable: outbox #%s %s left for the relay: %s", row.pk, row.task_name, exc)
                    OutboxMessage.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1,
                                                                   last_error=str(exc)[:300])
                    break
                published.append(row.pk)
            if published:
                OutboxMessage.objects.filter(pk__in=published).update(
                    status=OutboxMessage.Status.PUBLISHED, published_at=timezone.now(), attempts=F("attempts") + 1,
                    last_error="")
    except Exception:  # noqa: BLE001 - a commit hook must never fail the request; the relay retries
        log.exception("outbox publish failed; the relay will retry")
        return 0
    return len(published)


def publish_pending(*, limit: int = 500) -> int:
    """The relay's step: publish the oldest pending rows until none are left or the broker fails; first put
    back in the queue the rows published long ago whose consumer never completed (``republish_unconsumed``)."""
    republish_unconsumed()
    total = 0
    while (sent := publish(limit=limit)) > 0:
        total += sent
        if sent < limit:
            break
    return total


def republish_unconsumed(*, older_than: timedelta | None = None) -> int:
    """Rows published more than ``older_than`` ago and still not done go back to pending (the broker lost them)."""
    if older_than is None:
        older_than = timedelta(seconds=settings.OUTBOX["REPUBLISH_AFTER_SECONDS"])
    return OutboxMessage.objects.filter(status=OutboxMessage.Status.PUBLISHED,
                                        published_at__lt=timezone.now() - older_than).update(
        status=OutboxMessage.Status.PENDING)


def begin_consuming(outbox_id: int | None) -> bool:
    """Whether a consumer should run this message: False when its outbox row already completed."""
    if outbox_id is None:
        return True
    return not OutboxMessage.objects.filter(pk=outbox_id, status=OutboxMessage.Status.DONE).exists()


def finish_consuming(outbox_id: int | None) -> None:
    """Record that the consumer of ``outbox_id`` completed; redeliveries of the message will do nothing."""
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id).update(status=OutboxMessage.Status.DONE, done_at=timezone.now(),
                                                          last_error="")


def dead_letter(outbox_id: int | None, error: str) -> None:
    """The consumer of ``outbox_id`` failed for good (retries exhausted): admins see it and can retry it."""
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id).exclude(status=OutboxMessage.Status.DONE).update(
            status=OutboxMessage.Status.DEAD, last_error=error[:300])
        log.error("outbox #%s is a dead letter: %s", outbox_id, error[:300])


def retry_dead(ids: Sequence[int]) -> int:
    """Put dead letters back in the queue (an admin's retry)."""
    count = OutboxMessage.objects.filter(pk__in=ids, status=OutboxMessage.Status.DEAD).update(
        status=OutboxMessage.Status.PENDING, last_error="")
    transaction.on_commit(lambda: publish(list(ids)), robust=True)
    return count


def _send(row: OutboxMessage) -> None:
    current_app.send_task(row.task_name, args=row.args, kwargs=row.kwargs, headers={"outbox_id": row.pk},
                  retry=True, retry_policy=PUBLISH_RETRY_POLICY)


class EmbeddedRunner:
    """Runs published tasks in order on one daemon thread of this process (the embedded mode's worker).

    A row stays pending until its task has run, so what a process did not get to (it exited) is run by the next
    one's ``publish_pending``.
    """

    def __init__(self) -> None:
        self._calls: stdlib_queue.Queue = stdlib_queue.Queue()
        self._taken: set[int] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="embedded-tasks", daemon=True)
        self._thread.start()

    def submit_all(self, rows: Sequence[OutboxMessage]) -> int:
        """Queue the rows not queued or running already; returns how many were new."""
        with self._lock:
            new = [row for row in rows if row.pk not in self._taken]
            for row in new:
                self._taken.add(row.pk)
                self._calls.put((row.pk, row.task_name, row.args, row.kwargs))
        return len(new)

    def wait_until_idle(self) -> None:
        self._calls.join()

    def _run(self) -> None:
        app = current_app
        app.loader.import_default_modules()  # the task modules named in the app's ``include``
        publish_pending()  # what an earlier process of the embedded mode queued and did not get to
        while True:
            pk, task_name, args, kwargs = self._calls.get()
            try:
                result = app.tasks[task_name].apply(args=args, kwargs=kwargs, throw=False, headers={"outbox_id": pk})
                # An OutboxTask marked its row done or dead; anything else counts as published once it ran.
                OutboxMessage.objects.filter(pk=pk, status=OutboxMessage.Status.PENDING).update(
                    status=OutboxMessage.Status.DEAD if result.failed() else OutboxMessage.Status.PUBLISHED,
                    published_at=timezone.now(), attempts=F("attempts") + 1,
                    last_error=str(result.result)[:300] if result.failed() else "")
            except Exception:  # noqa: BLE001 - one failing task must not stop the runner
                log.exception("embedded task %s failed", task_name)
            finally:
                close_old_connections()
                with self._lock:
                    self._taken.discard(pk)
                self._calls.task_done()


_runner: EmbeddedRunner | None = None
_runner_lock = threading.Lock()


def _embedded_runner() -> EmbeddedRunner:
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = EmbeddedRunner()
        return _runner


def wait_until_idle() -> None:
    """Block until the embedded runner has run everything queued so far (management commands; no-op with a broker).

    Tasks queued by running tasks are waited for too, since they are submitted before their parent finishes.
    """
    if settings.EMBEDDED_MODE and _runner is not None:
        _runner.wait_until_idle()
