"""Rendering notices: plain-text parts without HTML escaping, HTML parts with it.

A notice's subject and body are stored as plain text and sent as the e-mail's text/plain part. Django
escapes for HTML by default, which turned a seller's quote into ``&quot;`` there; text templates are
rendered with autoescaping off, and the HTML views escape the stored text when they show it.
"""
from django.template import Context
from django.template.loader import get_template


def render_text(template_name: str, context: dict) -> str:
    """A ``.txt`` template rendered as plain text (no HTML escaping), returned as a plain ``str``: not marked
    safe, so an HTML page that shows it escapes it."""
    return "".join([get_template(template_name).template.render(Context(context, autoescape=False))])


def email_parts(notification, link: str) -> tuple[str, str]:
    """The (text/plain, text/html) bodies of a notice's e-mail."""
    context = {"notification": notification, "link": link}
    return (render_text("notifications/email.txt", context),
            get_template("notifications/email.html").render(context))
