"""Webhook URL guard rules (no server-side request forgery): which addresses count as internal, and the defaults.

Refusals at save and delivery time, with local receivers, are in tests/integration/test_webhook_ssrf.py.
"""
import ipaddress

import pytest

from anticounterfeit.notifications.webhook_guard import blocked_kind


@pytest.mark.parametrize("address,kind", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.31.0.1", "private"), ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.251", "multicast"),
    ("100.64.0.1", "non-public"), ("::1", "loopback"), ("fc00::1", "private"), ("fe80::1", "link-local"),
    ("ff02::1", "multicast"), ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"),
    ("64:ff9b::a9fe:a9fe", "link-local"), ("8.8.8.8", None), ("2606:4700::1111", None),
])
def test_internal_addresses_are_classified(address, kind):
    assert blocked_kind(ipaddress.ip_address(address)) == kind


def test_the_default_settings_refuse_private_hosts_and_plain_http():
    from django.conf import settings

    assert settings.NOTIFY["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is False and settings.NOTIFY["WEBHOOK_ALLOW_HTTP"] is False
