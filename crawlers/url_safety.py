"""Refuse URLs that would make diemnong fetch from inside the network it runs in (SSRF).

Operators add sources and the crawler follows links and redirects found on news sites, so
every URL is checked before it is fetched: only http(s), no credentials, and every address
the host resolves to must be public. Numeric host tricks (``2130706433``, ``0x7f.1``,
``017700000001``) are read the way the C resolver reads them, and IPv6 forms that carry an
IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by the address they carry.

A check is only as good as the resolution it saw: DNS may answer differently when the
request is made, which is why the crawler checks again at download time.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]

_SCHEMES = {"http": 80, "https": 443}
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|\d+", re.IGNORECASE)
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.ip_address("::1")


class UnsafeURL(ValueError):
    """The URL must not be fetched; ``reason`` says why in words an operator understands."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"unsafe URL {url!r}: {reason}")
        self.url = url
        self.reason = reason


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host`` (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(url: str, allow_loopback: bool = False, *, resolver: Resolver | None = None) -> str:
    """The normalised URL when it is safe to fetch, else raise `UnsafeURL`.

    Normalised: scheme and host lower-cased, IDNA host, numeric IPv4 tricks written as a
    dotted quad, default port and fragment dropped, empty path as ``/``. With
    ``allow_loopback`` the hosts 127.0.0.0/8 and ::1 are accepted (the local fixture site);
    nothing else private ever is. ``resolver`` replaces DNS (tests).
    """
    if not isinstance(url, str) or not url:
        raise UnsafeURL(str(url), "empty URL")
    if _FORBIDDEN_CHARS.search(url):
        raise UnsafeURL(url, "whitespace, control characters or backslashes in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(url, f"malformed URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise UnsafeURL(url, f"scheme {parts.scheme or '(none)'!r} is not http or https")
    if "@" in parts.netloc:
        raise UnsafeURL(url, "credentials (user@) in the URL")
    raw_host = parts.hostname or ""
    if not raw_host:
        raise UnsafeURL(url, "no host")
    literal, host = _host(url, raw_host)
    effective_port = port or _SCHEMES[scheme]
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        addresses = _resolve(url, host, effective_port, resolver or system_resolver)
    for address in addresses:
        problem = address_problem(address, allow_loopback)
        if problem:
            shown = host if literal is not None else f"{host} resolves to {address}, which"
            raise UnsafeURL(url, f"{shown} is {problem}")
    netloc = f"[{host}]" if literal is not None and literal.version == 6 else host
    if port is not None and port != _SCHEMES[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _host(url: str, raw: str) -> tuple[IPAddress | None, str]:
    """(the IP when the host is a literal, the normalised host name)."""
    host = raw.rstrip(".").lower()
    if not host:
        raise UnsafeURL(url, "no host")
    if "%" in host:
        raise UnsafeURL(url, "percent sign in the host (encoding or IPv6 zone)")
    if ":" in host:
        try:
            ip6 = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(url, f"malformed IPv6 address {raw!r}") from None
        return ip6, str(ip6)
    if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        # as browsers do (WHATWG URL): a host ending in a number is an IPv4 address or invalid
        try:
            packed = socket.inet_aton(host)
        except OSError:
            raise UnsafeURL(url, f"malformed numeric host {raw!r}") from None
        ip4 = ipaddress.IPv4Address(packed)
        return ip4, str(ip4)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeURL(url, f"host {raw!r} is not a valid domain name") from None
    return None, ascii_host


def _resolve(url: str, host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    try:
        found = list(resolver(host, port))
    except (OSError, UnicodeError) as error:
        raise UnsafeURL(url, f"host {host!r} does not resolve ({error})") from None
    if not found:
        raise UnsafeURL(url, f"host {host!r} does not resolve")
    addresses: list[IPAddress] = []
    for text in found:
        try:
            addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            raise UnsafeURL(url, f"host {host!r} resolves to a malformed address") from None
    return addresses


def address_problem(address: IPAddress, allow_loopback: bool = False) -> str | None:
    """Why ``address`` must not be fetched from (e.g. "private"), or None when it is public."""
    if allow_loopback and (address in _LOOPBACK_V4 or address == _LOOPBACK_V6):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = address_problem(embedded, allow_loopback=False)
            return f"an IPv6 form of {embedded} ({inner})" if inner else None
        if address in ipaddress.ip_network("fc00::/7"):
            return "a unique local IPv6 address"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _CGNAT, "carrier-grade NAT (100.64.0.0/10)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))  # deprecated IPv4-compatible ::a.b.c.d
    return None
