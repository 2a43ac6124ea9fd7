"""One-off page fetches outside the crawl (`sources check`, `extract URL`), under the crawl's rules.

Every request, each redirect hop included, passes `crawlers.url_safety`; bodies stop at
``max_page_bytes``; the crawl's User-Agent is sent. Errors are returned, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import httpx

from crawlers.url_safety import UnsafeURL, check_url
from diemnong.settings import CrawlerSettings


class FetchFailed(Exception):
    """A fetch that ended in an error or an HTTP error status (`Fetched.failure`)."""


@dataclass
class Fetched:
    url: str
    status: int | None = None
    content: bytes = b""
    content_type: str = ""
    error: str | None = None
    final_url: str | None = None
    """Where the redirects ended."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400

    def failure(self) -> str | None:
        if self.error:
            return self.error
        return None if self.ok else f"HTTP {self.status}"

    def raise_for_failure(self) -> None:
        if failure := self.failure():
            raise FetchFailed(failure)


class SafeFetcher:
    """GETs with one httpx client: its own, or one given (a mock transport in tests), which
    gets the User-Agent and the URL-safety hook added."""

    def __init__(self, crawler: CrawlerSettings, client: httpx.Client | None = None) -> None:
        self.user_agent = crawler.user_agent
        self.allow_loopback = crawler.allow_loopback
        self.max_bytes = crawler.max_page_bytes
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(crawler.download_timeout_s),
            follow_redirects=True,
            max_redirects=5,
        )
        self.client.headers["User-Agent"] = self.user_agent
        self.client.event_hooks["request"].append(self._refuse_unsafe)

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _refuse_unsafe(self, request: httpx.Request) -> None:
        check_url(str(request.url), self.allow_loopback)

    def fetch(self, url: str) -> Fetched:
        """GET ``url`` (at most ``max_page_bytes``); errors are returned, never raised."""
        result = Fetched(url)
        try:
            with self.client.stream("GET", url) as response:
                result.status = response.status_code
                result.content_type = response.headers.get("content-type", "")
                result.final_url = str(response.url)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        result.error = f"larger than {self.max_bytes} bytes"
                        break
                result.content = bytes(body)
        except UnsafeURL as error:
            result.error = str(error)
        except httpx.HTTPError as error:
            name = type(error).__name__
            result.error = f"{name}: {error}" if str(error) else name
        return result
