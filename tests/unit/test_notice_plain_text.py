"""Every notice's plain-text part is plain text: quotes, ampersands and angle brackets stay as typed.

Each ``.txt`` template under templates/notifications is rendered with hostile data in every string it shows;
no HTML entity may appear. The HTML part of the same e-mail still escapes.
"""
import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from anticounterfeit.notifications.models import Notification
from anticounterfeit.notifications.rendering import email_parts, render_text

REPO = Path(__file__).resolve().parents[2]
TEXT_TEMPLATES = sorted((REPO / "templates" / "notifications").glob("*.txt"))
HOSTILE = 'Tom & Jerry\'s "best" <bag>'
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def hostile_context(outcome: str = "removed") -> dict:
    seller = NS(name=HOSTILE, seller_key=HOSTILE, trust_rating=41, trust_tier="fair", email="s@example.com")
    return {
        "seller": seller, "listing": NS(listing_key=HOSTILE, title=HOSTILE), "brand": NS(name=HOSTILE),
        "recipient": NS(get_username=lambda: HOSTILE), "review": NS(seller=seller, strikes=3, window_days=90),
        "brand_name": HOSTILE, "reason": HOSTILE, "note": HOSTILE, "tier": HOSTILE, "outcome": outcome,
        "declined": True, "strikes": 3, "window_days": 90, "rating_before": 80, "rating_after": 61,
        "appeal_deadline": dt.date(2026, 12, 24), "notification": NS(body=HOSTILE, subject=HOSTILE),
        "link": "https://console.example/notices/7/?a=1&b=2",
    }


def test_every_notice_template_is_found():
    assert len(TEXT_TEMPLATES) >= 15, [p.name for p in TEXT_TEMPLATES]


@pytest.mark.parametrize("outcome", ["removed", "reinstated", "dismissed"])
@pytest.mark.parametrize("path", TEXT_TEMPLATES, ids=lambda p: p.name)
def test_plain_text_part_has_no_html_entities(path, outcome):
    text = render_text(f"notifications/{path.name}", hostile_context(outcome))
    assert not ENTITY.search(text), f"{path.name}: {ENTITY.findall(text)} in {text!r}"
    source = path.read_text()
    if re.search(r"\{\{ *(listing|seller|brand|review|note|reason|notification|recipient)", source):
        assert '"best"' in text or "<bag>" in text, f"{path.name} shows none of the data: {text!r}"


def test_email_text_part_is_plain_and_html_part_escaped():
    notification = Notification(subject=HOSTILE, body=render_text("notifications/takedown.txt", hostile_context()))
    text, html = email_parts(notification, "https://console.example/n/1/?a=1&b=2")
    assert HOSTILE in text and "?a=1&b=2" in text and not ENTITY.search(text)
    assert HOSTILE not in html and "Tom &amp; Jerry" in html and "&lt;bag&gt;" in html
