"""Downloader middleware: no request leaves for a private, loopback or otherwise unsafe address.

Redirects pass through downloader middlewares again, so a public URL redirecting to an
internal one is stopped too. The local fixture site needs `crawler.allow_loopback`.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import IgnoreRequest

from crawlers.fetch_log import FetchLog
from crawlers.url_safety import UnsafeURL, check_url


class UrlSafetyMiddleware:
    def __init__(self, allow_loopback: bool, fetch_log: FetchLog) -> None:
        self.allow_loopback = allow_loopback
        self.fetch_log = fetch_log
        self._checked: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> UrlSafetyMiddleware:
        services = crawler.settings["DIEMNONG_SERVICES"]
        return cls(services.settings.crawler.allow_loopback, services.fetch_log)

    def process_request(self, request: Any, spider: Any = None) -> None:
        try:
            check_url(request.url, allow_loopback=self.allow_loopback)
        except UnsafeURL as error:
            source = request.meta.get("source")
            self.fetch_log.record(
                request.url, source.name if source else None, "url-safety", str(error)
            )
            raise IgnoreRequest(f"unsafe URL refused: {error}") from error
