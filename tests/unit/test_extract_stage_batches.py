"""`ExtractStage` in batches: every item settles on its own, whatever its neighbours do.

Runs without a reactor: the batch timer is replaced by a recorder (a batch flushes when it is
full, as in a crawl that keeps up), and each item's Deferred is returned as it is, not wrapped
for asyncio.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

import crawlers.pipelines as pipelines
from crawlers.entities import EntityExtractor
from crawlers.errors import StageFailure
from crawlers.fetch_log import FetchLog
from crawlers.items import EnrichedArticle, FetchedPage
from crawlers.offload import process_pages
from crawlers.pipelines import ExtractStage
from crawlers.report import CrawlReport
from crawlers.seen import SeenUrls
from indexer.layout import IndexNames
from tests.support.realpages import real_page

POISON = b"<html><body><p>poison</p></body></html>"


def _page(name: str, body: bytes | None = None) -> FetchedPage:
    return real_page(name, datetime.now(UTC), body)


@pytest.fixture(scope="module")
def entities() -> EntityExtractor:
    return EntityExtractor()


@pytest.fixture
def stage(tmp_path: Path, entities: EntityExtractor, monkeypatch: pytest.MonkeyPatch) -> Any:
    timers: list[float] = []

    def call_later(delay: float, func: Any) -> Any:
        timers.append(delay)
        return SimpleNamespace(cancel=lambda: None)

    monkeypatch.setattr(pipelines, "call_later", call_later)
    monkeypatch.setattr(pipelines, "maybe_deferred_to_future", lambda deferred: deferred)
    services: Any = SimpleNamespace(
        entities=entities,
        report=CrawlReport(),
        fetch_log=FetchLog(None, IndexNames("t-"), tmp_path / "fetch-log.jsonl"),
        seen=SeenUrls(Path(":memory:")),
    )
    built = ExtractStage(services, batch_size=3)
    built.timers = timers
    return built


def _results(stage: ExtractStage, pages: list[FetchedPage]) -> list[EnrichedArticle | Failure]:
    settled: list[EnrichedArticle | Failure] = []
    for page in pages:
        awaitable = stage.process_item(page)
        assert isinstance(awaitable, Deferred)
        awaitable.addBoth(settled.append)
    return settled


def test_a_full_batch_settles_each_item_on_its_own(stage: Any) -> None:
    names = ["vnexpress_2025_10_22.html", "dantri_article.html"]
    pages = [_page(names[0]), _page(names[0], b"<html><body></body></html>"), _page(names[1])]
    settled = _results(stage, pages)
    assert stage.timers == [ExtractStage.BATCH_WAIT_S]  # set by the first page, then full
    assert len(settled) == 3
    good = [r for r in settled if isinstance(r, EnrichedArticle)]
    assert [r.article.url for r in good] == [pages[0].url, pages[2].url]
    assert all(r.article.entities != type(r.article.entities)() for r in good)
    failure = settled[1]
    assert isinstance(failure, Failure) and failure.check(StageFailure)
    assert stage.services.report.total("failed") == 1


def test_a_batch_that_raises_is_redone_page_by_page(
    stage: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug on one page (an exception, not a rejection) fails that page only."""

    def fragile(pages: list[FetchedPage], *args: Any) -> Any:
        if any(p.body == POISON for p in pages):
            raise RuntimeError("a bug in a stage")
        return process_pages(pages, *args)

    monkeypatch.setattr(pipelines, "process_pages", fragile)
    names = ["vnexpress_2025_10_22.html", "dantri_article.html"]
    pages = [_page(names[0]), _page(names[0], POISON), _page(names[1])]
    settled = _results(stage, pages)
    assert isinstance(settled[0], EnrichedArticle) and isinstance(settled[2], EnrichedArticle)
    failure = settled[1]
    assert isinstance(failure, Failure) and failure.check(RuntimeError)
