"""One spider for every source: feeds, news sitemaps, section pages and the articles they link.

Feed entries become article requests in the same crawl, so one robots policy, one throttle and
one item pipeline serve feeds and crawled links alike. In ``watch`` mode the spider never
closes by itself: feeds are re-polled when their adaptive interval says so and sections when
their crawl interval has passed; SIGTERM/SIGINT stop it gracefully.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from lxml import etree
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import task
from twisted.python.failure import Failure

from crawlers.canonical import clean_url
from crawlers.feed_entries import parse_feed
from crawlers.items import FetchedPage
from crawlers.services import CrawlServices
from indexer.models import Source

PARTS = frozenset({"feeds", "pages"})
# Articles go before further listing pages: the first stories reach the index a second
# sooner, and fewer discovered links wait in memory.
ARTICLE_PRIORITY = 10
PAGINATION = re.compile(r"([?&]page=\d+|/trang-\d+(\.html?)?$|-p\d+(\.html?)?$)")
# Plain strings from lxml: ``response.css("a::attr(href)")`` built a tracked Selector object
# per link, 9% of the crawl process's time in a profile of a full fixture-site crawl.
HREFS = etree.XPath("//a/@href", smart_strings=False)


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(
        self,
        services: CrawlServices,
        sources: list[Source],
        mode: str = "once",
        parts: frozenset[str] = PARTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.sources = sources
        self.mode = mode
        self.parts = parts
        self.max_section_pages = services.settings.crawler.max_section_pages
        self._section_due: dict[str, float] = {}
        self._loop: task.LoopingCall | None = None
        self._ticker: task.LoopingCall | None = None
        self._extractors = {
            s.name: LinkExtractor(allow=s.article_patterns or (), unique=True) for s in sources
        }

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        services = crawler.settings["DIEMNONG_SERVICES"]
        spider = cls(services, *args, **kwargs)
        spider._set_crawler(crawler)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    # -- scheduling ----------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self._initial_requests():
            yield request

    def _initial_requests(self) -> Iterator[scrapy.Request]:
        for source in self.sources:
            if "feeds" in self.parts:
                for url in source.feeds:
                    yield self._feed_request(source, url)
            if "pages" in self.parts:
                yield from self._page_requests(source)

    def _request(
        self, url: str, callback: Any, source: Source, via: str, **kwargs: Any
    ) -> scrapy.Request:
        meta = {"source": source, "via": via, **kwargs.pop("meta", {})}
        return scrapy.Request(url, callback=callback, errback=self.failed, meta=meta, **kwargs)

    def _feed_request(self, source: Source, url: str) -> scrapy.Request:
        return self._request(
            url,
            self.parse_feed,
            source,
            "feed",
            headers=self.services.feeds.conditional_headers(url),
            dont_filter=True,
            meta={"handle_httpstatus_list": [304], "feed_url": url},
        )

    def _page_requests(self, source: Source) -> Iterator[scrapy.Request]:
        """Sitemaps and section pages: crawled again every ``crawl_interval_s``."""
        self._section_due[source.name] = time.time() + source.crawl_interval_s
        for url in source.sitemaps:
            yield self._request(url, self.parse_sitemap, source, "sitemap", dont_filter=True)
        for url in source.sections:
            yield self._request(
                url, self.parse_section, source, "section", dont_filter=True, meta={"page": 1}
            )

    def _opened(self, spider: scrapy.Spider) -> None:
        if self.services.on_tick is not None:
            self._ticker = task.LoopingCall(self.services.on_tick)
            self._ticker.start(0.5)
        if self.mode == "watch":
            self._loop = task.LoopingCall(self._schedule_due)
            self._loop.start(1.0, now=False)

    def _closed(self, spider: scrapy.Spider) -> None:
        for loop in (self._loop, self._ticker):
            if loop is not None and loop.running:
                loop.stop()

    def _schedule_due(self) -> None:
        engine = self.crawler.engine
        now = time.time()
        for source in self.sources:
            if "feeds" in self.parts:
                for url in self.services.feeds.due(source.feeds, now):
                    self.services.feeds.get(url).next_due = now + 3600  # until the answer comes
                    engine.crawl(self._feed_request(source, url))
            if "pages" in self.parts and self._section_due.get(source.name, 0) <= now:
                for request in self._page_requests(source):
                    engine.crawl(request)

    def _idle(self, spider: scrapy.Spider) -> None:
        if self.mode == "watch":
            raise DontCloseSpider

    def _article_request(
        self, url: str, source: Source, via: str, meta: dict[str, Any] | None = None
    ) -> scrapy.Request | None:
        if clean_url(url) in self.services.seen:
            self.services.report.add(source.name, "skipped_seen")
            return None
        return self._request(
            url, self.parse_article, source, via, meta=meta or {}, priority=ARTICLE_PRIORITY
        )

    # -- callbacks -----------------------------------------------------------------------
    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        source: Source = response.meta["source"]
        feed_url: str = response.meta["feed_url"]
        feeds = self.services.feeds
        if response.status == 304:
            feeds.polled(feed_url, 0, not_modified=True)
            return
        result = parse_feed(
            response.body,
            response.url,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
            status=response.status,
        )
        for problem in result.problems:
            self.services.fetch_log.record(
                problem.url, source.name, problem.stage, problem.reason, problem.status
            )
        new_items = 0
        for entry in result.entries:
            meta = {"feed_published_at": entry.published_at, "feed_title": entry.title}
            request = self._article_request(entry.url, source, "feed", meta)
            if request is not None:
                new_items += 1
                yield request
        headers = response.headers
        feeds.polled(
            feed_url,
            new_items,
            etag=(headers.get("ETag") or b"").decode("latin-1") or None,
            last_modified=(headers.get("Last-Modified") or b"").decode("latin-1") or None,
        )

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        source: Source = response.meta["source"]
        try:
            root = etree.fromstring(
                response.body, parser=etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except etree.XMLSyntaxError as error:
            self.services.fetch_log.record(
                response.url, source.name, "sitemap", f"not XML: {error}", response.status
            )
            return
        if etree.QName(root).localname == "sitemapindex":
            for loc in root.iterfind("{*}sitemap/{*}loc"):
                if loc.text:
                    yield self._request(
                        loc.text.strip(), self.parse_sitemap, source, "sitemap", dont_filter=True
                    )
            return
        for url_element in root.iterfind("{*}url"):
            loc = url_element.findtext("{*}loc")
            if loc and self._is_article(source, loc.strip()):
                request = self._article_request(loc.strip(), source, "sitemap")
                if request is not None:
                    yield request

    def _is_article(self, source: Source, url: str) -> bool:
        return not source.article_patterns or any(
            re.search(pattern, url) for pattern in source.article_patterns
        )

    def parse_section(self, response: Response) -> Iterator[scrapy.Request]:
        source: Source = response.meta["source"]
        if not isinstance(response, TextResponse):
            return
        for link in self._extractors[source.name].extract_links(response):
            request = self._article_request(link.url, source, "section")
            if request is not None:
                yield request
        page = int(response.meta.get("page", 1))
        if page >= self.max_section_pages:
            return
        section_path = urlsplit(response.url).path.rsplit("/", 1)[0]
        for href in HREFS(response.selector.root):
            url = urljoin(response.url, href)
            if PAGINATION.search(url) and urlsplit(url).path.startswith(section_path):
                yield self._request(
                    url, self.parse_section, source, "section", meta={"page": page + 1}
                )

    def parse_article(self, response: Response) -> Iterator[FetchedPage]:
        source: Source = response.meta["source"]
        content_type = response.headers.get("Content-Type")
        yield FetchedPage(
            url=response.url,
            requested_url=response.meta.get("redirect_urls", [response.url])[0],
            status=response.status,
            body=response.body,
            content_type=content_type.decode("latin-1") if content_type else None,
            source=source,
            fetched_at=datetime.now(UTC),
            via=response.meta.get("via", "?"),
            feed_published_at=response.meta.get("feed_published_at"),
            feed_title=response.meta.get("feed_title"),
            redirects=list(response.meta.get("redirect_urls", [])),
        )
        self.services.report.add(source.name, "fetched")

    def failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        source: Source | None = request.meta.get("source")
        outlet = source.name if source else None
        status: int | None = None
        error = failure.value
        if isinstance(error, HttpError):
            status = error.response.status
            stage, reason = "download", f"HTTP {status}"
        elif isinstance(error, IgnoreRequest):
            stage, reason = "robots", f"not fetched: {failure.getErrorMessage() or 'robots.txt'}"
        else:
            stage = "download"
            reason = f"{type(error).__name__}: {failure.getErrorMessage()}"
        if request.meta.get("via") == "feed" and "feed_url" in request.meta:
            self.services.feeds.failed(request.meta["feed_url"])
        self.services.fetch_log.record(request.url, outlet, stage, reason, status)
        if outlet:
            self.services.report.add(outlet, "failed")
