"""The item pipeline: fetch → extract → normalise → enrich (entities, dedup) → index.

Each component wraps one stage function with a plain constructor (tests call it directly) and
takes its collaborators from `CrawlServices` in ``from_crawler``. A stage that rejects an item
raises `StageFailure` (recorded in the fetch log, never retried; see crawlers.errors). This
module holds the page stages; the index stage (batches, spool, backlog) is
`crawlers.index_stage.IndexStage`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any, NoReturn

from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawlers.canonical import clean_url
from crawlers.dedup import StoryClusterer
from crawlers.errors import StageFailure
from crawlers.items import EnrichedArticle, FetchedPage
from crawlers.offload import PageOutcome, PageWorkers, process_pages
from crawlers.report import CrawlReport
from crawlers.services import CrawlServices

log = logging.getLogger(__name__)

_Batch = list[tuple[FetchedPage, Deferred[EnrichedArticle]]]
"""Pages waiting for the page stages, each with the awaitable its item waits on."""


class ServicesComponent:
    """A pipeline component built from the crawl's `CrawlServices` (Scrapy: ``from_crawler``)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls.from_services(crawler.settings["DIEMNONG_SERVICES"])

    @classmethod
    def from_services(cls, services: CrawlServices) -> Any:
        raise NotImplementedError


class ExtractStage(ServicesComponent):
    """Decode (legacy encodings included), extract, normalise, find entities: a page becomes
    an Article.

    Pages are gathered into batches of ``batch_size`` (a partial batch waits at most
    `BATCH_WAIT_S`) and each batch goes through the stages stage by stage
    (`crawlers.offload.process_pages`): in a worker process given running `PageWorkers`
    (Scrapy setting ``DIEMNONG_PAGE_WORKERS``), else in the reactor thread. Each item waits on
    its own awaitable while the reactor goes on. If the pool breaks, pages are done here
    again. ``batch_size`` 1 without workers returns each article at once (tests call it so).
    """

    BATCH_WAIT_S = 0.25

    def __init__(
        self, services: CrawlServices, workers: PageWorkers | None = None, batch_size: int = 1
    ) -> None:
        self.services = services
        self.workers = workers if workers is not None and workers.running else None
        self.batch_size = max(1, batch_size)
        self._pending: _Batch = []
        self._timer: CallLaterResult | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractStage:
        settings = crawler.settings
        services: CrawlServices = settings["DIEMNONG_SERVICES"]
        workers = settings.get("DIEMNONG_PAGE_WORKERS")
        return cls(services, workers, services.settings.crawler.page_batch)

    @classmethod
    def from_services(cls, services: CrawlServices) -> ExtractStage:
        return cls(services)

    def process_item(
        self, item: Any, spider: Any = None
    ) -> EnrichedArticle | Awaitable[EnrichedArticle]:
        page: FetchedPage = item
        if self.workers is None and self.batch_size == 1:
            now = datetime.now(UTC)
            return self._finish(page, process_pages([page], now, self.services.entities)[0])
        result: Deferred[EnrichedArticle] = Deferred()
        self._pending.append((page, result))
        if len(self._pending) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = call_later(self.BATCH_WAIT_S, self._flush)
        return maybe_deferred_to_future(result)

    def close_spider(self, spider: Any = None) -> None:
        self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()  # a no-op when it is the timer that called
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        now = datetime.now(UTC)
        if self.workers is None:
            self._complete(batch, now, functools.partial(self._here, batch, now))
            return
        from twisted.internet import reactor

        def done(future: Future[list[PageOutcome]]) -> None:
            outcomes = functools.partial(self._from_workers, future, batch, now)
            reactor.callFromThread(self._complete, batch, now, outcomes)

        self.workers.submit([page for page, _ in batch], now, done)

    def _here(self, batch: _Batch, now: datetime) -> list[PageOutcome]:
        return process_pages([page for page, _ in batch], now, self.services.entities)

    def _from_workers(
        self, future: Future[list[PageOutcome]], batch: _Batch, now: datetime
    ) -> list[PageOutcome]:
        """A worker's outcomes; once the pool broke, the stages here."""
        try:
            return future.result()
        except BrokenProcessPool as error:
            log.error("page workers failed (%s): extracting in the crawl process", error)
            self.workers = None
            return self._here(batch, now)

    def _complete(
        self, batch: _Batch, now: datetime, outcomes: Callable[[], list[PageOutcome]]
    ) -> None:
        """Settle each item of ``batch`` with ``outcomes()``. If that raises (a bug, not a
        rejected page), each page is done again alone, here, so that only the page at fault
        fails."""
        try:
            found = outcomes()
        except Exception:
            if len(batch) == 1:
                batch[0][1].errback()
                return
            log.exception("a batch of %d pages failed: each page again alone", len(batch))
            for item in batch:
                self._complete([item], now, functools.partial(self._here, [item], now))
            return
        self._settle(batch, found)

    def _settle(self, batch: _Batch, outcomes: list[PageOutcome]) -> None:
        """Hand each item on in turn; one page's failure is that item's alone."""
        for (page, result), outcome in zip(batch, outcomes, strict=True):
            try:
                enriched = self._finish(page, outcome)
            except Exception:
                result.errback()
                continue
            result.callback(enriched)

    def _finish(self, page: FetchedPage, outcome: PageOutcome) -> EnrichedArticle:
        seconds = self.services.report.stage_seconds
        for stage, spent in outcome.seconds.items():
            seconds[stage] += spent
        for reason in outcome.rejected_dates:
            self.services.fetch_log.record(page.url, page.source.name, "date", reason)
        if outcome.article is None:
            stage, reason = outcome.failure or ("extract", "no article")
            self._reject(page, stage, reason)
        return EnrichedArticle(outcome.article)

    def _reject(self, page: FetchedPage, stage: str, reason: str) -> NoReturn:
        self.services.fetch_log.record(page.url, page.source.name, stage, reason, page.status)
        self.services.seen.mark([clean_url(page.requested_url), clean_url(page.url)], stage)
        self.services.report.add(page.source.name, "failed")
        raise StageFailure(stage, reason, page.url)


class DedupStage(ServicesComponent):
    """Groups syndicated copies: the earliest published member of a cluster is the original."""

    def __init__(self, clusterer: StoryClusterer, report: CrawlReport | None = None) -> None:
        self.clusterer = clusterer
        self.report = report or CrawlReport()

    @classmethod
    def from_services(cls, services: CrawlServices) -> DedupStage:
        return cls(services.clusterer, services.report)

    def process_item(self, item: Any, spider: Any = None) -> EnrichedArticle:
        enriched: EnrichedArticle = item
        article = enriched.article
        text = f"{article.title}\n{article.lead}\n{article.body}"
        with self.report.timed("dedup"):
            decision = self.clusterer.assign(article.id, text, article.published_at, article.outlet)
        enriched.article = article.model_copy(
            update={"story_cluster_id": decision.cluster_id, "is_original": decision.is_original}
        )
        enriched.demoted = decision.demoted
        return enriched
