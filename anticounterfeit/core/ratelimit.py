"""Login throttling: failed attempts per (username, client IP) and per IP, counted in the shared cache.

Only failures count, so a moderator who logs in correctly is never slowed down; a password guesser is
stopped after ``LOGIN_RATE_LIMIT["FAILURES"]`` tries within ``WINDOW_SECONDS`` (per account, and a wider
budget per IP so one address cannot spray many accounts).
"""
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache

from . import audit


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _keys(request, username: str) -> tuple[str, str]:
    ip = client_ip(request)
    return f"login-fail:user:{username.lower()[:150]}:{ip}", f"login-fail:ip:{ip}"


def login_locked(request, username: str) -> bool:
    limits = settings.LOGIN_RATE_LIMIT
    user_key, ip_key = _keys(request, username)
    return (cache.get(user_key, 0) >= limits["FAILURES"]
            or cache.get(ip_key, 0) >= limits["FAILURES"] * limits["IP_FACTOR"])


def note_login_failure(request, username: str) -> None:
    window = settings.LOGIN_RATE_LIMIT["WINDOW_SECONDS"]
    for key in _keys(request, username):
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def clear_login_failures(request, username: str) -> None:
    cache.delete(_keys(request, username)[0])


class RateLimitedLoginView(auth_views.LoginView):
    """Django's login view that answers 429 once an account or IP has failed too often."""

    template_name = "accounts/login.html"

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if login_locked(request, username):
            form = self.get_form()
            response = self.render_to_response(self.get_context_data(form=form, locked=True))
            response.status_code = 429
            response["Retry-After"] = str(settings.LOGIN_RATE_LIMIT["WINDOW_SECONDS"])
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = self.request.POST.get("username", "")
        note_login_failure(self.request, username)
        if login_locked(self.request, username):
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username=username).first()
            if user is not None:
                audit.record("login.locked", user, after={"ip": client_ip(self.request)})
        return super().form_invalid(form)

    def form_valid(self, form):
        clear_login_failures(self.request, form.get_user().get_username())
        return super().form_valid(form)
