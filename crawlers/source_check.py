"""Is an outlet still readable? Home page, robots.txt, feeds, sitemaps and sections, checked once.

The worst monitoring failure is a feed that quietly stops (domain.md §7), so each feed's newest
entry is dated and the feed is called *silent* when that entry is older than
max(3 × the outlet's crawl interval, 24 h), or when it has no dated entry at all. Every URL,
redirects included, passes `crawlers.url_safety` before it is requested (`crawlers.safe_fetch`).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import httpx
from lxml import etree
from protego import Protego

from crawlers.safe_fetch import Fetched, SafeFetcher
from crawlers.sources import home_url
from diemnong.settings import Settings
from indexer.models import Source

MIN_SILENCE = timedelta(hours=24)
FUTURE_TOLERANCE = timedelta(minutes=10)
_LISTS = ("feeds", "sitemaps", "sections")
_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


@dataclass
class UrlReport:
    """A section page or sitemap: reachable, allowed by robots.txt, how many URLs it lists."""

    url: str
    status: int | None = None
    error: str | None = None
    allowed: bool | None = None
    urls: int | None = None


@dataclass
class FeedReport:
    url: str
    status: int | None = None
    error: str | None = None
    allowed: bool | None = None
    bozo: bool = False
    bozo_message: str | None = None
    entries: int = 0
    undated: int = 0
    future: int = 0
    newest: datetime | None = None
    age_s: float | None = None
    silent: bool = False


@dataclass
class SourceReport:
    name: str
    home_url: str
    home_status: int | None = None
    home_error: str | None = None
    robots_url: str = ""
    robots_status: int | None = None
    robots_present: bool | None = None
    silent_after_s: float = 0.0
    feeds: list[FeedReport] = field(default_factory=list)
    sitemaps: list[UrlReport] = field(default_factory=list)
    sections: list[UrlReport] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """What an operator must look at, one line each (empty when the outlet is healthy)."""
        out: list[str] = []
        if self.home_error or (self.home_status or 0) >= 400:
            out.append(f"home page: {self.home_error or f'HTTP {self.home_status}'}")
        for feed in self.feeds:
            out.extend(f"feed {feed.url}: {p}" for p in _feed_problems(feed, self.silent_after_s))
        for kind, reports in (("sitemap", self.sitemaps), ("section", self.sections)):
            for report in reports:
                if report.allowed is False:
                    out.append(f"{kind} {report.url}: disallowed by robots.txt")
                if report.error or (report.status or 0) >= 400:
                    out.append(f"{kind} {report.url}: {report.error or f'HTTP {report.status}'}")
        return out

    @property
    def notes(self) -> list[str]:
        out: list[str] = []
        if self.robots_present is False:
            out.append("no robots.txt (everything allowed)")
        if not self.feeds:
            out.append("no feed: read through sections and sitemaps")
        for feed in self.feeds:
            if feed.future:
                out.append(f"feed {feed.url}: {feed.future} entries dated in the future")
            if feed.undated:
                out.append(f"feed {feed.url}: {feed.undated} entries without a date")
        return out

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, datetime) else value

        data = {key: plain(value) for key, value in vars(self).items() if key not in _LISTS}
        for key in _LISTS:
            data[key] = [{k: plain(v) for k, v in vars(r).items()} for r in getattr(self, key)]
        return {**data, "problems": self.problems, "notes": self.notes}


def _feed_problems(feed: FeedReport, silent_after_s: float) -> list[str]:
    out = ["disallowed by robots.txt"] if feed.allowed is False else []
    if feed.error or (feed.status or 0) >= 400:
        return [*out, feed.error or f"HTTP {feed.status}"]
    if feed.bozo:
        out.append(f"malformed ({feed.bozo_message})")
    if feed.silent and feed.newest is None:
        out.append("silent: no dated entries")
    elif feed.silent:
        out.append(
            f"silent: newest entry {format_age(feed.age_s)} old "
            f"(limit {format_age(silent_after_s)})"
        )
    return out


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def silence_limit(source: Source) -> timedelta:
    return max(timedelta(seconds=3 * source.crawl_interval_s), MIN_SILENCE)


class SourceChecker(SafeFetcher):
    """Checks outlets through a `SafeFetcher` client (its own, or a mock transport in tests)."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.Client | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(settings.crawler, client)
        self.tz = ZoneInfo(settings.timezone)
        self.now = now or (lambda: datetime.now(UTC))

    def check(self, source: Source) -> SourceReport:
        report = SourceReport(
            name=source.name,
            home_url=home_url(source),
            silent_after_s=silence_limit(source).total_seconds(),
        )
        home = self.fetch(report.home_url)
        report.home_status, report.home_error = home.status, home.error
        robots = _RobotsCache(self, report)
        for url in source.feeds:
            report.feeds.append(self._feed(url, source, robots.allowed(url)))
        for url in source.sitemaps:
            report.sitemaps.append(self._sitemap(url, robots.allowed(url)))
        for url in source.sections:
            page = self.fetch(url)
            report.sections.append(
                UrlReport(url, page.status, page.error, allowed=robots.allowed(url))
            )
        return report

    def check_all(self, sources: Sequence[Source], workers: int = 4) -> list[SourceReport]:
        """Reports in the order of ``sources``; outlets are checked ``workers`` at a time."""
        if len(sources) <= 1:
            return [self.check(source) for source in sources]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="source-check") as pool:
            return list(pool.map(self.check, sources))

    def _feed(self, url: str, source: Source, allowed: bool | None) -> FeedReport:
        report = FeedReport(url, allowed=allowed)
        fetched = self.fetch(url)
        report.status, report.error = fetched.status, fetched.failure()
        if report.error:
            return report
        parsed = feedparser.parse(
            fetched.content, response_headers={"content-type": fetched.content_type}
        )
        if parsed.get("bozo"):
            report.bozo = True
            report.bozo_message = str(parsed.get("bozo_exception", "")) or "not well-formed"
        now = self.now()
        dates: list[datetime] = []
        for entry in parsed.entries:
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            if stamp is None:
                report.undated += 1
                continue
            when = datetime.fromtimestamp(calendar.timegm(stamp), UTC)
            if when > now + FUTURE_TOLERANCE:
                report.future += 1
            else:
                dates.append(when)
        report.entries = len(parsed.entries)
        if not dates:
            report.silent = True
            return report
        newest = max(dates)
        report.newest = newest.astimezone(self.tz)
        report.age_s = (now - newest).total_seconds()
        report.silent = now - newest > silence_limit(source)
        return report

    def _sitemap(self, url: str, allowed: bool | None) -> UrlReport:
        fetched = self.fetch(url)
        report = UrlReport(url, fetched.status, fetched.failure(), allowed=allowed)
        if report.error is None:
            try:
                root = etree.fromstring(fetched.content, _XML)
            except etree.XMLSyntaxError as error:
                report.error = f"not XML ({error})"
                return report
            if root is None:
                report.error = "not XML (empty document)"
            else:
                report.urls = len(root.findall(".//{*}loc"))
        return report


