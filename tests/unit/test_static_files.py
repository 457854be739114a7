"""The console's static files: htmx is vendored with its licence and served by the app server with DEBUG off."""
from django.contrib.staticfiles import finders


def test_vendored_htmx_is_served_locally_with_its_licence():
    path = finders.find("vendor/htmx.min.js")
    assert path is not None
    with open(path, encoding="utf-8") as f:
        assert "Zero-Clause BSD" in f.readline()
        assert f.read(20).startswith("var htmx=function()")
    assert finders.find("vendor/htmx.LICENSE") is not None


def test_static_files_are_served_with_debug_off(settings):
    """The console's vendored htmx must load in production too (whitenoise), with a long-lived cache header."""
    from django.test import Client

    settings.DEBUG = False
    response = Client().get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"htmx" in body[:2000]
    assert Client().get("/static/vendor/no-such-file.js").status_code == 404
