"""A fetched RSS or Atom body becomes article links, each bad part named as a fetch-log problem.

Kept apart from the spider so that every feed a site can serve (broken XML, wrong encodings,
impossible dates, ``javascript:`` links) can be checked without Scrapy: whatever the body holds,
the result is the links that can be fetched plus one problem per thing left out or doubted.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from crawlers.canonical import clean_url
from crawlers.vietnamese_dates import check_plausible

_SCHEMES = frozenset({"http", "https"})
_SHOWN_LINK_CHARS = 200


@dataclass(frozen=True)
class FeedEntry:
    """One article link: absolute http(s) URL, the feed's title and plausible date for it."""

    url: str
    title: str | None
    published_at: datetime | None


@dataclass(frozen=True)
class FeedProblem:
    """What `crawlers.fetch_log.FetchLog.record` takes; ``status`` only for the feed itself."""

    url: str
    stage: str
    reason: str
    status: int | None = None


@dataclass
class FeedParseResult:
    entries: list[FeedEntry] = field(default_factory=list)
    problems: list[FeedProblem] = field(default_factory=list)
    read: int = 0
    """Entries feedparser read, kept or not: each one not kept has a problem of its own."""


def _entry_datetime(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def _entry_url(base: str, link: str) -> tuple[str | None, str | None]:
    """The absolute URL of ``link``, or why it cannot be fetched."""
    shown = link[:_SHOWN_LINK_CHARS]
    try:
        url = urljoin(base, link.strip())
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError as error:
        return None, f"entry link {shown!r} is not a valid URL ({error})"
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        return None, f"entry link {shown!r} is not an http(s) URL"
    try:
        clean_url(url)  # as the pipeline will: w3lib refuses, e.g., a NUL in the host name
    except ValueError as error:
        return None, f"entry link {shown!r} is not a valid URL ({error})"
    return url, None


def parse_feed(
    body: bytes,
    url: str,
    *,
    content_type: str,
    status: int | None = None,
    now: datetime | None = None,
) -> FeedParseResult:
    """Entries and problems of the feed at ``url`` (the final URL: relative links resolve
    against it; ``content_type`` is the HTTP header, "" when the server sent none). A
    malformed feed still gives the entries feedparser could read; an entry without a usable
    link is left out; an impossible date is dropped and the entry kept."""
    moment = now or datetime.now(UTC)
    result = FeedParseResult()
    headers = {"content-location": url, "content-type": content_type}
    try:
        parsed = feedparser.parse(body, response_headers=headers)
    except Exception as error:  # feedparser's encoding sniffing raises on some byte soups
        unreadable = f"unreadable feed ({type(error).__name__}: {error})"
        result.problems.append(FeedProblem(url, "feed", unreadable, status))
        return result
    if parsed.bozo:
        result.problems.append(
            FeedProblem(
                url,
                "feed",
                f"malformed feed ({type(parsed.bozo_exception).__name__}: "
                f"{parsed.bozo_exception}); {len(parsed.entries)} entries still read",
                status,
            )
        )
    elif not parsed.get("version"):
        not_a_feed = f"not an RSS or Atom feed ({len(body)} bytes)"
        result.problems.append(FeedProblem(url, "feed", not_a_feed, status))
    result.read = len(parsed.entries)
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            result.problems.append(FeedProblem(url, "feed", "entry without a link", status))
            continue
        entry_url, problem = _entry_url(url, link)
        if entry_url is None:
            result.problems.append(FeedProblem(url, "feed", problem or "", status))
            continue
        try:
            published = _entry_datetime(entry)
        except (ValueError, OverflowError) as error:  # "0000-01-01", or past 9999 in UTC
            result.problems.append(FeedProblem(entry_url, "feed-date", f"no such date: {error}"))
            published = None
        if published is not None and (reason := check_plausible(published, moment)):
            result.problems.append(FeedProblem(entry_url, "feed-date", reason))
            published = None
        result.entries.append(FeedEntry(entry_url, entry.get("title"), published))
    return result
