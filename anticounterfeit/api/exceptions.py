"""Turn infrastructure failures into a clean 503 instead of a 500.

A dropped database connection rolls the request's transaction back, so nothing was half-written and the
client may simply retry; saying so (503 + Retry-After) is more useful than an HTML error page.
"""
import logging

from django.db import InterfaceError, OperationalError, connection
from rest_framework.response import Response
from rest_framework.views import exception_handler

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    response = exception_handler(exc, context)
    if response is None and isinstance(exc, OperationalError | InterfaceError):
        request = context.get("request")
        log.warning("database unavailable during %s: %s", getattr(request, "path", "?"), exc)
        connection.close()  # never hand a broken connection to the next request
        response = Response({"detail": "service temporarily unavailable; the request was not applied, retry later"},
                            status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return response
