"""The CPU-bound page stages — decode, extract, normalise, entities — inline or in worker processes,
a batch of pages at a time (`process_pages`).

A Scrapy crawl runs on one reactor thread, so one crawl process uses one core however many the
machine has. `PageWorkers` forks processes that run `process_pages` while the reactor keeps
downloading, de-duplicating and indexing. The pool is forked before the reactor starts, once
the models are loaded (`CrawlServices.warm_up`): the children share them copy-on-write and no
other thread exists yet to hold a lock across the fork. The story clusterer is not moved: it
is one state that every article must see in turn.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from crawlers.encoding import decode_html
from crawlers.entities import EntityExtractor
from crawlers.extraction import ExtractedArticle, ExtractionError, extract_article
from crawlers.items import FetchedPage
from crawlers.normalise import build_article
from crawlers.report import timed
from indexer.models import Article

log = logging.getLogger(__name__)


@dataclass
class PageOutcome:
    """One page after the CPU stages: an article, or the stage that rejected it and why."""

    article: Article | None = None
    failure: tuple[str, str] | None = None
    rejected_dates: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """CPU seconds per stage, for `CrawlReport.stage_seconds` of the crawl process."""


def process_pages(
    pages: Sequence[FetchedPage], now: datetime, entities: EntityExtractor | None = None
) -> list[PageOutcome]:
    """Decode, extract and normalise ``pages``, and find their entities when ``entities`` is
    given: one outcome per page, in order.

    Stage by stage over the batch rather than page by page: each stage then finds its code and
    tables (lxml's, the normaliser's caches, spaCy's vocabulary and the gazetteer's matcher)
    still in the CPU caches from the page before. In turn per page, every stage found them
    evicted by the others and cost up to twice as much (decision 35).
    """
    outcomes = [PageOutcome() for _ in pages]
    texts = []
    for page, outcome in zip(pages, outcomes, strict=True):
        with timed(outcome.seconds, "decode"):
            texts.append(decode_html(page.body, page.content_type).text)
    extracted: list[ExtractedArticle | None] = []
    for page, text, outcome in zip(pages, texts, outcomes, strict=True):
        with timed(outcome.seconds, "extract"):
            try:
                extracted.append(extract_article(text, page.url))
            except ExtractionError as error:
                extracted.append(None)
                outcome.failure = ("extract", error.reason)
    for page, found, outcome in zip(pages, extracted, outcomes, strict=True):
        if found is not None:
            with timed(outcome.seconds, "normalise"):
                outcome.article = build_article(page, found, now)
                outcome.rejected_dates = found.rejected_dates
    if entities is not None:
        for outcome in outcomes:
            if (article := outcome.article) is not None:
                with timed(outcome.seconds, "entities"):
                    text = f"{article.lead}\n{article.body}"
                    names = entities.extract(article.title, text, normalized=True)
                    outcome.article = article.model_copy(update={"entities": names})
    return outcomes


_worker_entities: EntityExtractor | None = None


def _init_worker(entities: EntityExtractor) -> None:
    """Ctrl-C reaches the whole process group; the crawl process stops the pool itself."""
    global _worker_entities
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_entities = entities


def default_page_workers(configured: int | None) -> int:
    """``configured`` (`CrawlerSettings.page_workers`), else one fewer than the cores this
    process may run on, at most 4: the crawl process itself keeps one core busy."""
    if configured is not None:
        return configured
    return min(4, max(0, len(os.sched_getaffinity(0)) - 1))


def _in_worker(pages: list[FetchedPage], now: datetime) -> list[PageOutcome]:
    return process_pages(pages, now, _worker_entities)


def _ready() -> bool:
    return True


class PageWorkers:
    """A pool of forked processes running `process_pages` with the entity extractor they
    inherited; `start` before the reactor runs, `close` after the crawl."""

    def __init__(self, processes: int, entities: EntityExtractor) -> None:
        self.processes = processes
        self.entities = entities
        self._pool: ProcessPoolExecutor | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> PageWorkers:
        """Scrapy deep-copies its settings; the pool is shared, not copied."""
        return self

    @property
    def running(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """Fork the processes now and wait until each has answered once."""
        self._pool = ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(self.entities,),
        )
        for ready in [self._pool.submit(_ready) for _ in range(self.processes)]:
            ready.result()

    def submit(
        self,
        pages: list[FetchedPage],
        now: datetime,
        done: Callable[[Future[list[PageOutcome]]], None],
    ) -> None:
        """Run the stages on a batch of ``pages`` in a worker; ``done`` is called (in another
        thread) with the finished future."""
        assert self._pool is not None, "PageWorkers.start() was not called"
        self._pool.submit(_in_worker, pages, now).add_done_callback(done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
