"""The page stages give the same article in a worker process as in the crawl process."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from datetime import UTC, datetime

from crawlers.entities import EntityExtractor
from crawlers.items import FetchedPage
from crawlers.offload import (
    PageOutcome,
    PageWorkers,
    default_page_workers,
    process_pages,
)
from tests.support.realpages import real_page

NOW = datetime(2026, 4, 1, tzinfo=UTC)


def _page(name: str, body: bytes | None = None) -> FetchedPage:
    return real_page(name, NOW, body)


def process_page(
    page: FetchedPage, now: datetime, entities: EntityExtractor | None = None
) -> PageOutcome:
    [outcome] = process_pages([page], now, entities)
    return outcome


def test_inline_outcome_has_article_entities_and_stage_times() -> None:
    outcome = process_page(_page("vnexpress_2025_10_22.html"), NOW, EntityExtractor())
    assert outcome.failure is None
    assert outcome.article is not None
    assert outcome.article.title.startswith("Đau bụng kéo dài")
    assert set(outcome.seconds) == {"decode", "extract", "normalise", "entities"}
    without = process_page(_page("vnexpress_2025_10_22.html"), NOW)
    assert without.article is not None
    assert without.article.entities == type(without.article.entities)()


def test_a_batch_gives_each_page_what_it_gives_alone() -> None:
    """Stage by stage over a batch, a failing page in the middle touches no other page."""
    entities = EntityExtractor()
    names = ["vnexpress_2025_10_22.html", "dantri_article.html"]
    pages = [_page(names[0]), _page(names[0], b"<html><body></body></html>"), _page(names[1])]
    batch = process_pages(pages, NOW, entities)
    alone = [process_page(page, NOW, entities) for page in pages]
    assert [o.article for o in batch] == [o.article for o in alone]
    assert [o.failure for o in batch] == [o.failure for o in alone]
    assert batch[1].article is None and batch[1].failure is not None
    assert batch[0].article is not None and batch[2].article is not None
    assert batch[0].article.entities != type(batch[0].article.entities)()
    assert set(batch[2].seconds) == {"decode", "extract", "normalise", "entities"}
    assert set(batch[1].seconds) == {"decode", "extract"}


def test_a_page_without_an_article_is_a_failure_not_an_exception() -> None:
    outcome = process_page(_page("vnexpress_2025_10_22.html", b"<html><body></body></html>"), NOW)
    assert outcome.article is None
    assert outcome.failure is not None
    assert outcome.failure[0] == "extract"


def test_a_worker_process_gives_what_the_crawl_process_gives() -> None:
    entities = EntityExtractor()
    workers = PageWorkers(1, entities)
    workers.start()
    try:
        finished: list[Future[list[PageOutcome]]] = []
        done = threading.Event()

        def collect(future: Future[list[PageOutcome]]) -> None:
            finished.append(future)
            done.set()

        page = _page("dantri_article.html")
        workers.submit([page], NOW, collect)
        assert done.wait(60)
    finally:
        workers.close()
    [remote] = finished[0].result()
    local = process_page(page, NOW, entities)
    assert remote.article == local.article
    assert remote.rejected_dates == local.rejected_dates
    assert not workers.running


def test_page_workers_default_to_one_fewer_than_the_usable_cores(monkeypatch) -> None:
    assert default_page_workers(0) == 0
    assert default_page_workers(3) == 3
    for cores, expected in ((1, 0), (2, 1), (4, 3), (16, 4)):
        monkeypatch.setattr("os.sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert default_page_workers(None) == expected
