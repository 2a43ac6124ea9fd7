"""The item pipeline: fetch → extract → normalise → enrich (dedup, entities) → index.

Each component wraps one stage function with a plain constructor (tests call it directly) and
takes its collaborators from `CrawlServices` in ``from_crawler``. A stage that rejects an item
raises `StageFailure` (recorded in the fetch log, never retried; see crawlers.errors). This
module holds the page stages; the index stage (batches, spool, backlog) is
`crawlers.index_stage.IndexStage`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any, NoReturn

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawlers.canonical import clean_url
from crawlers.dedup import StoryClusterer
from crawlers.entities import EntityExtractor
from crawlers.errors import StageFailure
from crawlers.items import EnrichedArticle, FetchedPage
from crawlers.offload import PageOutcome, PageWorkers, process_page
from crawlers.report import CrawlReport
from crawlers.services import CrawlServices

log = logging.getLogger(__name__)


class ServicesComponent:
    """A pipeline component built from the crawl's `CrawlServices` (Scrapy: ``from_crawler``)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls.from_services(crawler.settings["DIEMNONG_SERVICES"])

    @classmethod
    def from_services(cls, services: CrawlServices) -> Any:
        raise NotImplementedError


class ExtractStage(ServicesComponent):
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


class EntityStage(ServicesComponent):
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