class _RobotsCache:
    """robots.txt per host, fetched once per check; the home host's is put on the report."""

    def __init__(self, checker: SourceChecker, report: SourceReport) -> None:
        self.checker = checker
        self.rules: dict[str, Protego | None] = {}
        home = urlsplit(report.home_url)
        report.robots_url = f"{home.scheme}://{home.netloc}/robots.txt"
        fetched = self._load(home.scheme, home.netloc)
        report.robots_status = fetched.status
        if fetched.status in (404, 410):
            report.robots_present = False
        elif fetched.ok:
            report.robots_present = True

    def _load(self, scheme: str, netloc: str) -> Fetched:
        fetched = self.checker.fetch(f"{scheme}://{netloc}/robots.txt")
        rules = None
        if fetched.ok:
            rules = Protego.parse(fetched.content.decode("utf-8", errors="replace"))
        elif fetched.status in (404, 410):
            rules = Protego.parse("")
        self.rules[netloc] = rules
        return fetched

    def allowed(self, url: str) -> bool | None:
        """What robots.txt says (everything is allowed without one); None when unreadable."""
        parts = urlsplit(url)
        if parts.netloc not in self.rules:
            self._load(parts.scheme, parts.netloc)
        rules = self.rules[parts.netloc]
        return None if rules is None else bool(rules.can_fetch(url, self.checker.user_agent))
