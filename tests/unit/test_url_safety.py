"""URL safety: hostile URLs are refused without a network (literal IPs, localhost, a fake DNS)."""

from __future__ import annotations

import socket
from collections.abc import Iterable

import pytest

from crawlers.url_safety import UnsafeURL, check_url

PUBLIC = "93.184.216.34"
FAKE_DNS = {
    "news.example": [PUBLIC],
    "intranet.example": ["10.1.2.3"],
    "rebind.example": [PUBLIC, "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "v6only.example": ["fd12:3456::1"],
    "cgnat.example": ["100.100.1.1"],
    "loop.example": ["127.0.0.1"],
}


def fake_dns(host: str, port: int) -> Iterable[str]:
    if host not in FAKE_DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return FAKE_DNS[host]


HOSTILE = [
    ("file:///etc/passwd", "scheme"),
    ("ftp://news.example/feed", "scheme"),
    ("gopher://127.0.0.1:25/", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("//news.example/rss", "scheme"),
    ("http://user:pass@news.example/", "credentials"),
    ("http://news.example@127.0.0.1/", "credentials"),
    ("http://127.0.0.1/", "loopback"),
    ("http://127.8.9.10:8080/x", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://LOCALHOST./", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://0/", "unspecified"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
    ("http://[::ffff:7f00:1]/", "127.0.0.1"),
    ("http://[::ffff:10.0.0.1]/", "10.0.0.1"),
    ("http://[::127.0.0.1]/", "127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/", "169.254.169.254"),
    ("http://[2002:c0a8:0101::1]/", "192.168.1.1"),
    ("http://[fd00::1]/", "unique local"),
    ("http://[fc00::1]/", "unique local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "percent"),
    ("http://[ff02::1]/", "multicast"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://100.127.255.254/", "carrier-grade NAT"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250:1900/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://192.0.2.10/", "private"),
    ("http://198.18.0.1/", "private"),
    ("http://1.2.3.4.5/", "malformed numeric host"),
    ("http://256.1.1.1/", "malformed numeric host"),
    ("http://news.example.127.0.0.1/", "malformed numeric host"),
    ("http://news.0x7f/", "malformed numeric host"),
    ("http://0x/", "malformed numeric host"),
    ("http://[1:2:3]/", "malformed"),
    ("http://news.example:99999/", "malformed URL"),
    ("http://%31%32%37.0.0.1/", "percent"),
    ("http://news.example\\@127.0.0.1/", "backslash"),
    ("http://news.exa mple/", "whitespace"),
    ("http://news.example/\n", "control"),
    ("http:///path-only", "no host"),
    ("http://intranet.example/", "10.1.2.3, which is private"),
    ("http://rebind.example/", "127.0.0.1, which is loopback"),
    ("http://metadata.example/", "link-local"),
    ("http://v6only.example/", "unique local"),
    ("http://cgnat.example/", "carrier-grade NAT"),
    ("http://nowhere.example/", "does not resolve"),
    ("", "empty"),
]


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_hostile_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL) as caught:
        check_url(url, allow_loopback=False, resolver=fake_dns if "example" in url else None)
    assert reason.lower() in caught.value.reason.lower()
    assert caught.value.url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/",
        "http://0.0.0.0/",
        "http://intranet.example/",
        "http://192.168.0.1:8080/",
    ],
)
def test_allow_loopback_admits_only_loopback(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_loopback=True, resolver=fake_dns)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8123/vnexpress-like/", "http://127.0.0.1:8123/vnexpress-like/"),
        ("http://2130706433:9000/x", "http://127.0.0.1:9000/x"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://[::1]:8000/a?b=1", "http://[::1]:8000/a?b=1"),
        ("http://loop.example:81", "http://loop.example:81/"),
    ],
)
def test_loopback_is_allowed_when_asked(url: str, expected: str) -> None:
    assert check_url(url, allow_loopback=True, resolver=fake_dns) == expected


def test_localhost_resolves_through_the_system_resolver() -> None:
    assert check_url("http://localhost:8123/", allow_loopback=True) == "http://localhost:8123/"
    with pytest.raises(UnsafeURL, match="loopback"):
        check_url("http://localhost:8123/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example:443/rss/home.rss#top", "https://news.example/rss/home.rss"),
        ("http://news.example", "http://news.example/"),
        ("http://news.example:8080/a?x=1&y=2", "http://news.example:8080/a?x=1&y=2"),
        ("http://news.example./tin-tức", "http://news.example/tin-tức"),
        ("http://8.8.8.8/", "http://8.8.8.8/"),
        ("http://134744072/", "http://8.8.8.8/"),
        ("http://[2001:4860:4860:0::8888]/", "http://[2001:4860:4860::8888]/"),
        ("http://[2002:0808:0808::1]/", "http://[2002:808:808::1]/"),
    ],
)
def test_public_urls_come_back_normalised(url: str, expected: str) -> None:
    assert check_url(url, resolver=fake_dns) == expected


def test_idna_hosts_are_resolved_in_ascii() -> None:
    asked: list[str] = []

    def record(host: str, port: int) -> list[str]:
        asked.append(host)
        return [PUBLIC]

    assert check_url("https://báo.example/rss", resolver=record) == "https://xn--bo-mia.example/rss"
    assert asked == ["xn--bo-mia.example"]
