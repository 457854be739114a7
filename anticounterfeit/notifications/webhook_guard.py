"""Webhook URLs must not reach inside our own network (server-side request forgery).

Whoever edits a client's webhook URL chooses where our workers POST. Without a guard that could be the cloud
metadata service (169.254.169.254), an admin port on loopback or any host on the private network. So:

* the scheme is https (plain http only with ``NOTIFY["WEBHOOK_ALLOW_HTTP"]``);
* every address the host resolves to must be globally routable: loopback, private (10/8, 172.16/12, 192.168/16,
  fc00::/7), link-local (169.254/16, fe80::/10), shared (100.64/10), unspecified (0.0.0.0, ::), multicast and
  reserved ranges are refused, also when embedded in IPv6 (::ffff:a.b.c.d, 6to4, NAT64);
* the check runs when the URL is saved (a form error) and again at delivery time, inside the connection itself:
  the host is resolved once, each address is checked, and the socket connects to that checked address, so a DNS
  answer that changes between check and connect (rebinding) gains nothing. TLS still verifies the host name;
* redirects are never followed, and proxies from the environment are ignored (the proxy would do the resolving).

``NOTIFY["WEBHOOK_ALLOW_PRIVATE_HOSTS"]`` turns the address check off (tests and on-premise receivers).
"""
import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeWebhookURL(ValueError):
    """The URL points somewhere deliveries must not go; the message says why (shown to the user, stored on the
    delivery)."""


def _allow_private() -> bool:
    return bool(settings.NOTIFY.get("WEBHOOK_ALLOW_PRIVATE_HOSTS", False))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_kind(ip: IPAddress) -> str | None:
    """Why this address is internal (``"loopback"``, ``"private"``, ...), or None when it is a public address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return blocked_kind(embedded)
    for kind, hit in (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
                      ("link-local", ip.is_link_local), ("multicast", ip.is_multicast), ("private", ip.is_private),
                      ("reserved", ip.is_reserved), ("non-public", not ip.is_global)):
        if hit:
            return kind
    return None


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing the host if ANY of them is internal (an attacker's DNS
    may mix a public and an internal answer). Raises ``socket.gaierror`` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = info[4][0].split("%", 1)[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    if _allow_private():
        return addresses
    for address in addresses:
        kind = blocked_kind(ipaddress.ip_address(address))
        if kind:
            shown = host if host == address else f"{host} resolves to {address}, which"
            article = "an" if kind[0] in "aeiou" else "a"
            raise UnsafeWebhookURL(f"{shown} is {article} {kind} address; webhooks are only delivered to public internet "
                                   f"hosts (WEBHOOK_ALLOW_PRIVATE_HOSTS is off)")
    return addresses


def check_scheme(url: str) -> tuple[str, int]:
    """The host and port of an acceptable URL; raises UnsafeWebhookURL for other schemes or a missing host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhookURL(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    allow_http = bool(settings.NOTIFY.get("WEBHOOK_ALLOW_HTTP", False))
    if scheme != "https" and not (scheme == "http" and allow_http):
        raise UnsafeWebhookURL("use an https:// URL" + (" (or http://)" if allow_http else
                                                        "; plain http is off (WEBHOOK_ALLOW_HTTP)"))
    if not parts.hostname:
        raise UnsafeWebhookURL("the URL has no host")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def check_url(url: str) -> None:
    """Validate a URL being saved: scheme, then the host's current addresses. A host that does not resolve yet is
    accepted (its DNS may be set up later); the delivery-time check refuses it if it ever resolves inward."""
    host, port = check_scheme(url)
    try:
        checked_addresses(host, port)
    except (socket.gaierror, UnicodeError):
        pass


class _GuardedMixin:
    """Resolve, check and connect to the checked address (no second lookup that DNS rebinding could answer)."""

    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        try:
            addresses = checked_addresses(host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: Exception | None = None
        for address in addresses:
            self._dns_host = address
            try:
                return super()._new_conn()
            except OSError as exc:  # urllib3's NewConnectionError/ConnectTimeoutError: try the next address
                error = exc
            finally:
                self._dns_host = host
        raise error or OSError(f"{host}: no address to connect to")


class _GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def post(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> requests.Response:
    """POST with the guard: raises UnsafeWebhookURL before any connection to a refused address is made; network
    errors are requests' own (the caller retries those). Redirects are returned, not followed."""
    check_scheme(url)
    with requests.Session() as session:
        session.trust_env = False  # no proxies or netrc from the environment
        session.mount("http://", GuardedAdapter())
        session.mount("https://", GuardedAdapter())
        return session.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False)
