"""The index stage of the item pipeline: batches to the engine, or to the spool when it is down.

Nothing is lost to an engine outage, a crash or a full disk, and nothing is written twice
(ids from the canonical URL, ``op_type=create``); see `IndexStage`. Originals that an earlier
copy displaces in their story cluster are demoted here too (`demote`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task, threads
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawlers.canonical import clean_url
from crawlers.items import EnrichedArticle
from crawlers.pipelines import ServicesComponent
from crawlers.services import CrawlServices
from crawlers.spool import IndexedBatch, Spool, SpoolError
from indexer.adapter import BulkResult, Engine, EngineRequestError, EngineUnavailable
from indexer.layout import IndexNames
from indexer.models import Article
from indexer.writer import ArticleWriter

log = logging.getLogger(__name__)
ENGINE_RETRY_AFTER_S = 10.0
# Originals are demoted within the clusterer's window (days); ids beyond this many recent
# articles are demoted through a refresh and a query instead.
KNOWN_INDICES_KEPT = 100_000
MAX_BATCHES_WAITING = 4


def demote(
    engine: Engine,
    names: IndexNames,
    ids: Sequence[str],
    indices: Mapping[str, str] | None = None,
) -> None:
    """Mark former originals of a story cluster as republications.

    An original whose monthly index is known (``indices``: id → index) is updated by id, a
    real-time write; the others, and any not found there, are found by an ids query, which
    needs the articles refreshed first. A refresh and a query per batch cost the engine more
    CPU than writing the batch.
    """
    if not ids:
        return
    known = indices or {}
    missed = [i for i in ids if i not in known]
    updates = [
        {"_op_type": "update", "_index": known[i], "_id": i, "doc": {"is_original": False}}
        for i in ids
        if i in known
    ]
    if updates:
        result = engine.bulk(updates)
        missed += [failure.doc_id for failure in result.failed if failure.doc_id]
    if not missed:
        return
    engine.refresh(names.articles)
    engine.request(
        "POST",
        f"/{names.articles}/_update_by_query",
        body={
            "query": {"ids": {"values": missed}},
            "script": {"source": "ctx._source.is_original = false", "lang": "painless"},
        },
        params={"refresh": "true", "conflicts": "proceed"},
    )


@dataclass
class _Written:
    """One batch after the engine (or the spool) took it: ``result`` is None when spooled."""

    articles: list[Article]
    result: BulkResult | None


class IndexStage(ServicesComponent):
    """Bulk-writes batches; nothing is lost to an engine outage, a crash or a full disk.

    Before a batch is written, its after-index work (percolation into complaint links, originals
    to demote) goes to a durable backlog; the backlog is worked off only once the spool is
    empty, so links always point to indexed articles. When the engine is down the batch goes
    to the spool. When the spool's disk is full too, the crawl pauses: the batch stays in
    memory and the stage retries until the disk takes it again.

    In a crawl (``in_background``) the engine and disk work of a batch runs in a thread, one
    batch at a time, while the reactor goes on downloading and extracting: waiting on the
    engine was a third of the crawl's wall time. The counts, the fetch log's index failures
    and the seen URLs are booked back on the reactor thread. Items wait once
    ``MAX_BATCHES_WAITING`` batches have piled up behind the one being written.
    """

    def __init__(
        self,
        writer: ArticleWriter | None,
        spool: Spool,
        services: CrawlServices,
        batch_size: int = 50,
        crawler: Any = None,
        in_background: bool = False,
    ) -> None:
        self.writer = writer
        self.spool = spool
        self.backlog = services.backlog
        self.services = services
        self.batch_size = batch_size
        self.crawler = crawler
        self.in_background = in_background
        self.paused_since: float | None = None
        self._batch: list[EnrichedArticle] = []
        self._timer: task.LoopingCall | None = None
        self._engine_down_until = 0.0
        self._written_to: dict[str, str] = {}
        """Article id → its monthly index, for the articles given to the writer or the spool
        lately: a demoted original among them is updated by id (see `demote`)."""
        self._writing: Deferred[_Written | None] | None = None
        self._waiting: list[Deferred[None]] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> IndexStage:
        stage = cls.from_services(crawler.settings["DIEMNONG_SERVICES"])
        stage.crawler = crawler
        stage.in_background = True
        return stage

    @classmethod
    def from_services(cls, services: CrawlServices) -> IndexStage:
        return cls(services.writer, services.spool, services, services.settings.crawler.index_batch)

    def open_spider(self, spider: Any = None) -> None:
        self.catch_up()
        self._timer = task.LoopingCall(self._tick)
        self._timer.start(2.0, now=False)

    def close_spider(self, spider: Any = None) -> Awaitable[None] | None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        if self._writing is None:
            self._close()
            return None
        closed: Deferred[None] = Deferred()
        self._waiting.append(closed)
        closed.addCallback(lambda _: self._close())
        return maybe_deferred_to_future(closed)

    def _close(self) -> None:
        try:
            self.flush()
        except SpoolError as error:
            log.error("%s; %d articles were not kept", error, len(self._batch))
            self.services.report.add("(all)", "lost", len(self._batch))
        self.services.save()
        self._make_searchable()

    def _make_searchable(self) -> None:
        """At the end of a crawl the articles are searchable at once, not after the article
        indices' refresh interval (`IndexSettings.article_refresh_s`)."""
        engine = self.services.engine
        if engine is None or self.writer is None or self._engine_down():
            return
        try:
            engine.refresh(self.services.names.articles)
        except (EngineUnavailable, EngineRequestError) as error:
            log.warning("articles not refreshed at the end of the crawl: %s", error)

    def process_item(self, item: Any, spider: Any = None) -> Article | Awaitable[Article]:
        enriched: EnrichedArticle = item
        self._batch.append(enriched)
        if len(self._batch) < self.batch_size or self.paused_since is not None:
            return enriched.article
        if not self.in_background:
            self._flush_or_pause()
            return enriched.article
        self._write_in_background()
        if len(self._batch) < self.batch_size * MAX_BATCHES_WAITING:
            return enriched.article
        room: Deferred[None] = Deferred()
        self._waiting.append(room)
        written: Deferred[Article] = room.addCallback(lambda _: enriched.article)
        return maybe_deferred_to_future(written)

    def _tick(self) -> None:
        """The periodic flush; it must never raise, or Twisted stops calling it."""
        try:
            if self.in_background:
                self._write_in_background()
            else:
                self._flush_or_pause()
        except Exception:
            log.exception("periodic flush failed; retrying in 2 s")

    def _flush_or_pause(self) -> None:
        try:
            self.flush()
        except SpoolError as error:
            self._pause(error)
            return
        self._resume()

    def _pause(self, error: SpoolError) -> None:
        if self.paused_since is None:
            self.paused_since = time.monotonic()
            log.error("ingestion paused: %s", error)
            self.services.report.add("(all)", "paused")
            if self.crawler is not None:
                self.crawler.engine.pause()

    def _resume(self) -> None:
        if self.paused_since is not None:
            log.warning(
                "ingestion resumed after %.0f s paused", time.monotonic() - self.paused_since
            )
            self.paused_since = None
            if self.crawler is not None:
                self.crawler.engine.unpause()

    def _write_in_background(self) -> None:
        """Hand the whole batch to the writing thread, unless it is busy with the last one."""
        if self._writing is not None:
            return
        batch, self._batch = self._batch, []
        self._writing = threads.deferToThread(self._write, batch)
        self._writing.addCallbacks(self._written, self._not_written, errbackArgs=(batch,))

    def _written(self, written: _Written | None) -> None:
        self._writing = None
        if written is not None:
            self._book(written)
        self._resume()
        self._after_writing()

    def _not_written(self, failure: Failure, batch: list[EnrichedArticle]) -> None:
        self._writing = None
        if isinstance(failure.value, SpoolError):
            self._batch = batch + self._batch
            self._pause(failure.value)
        else:
            log.error("writing %d articles failed: %s", len(batch), failure.getTraceback())
            self.services.report.add("(all)", "lost", len(batch))
        self._after_writing()

    def _after_writing(self) -> None:
        waiting, self._waiting = self._waiting, []
        for deferred in waiting:
            deferred.callback(None)
        if len(self._batch) >= self.batch_size and self.paused_since is None:
            self._write_in_background()

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
                    demote(engine, self.services.names, pending.demoted, self._written_to)
                for hook in self.services.after_index:
                    hook(pending.articles)
            except EngineRequestError as error:
                for article in pending.articles:
                    self.services.fetch_log.record(
                        article.url, article.outlet, "percolate", str(error), error.status
                    )

    def flush(self) -> None:
        """Write the batch now, in this thread."""
        batch, self._batch = self._batch, []
        try:
            written = self._write(batch)
        except SpoolError:
            self._batch = batch + self._batch
            raise
        if written is not None:
            self._book(written)

    def _write(self, batch: list[EnrichedArticle]) -> _Written | None:
        """The engine and disk work of one batch (then the catching up); raises SpoolError
        when neither the engine nor the spool took it. Nothing here touches the reactor."""
        if not batch:
            self.catch_up()
            return None
        articles = [e.article for e in batch]
        self._remember_indices(articles)
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
                result = self.writer.write(articles, normalized=True)  # the normalise stage
        except EngineUnavailable as error:
            self._mark_engine_down()
            log.warning("engine unavailable (%s): spooling %d articles", error, len(articles))
            self.spool.put(articles)
            return _Written(articles, None)
        with report.timed("percolate"):
            self.catch_up()
        return _Written(articles, result)

    def _book(self, written: _Written) -> None:
        """Counts, index failures and seen URLs of a written batch."""
        articles, result, report = written.articles, written.result, self.services.report
        if result is None:
            for article in articles:
                report.add(article.outlet, "spooled")
            self._mark_seen(articles, "spooled")
            return
        for failure in result.failed:
            self.services.fetch_log.record(
                failure.doc_id or "?", None, "index", failure.reason, failure.status
            )
        for article in articles:
            report.add(article.outlet, "indexed")
        report.add("(all)", "duplicates", result.duplicates)
        self._mark_seen(articles, "indexed")

    def _remember_indices(self, articles: Sequence[Article]) -> None:
        if self.writer is None:
            return
        for article in articles:
            self._written_to[article.id] = self.writer.index_for(article)
        overflow = len(self._written_to) - KNOWN_INDICES_KEPT
        for stale in list(islice(self._written_to, max(overflow, 0))):
            del self._written_to[stale]

    def _mark_seen(self, articles: Sequence[Article], outcome: str) -> None:
        self.services.seen.mark(
            [clean_url(a.url) for a in articles] + [a.canonical_url for a in articles], outcome
        )
