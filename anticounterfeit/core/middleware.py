"""Tags each request with an id that audit rows copy, so one click can be traced across rows."""
import threading
import uuid

_local = threading.local()


def current_request_id() -> str:
    return getattr(_local, "request_id", "")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _local.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        try:
            response = self.get_response(request)
        finally:
            request_id = _local.request_id
            _local.request_id = ""
        response["X-Request-ID"] = request_id
        return response
