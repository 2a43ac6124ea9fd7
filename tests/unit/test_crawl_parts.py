"""Pure parts of the crawl: canonical URLs, feed polling intervals, the spool, seen URLs."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.canonical import canonical_url, clean_url
from crawlers.feed_state import FeedStates
from crawlers.seen import SeenUrls
from crawlers.spool import Spool, SpoolError
from indexer.adapter import BulkResult, EngineUnavailable
from indexer.ids import article_id
from indexer.models import Article


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://vnexpress.net/a-123.html?utm_source=rss&utm_medium=feed",
            "https://vnexpress.net/a-123.html",
        ),
        (
            "https://m.dantri.com.vn/xa-hoi/b-2025.htm#comments",
            "https://dantri.com.vn/xa-hoi/b-2025.htm",
        ),
        ("https://tuoitre.vn/amp/c-2025.htm", "https://tuoitre.vn/c-2025.htm"),
        (
            "https://vietnamnet.vn/d-1.html?fbclid=XYZ&page=2",
            "https://vietnamnet.vn/d-1.html?page=2",
        ),
        ("HTTPS://BaoChinhPhu.VN/e-1.htm", "https://baochinhphu.vn/e-1.htm"),
    ],
)
def test_clean_url(url: str, expected: str) -> None:
    assert clean_url(url) == expected


def test_declared_canonical_wins_only_on_the_same_site() -> None:
    fetched = "https://m.vnexpress.net/amp/x-1.html?utm_source=a"
    assert (
        canonical_url(fetched, "https://vnexpress.net/x-1.html") == "https://vnexpress.net/x-1.html"
    )
    assert canonical_url(fetched, "https://evil.example/x") == "https://vnexpress.net/x-1.html"
    assert canonical_url(fetched, "/relative-only") == "https://vnexpress.net/x-1.html"


def test_feed_interval_shrinks_with_news_and_grows_when_quiet(tmp_path: Path) -> None:
    states = FeedStates(tmp_path / "feeds.json", min_interval_s=60, max_interval_s=3600)
    url = "https://example.vn/rss"
    states.get(url).interval_s = 600
    assert states.polled(url, new_items=3, etag='"a"', now=1000).interval_s == 300
    assert states.polled(url, new_items=0, now=2000).interval_s == 450
    for step in range(30):
        states.polled(url, new_items=0, now=3000 + step)
    assert states.get(url).interval_s == 3600
    for step in range(30):
        states.polled(url, new_items=1, now=9000 + step)
    assert states.get(url).interval_s == 60
    assert states.conditional_headers(url) == {"If-None-Match": '"a"'}
    states.save()
    again = FeedStates(tmp_path / "feeds.json", 60, 3600)
    assert again.get(url).etag == '"a"'
    assert again.due([url], now=0) == []
    assert again.due([url], now=10**10) == [url]


def _article(i: int) -> Article:
    url = f"https://x.vn/{i}"
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        outlet="x",
        title=f"Bài {i}",
        fetched_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


class RecordingWriter:
    """Stands in for the engine writer: pure logic of the spool's replay is under test."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_after = fail_after

    def write(self, batch: list[Article]) -> BulkResult:
        if self.fail_after is not None and len(self.batches) >= self.fail_after:
            raise EngineUnavailable("down again")
        self.batches.append([a.id for a in batch])
        return BulkResult(created=len(batch))


def test_spool_keeps_batches_until_written(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put([_article(1), _article(2)])
    spool.put([_article(3)])
    assert spool.pending() == 3
    with pytest.raises(EngineUnavailable):
        spool.replay(RecordingWriter(fail_after=1))
    assert spool.pending() == 1
    result = spool.replay(RecordingWriter())
    assert result.created == 1
    assert spool.pending() == 0


def test_a_batch_put_by_this_process_is_drained_from_memory_and_a_restart_reads_the_file(
    tmp_path: Path,
) -> None:
    first = Spool(tmp_path / "spool")
    path = first.put([_article(1), _article(2)])
    path.write_text("not read back\n", "utf-8")  # this process still holds the batch
    drained: list[list[str]] = []
    assert first.drain(lambda batch: drained.append([a.id for a in batch])) == 2
    assert drained == [[_article(1).id, _article(2).id]] and not path.exists()

    kept = first.put([_article(3)])
    after_restart = Spool(tmp_path / "spool")
    assert after_restart.drain(lambda batch: drained.append([a.id for a in batch])) == 1
    assert drained[-1] == [_article(3).id] and not kept.exists()
    assert first.drain(lambda batch: drained.append(["again"])) == 0  # gone from disk: never twice


def test_spool_reports_a_full_disk_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path / "spool")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("crawlers.spool.os.fsync", no_space)
    with pytest.raises(SpoolError, match="disk full"):
        spool.put([_article(1)])
    assert list((tmp_path / "spool").iterdir()) == []


def test_seen_urls(tmp_path: Path) -> None:
    seen = SeenUrls(tmp_path / "seen.sqlite")
    seen.mark(["https://a.vn/1", "https://a.vn/2"], "indexed")
    seen.mark(["https://a.vn/1"], "indexed")
    assert "https://a.vn/1" in seen
    assert "https://a.vn/3" not in seen
    assert len(seen) == 2
