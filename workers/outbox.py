"""The base of every task: a message published from the outbox runs its consumer at most once to completion.

The relay sends each message with an ``outbox_id`` header. Before running, the task asks ``core.queue`` whether
that row already completed (a redelivery, or a republish after the broker lost track) and then does nothing;
after success it records completion; when retries are exhausted the row becomes a dead letter for admins.
Messages without the header (beat's own schedule) run as usual.
"""
from celery import Task

from anticounterfeit.core import queue as outbox

HEADER = "outbox_id"


def outbox_id_of(request) -> int | None:
    """The header as the worker sees it: an attribute of the request, or inside ``headers`` (eager ``apply``)."""
    value = getattr(request, HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    return int(value) if value is not None else None


class OutboxTask(Task):
    abstract = True

    def __call__(self, *args, **kwargs):
        outbox_id = outbox_id_of(self.request)
        if not outbox.begin_consuming(outbox_id):
            return None
        result = super().__call__(*args, **kwargs)
        outbox.finish_consuming(outbox_id)
        return result

    def signature_from_request(self, request=None, args=None, kwargs=None, queue=None, **extra_options):
        """A retry is a new message: it keeps the outbox id, so it is still keyed by it."""
        outbox_id = outbox_id_of(self.request if request is None else request)
        if outbox_id is not None:
            headers = dict(extra_options.pop("headers", None) or {})
            headers[HEADER] = outbox_id
            extra_options["headers"] = headers
        return super().signature_from_request(request, args, kwargs, queue=queue, **extra_options)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        outbox.dead_letter(outbox_id_of(self.request), f"{type(exc).__name__}: {exc}")
