"""The item pipeline: fetch → extract → normalise → enrich (dedup, entities) → index.

Each component wraps one stage function with a plain constructor (tests call it directly) and
takes its collaborators from `CrawlServices` in ``from_crawler``. A stage that rejects an item
raises `StageFailure` (recorded in the fetch log, never retried; see crawlers.errors).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any, NoReturn

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task
from twisted.internet.defer import Deferred

from crawlers.canonical import clean_url
from crawlers.dedup import StoryClusterer
from crawlers.entities import EntityExtractor
from crawlers.errors import StageFailure
from crawlers.items import EnrichedArticle, FetchedPage
from crawlers.offload import PageOutcome, PageWorkers, process_page
from crawlers.report import CrawlReport
from crawlers.services import CrawlServices
from crawlers.spool import IndexedBatch, Spool, SpoolError
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.layout import IndexNames
from indexer.models import Article
from indexer.writer import ArticleWriter

log = logging.getLogger(__name__)
ENGINE_RETRY_AFTER_S = 10.0


class _ServicesComponent:
    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls.from_services(crawler.settings["DIEMNONG_SERVICES"])

    @classmethod
    def from_services(cls, services: CrawlServices) -> Any:
        raise NotImplementedError


class ExtractStage(_ServicesComponent):
    """Decode (legacy encodings included), extract, normalise: a page becomes an Article.

    Given running `PageWorkers` (Scrapy setting ``DIEMNONG_PAGE_WORKERS``) the stages run in a
    worker process, entities included (the crawl then has no EntityStage), and the item waits
    on an awaitable while the reactor goes on. If the pool breaks, pages are done here again.
    """

    def __init__(self, services: CrawlServices, workers: PageWorkers | None = None) -> None:
        self.services = services
        self.workers = workers if workers is not None and workers.running else None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractStage:
        settings = crawler.settings
        return cls(settings["DIEMNONG_SERVICES"], settings.get("DIEMNONG_PAGE_WORKERS"))

    @classmethod
    def from_services(cls, services: CrawlServices) -> ExtractStage:
        return cls(services)

    def process_item(
        self, item: Any, spider: Any = None
    ) -> EnrichedArticle | Awaitable[EnrichedArticle]:
        page: FetchedPage = item
        now = datetime.now(UTC)
        if self.workers is None:
            return self._finish(page, process_page(page, now))
        from twisted.internet import reactor  # the one Scrapy installed

        result: Deferred[EnrichedArticle] = Deferred()

        def done(future: Future[PageOutcome]) -> None:
            reactor.callFromThread(self._settle, result, page, now, future)

        self.workers.submit(page, now, done)
        return maybe_deferred_to_future(result)

    def _settle(
        self,
        result: Deferred[EnrichedArticle],
        page: FetchedPage,
        now: datetime,
        future: Future[PageOutcome],
    ) -> None:
        try:
            try:
                outcome = future.result()
            except BrokenProcessPool as error:
                log.error("page workers failed (%s): extracting in the crawl process", error)
                self.workers = None
                outcome = process_page(page, now, self.services.entities)
            result.callback(self._finish(page, outcome))
        except Exception:
            result.errback()

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


class DedupStage(_ServicesComponent):
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


class EntityStage(_ServicesComponent):
    """Persons, organisations and places, places resolved to administrative unit codes."""

    def __init__(self, extractor: EntityExtractor, report: CrawlReport | None = None) -> None:
        self.extractor = extractor
        self.report = report or CrawlReport()

    @classmethod
    def from_services(cls, services: CrawlServices) -> EntityStage:
        return cls(services.entities, services.report)

    def process_item(self, item: Any, spider: Any = None) -> EnrichedArticle:
        enriched: EnrichedArticle = item
        article = enriched.article
        with self.report.timed("entities"):
            entities = self.extractor.extract(
                article.title, f"{article.lead}\n{article.body}", normalized=True
            )
        enriched.article = article.model_copy(update={"entities": entities})
        return enriched


def demote(engine: Engine, names: IndexNames, ids: Sequence[str]) -> None:
    """Mark former originals of a story cluster as republications."""
    if not ids:
        return
    engine.request(
        "POST",
        f"/{names.articles}/_update_by_query",
        body={
            "query": {"ids": {"values": list(ids)}},
            "script": {"source": "ctx._source.is_original = false", "lang": "painless"},
        },
        params={"refresh": "true", "conflicts": "proceed"},
    )


class IndexStage(_ServicesComponent):
    """Bulk-writes batches; nothing is lost to an engine outage, a crash or a full disk.

    Before a batch is written, its after-index work (percolation into complaint links, originals
    to demote) goes to a durable backlog; the backlog is worked off only once the spool is
    empty, so links always point to indexed articles. When the engine is down the batch goes
    to the spool. When the spool's disk is full too, the crawl pauses: the batch stays in
    memory and the stage retries until the disk takes it again.
    """

    def __init__(
        self,
        writer: ArticleWriter | None,
        spool: Spool,
        services: CrawlServices,
        batch_size: int = 50,
        crawler: Any = None,
    ) -> None:
        self.writer = writer
        self.spool = spool
        self.backlog = services.backlog
        self.services = services
        self.batch_size = batch_size
        self.crawler = crawler
        self.paused_since: float | None = None
        self._batch: list[EnrichedArticle] = []
        self._timer: task.LoopingCall | None = None
        self._engine_down_until = 0.0

    @classmethod
    def from_crawler(cls, crawler: Any) -> IndexStage:
        stage = cls.from_services(crawler.settings["DIEMNONG_SERVICES"])
        stage.crawler = crawler
        return stage

    @classmethod
    def from_services(cls, services: CrawlServices) -> IndexStage:
        return cls(services.writer, services.spool, services, services.settings.crawler.index_batch)

    def open_spider(self, spider: Any = None) -> None:
        self.catch_up()
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(2.0, now=False)

    def close_spider(self, spider: Any = None) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        try:
            self.flush()
        except SpoolError as error:
            log.error("%s; %d articles were not kept", error, len(self._batch))
            self.services.report.add("(all)", "lost", len(self._batch))
        self.services.save()

    def process_item(self, item: Any, spider: Any = None) -> Article:
        enriched: EnrichedArticle = item
        self._batch.append(enriched)
        if len(self._batch) >= self.batch_size and self.paused_since is None:
            self._flush_or_pause()
        return enriched.article

    def _tick(self) -> None:
        """The periodic flush; it must never raise, or Twisted stops calling it."""
        try:
            self._flush_or_pause()
        except Exception:
            log.exception("periodic flush failed; retrying in 2 s")

    def _flush_or_pause(self) -> None:
        try:
            self.flush()
        except SpoolError as error:
            if self.paused_since is None:
                self.paused_since = time.monotonic()
                log.error("ingestion paused: %s", error)
                self.services.report.add("(all)", "paused")
                if self.crawler is not None:
                    self.crawler.engine.pause()
            return
        if self.paused_since is not None:
            log.warning(
                "ingestion resumed after %.0f s paused", time.monotonic() - self.paused_since
            )
            self.paused_since = None
            if self.crawler is not None:
                self.crawler.engine.unpause()

    def _engine_down(self) -> bool:
        """After a failure, skip the engine for a while: spooling must not wait on retries."""
        return time.monotonic() < self._engine_down_until

    def _mark_engine_down(self) -> None:
        if not self._engine_down():
            self._engine_down_until = time.monotonic() + ENGINE_RETRY_AFTER_S

    def replay_spool(self) -> None:
        if self.writer is None or self._engine_down() or not self.spool.files():
            return
        try:
            result = self.spool.replay(self.writer)
        except EngineUnavailable:
            self._mark_engine_down()
            return
        log.info("replayed spool: %s created, %s duplicates", result.created, result.duplicates)

    def catch_up(self) -> None:
        """Replay the spool, then work off the after-index backlog, while the engine answers."""
        self.replay_spool()
        if self.writer is None or self._engine_down() or self.spool.files():
            return
        try:
            self.backlog.drain(self._after_index)
        except EngineUnavailable:
            self._mark_engine_down()

    def _after_index(self, batch: list[IndexedBatch]) -> None:
        engine = self.services.engine
        for pending in batch:
            try:
                if pending.demoted and engine is not None:
                    engine.refresh(self.services.names.articles)
                    demote(engine, self.services.names, pending.demoted)
                for hook in self.services.after_index:
                    hook(pending.articles)
            except EngineRequestError as error:
                for article in pending.articles:
                    self.services.fetch_log.record(
                        article.url, article.outlet, "percolate", str(error), error.status
                    )

    def flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            self.catch_up()
            return
        articles = [e.article for e in batch]
        report = self.services.report
        try:
            if self.services.after_index or any(e.demoted for e in batch):
                self.backlog.put(
                    [IndexedBatch(articles=articles, demoted=[i for e in batch for i in e.demoted])]
                )
            if self.writer is None:
                raise EngineUnavailable("no engine configured")
            if self._engine_down():
                raise EngineUnavailable("engine was unreachable moments ago")
            self.replay_spool()
            with report.timed("index"):
                result = self.writer.write(articles)
        except EngineUnavailable as error:
            self._mark_engine_down()
            log.warning("engine unavailable (%s): spooling %d articles", error, len(articles))
            try:
                self.spool.put(articles)
            except SpoolError:
                self._batch = batch + self._batch
                raise
            for article in articles:
                report.add(article.outlet, "spooled")
            self._mark_seen(articles, "spooled")
            return
        except SpoolError:
            self._batch = batch + self._batch
            raise
        for failure in result.failed:
            self.services.fetch_log.record(
                failure.doc_id or "?", None, "index", failure.reason, failure.status
            )
        for article in articles:
            report.add(article.outlet, "indexed")
        report.add("(all)", "duplicates", result.duplicates)
        self._mark_seen(articles, "indexed")
        with report.timed("percolate"):
            self.catch_up()

    def _mark_seen(self, articles: Sequence[Article], outcome: str) -> None:
        self.services.seen.mark(
            [clean_url(a.url) for a in articles] + [a.canonical_url for a in articles], outcome
        )
