"""`diemnong crawl` against the real local press site and the real engine.

The crawl runs as the real CLI in a subprocess (Scrapy's reactor runs once per process), with
its settings given as environment variables, exactly as an operator would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawlers.canonical import clean_url
from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.sources import save_sources
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames

pytestmark = [pytest.mark.engine, pytest.mark.slow]
FIXED_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    fixture = FixtureSite(seed=11, n_articles_per_outlet=12, slow_delay_s=4.0, now=FIXED_NOW)
    fixture.start()
    yield fixture
    fixture.stop()


def crawl_env(settings: Settings, sources_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMNONG_")}
    env.update(
        {
            "DIEMNONG_ENGINE__URL": settings.engine.url or "",
            "DIEMNONG_INDEX__PREFIX": settings.index.prefix,
            "DIEMNONG_DATA_DIR": str(settings.data_dir),
            "DIEMNONG_CRAWLER__SOURCES_FILE": str(sources_file),
            "DIEMNONG_CRAWLER__ALLOW_LOOPBACK": "true",
            "DIEMNONG_CRAWLER__CONCURRENT_PER_DOMAIN": "16",
            "DIEMNONG_CRAWLER__DOWNLOAD_TIMEOUT_S": "2",
            "COLUMNS": "200",
        }
    )
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "diemnong", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def crawled(site: FixtureSite, engine: Engine, tmp_path_factory: pytest.TempPathFactory):
    """One full crawl of the site, then a second pass; shared by the assertions below."""
    folder = tmp_path_factory.mktemp("crawl")
    settings = Settings(
        data_dir=folder / "data",
        engine={"url": engine.url},
        index={"prefix": f"tcrawl{folder.name[-4:]}-".lower()},
        _env_file=None,
    )
    sources_file = folder / "sources.yaml"
    save_sources(sources_file, [o.to_source() for o in site.outlets])
    env = crawl_env(settings, sources_file)
    first = run_cli(["crawl"], env)
    engine.refresh(IndexNames(settings.index.prefix).articles)
    count_after_first = engine.count(IndexNames(settings.index.prefix).articles)
    second = run_cli(["crawl"], env)
    engine.refresh(IndexNames(settings.index.prefix).articles)
    yield {
        "names": IndexNames(settings.index.prefix),
        "first": first,
        "second": second,
        "count_after_first": count_after_first,
        "env": env,
    }
    from indexer.layout import drop_layout

    drop_layout(engine, IndexNames(settings.index.prefix))


def _doc(engine: Engine, names: IndexNames, url: str) -> dict | None:
    found = engine.search(names.articles, {"query": {"ids": {"values": [article_id(url)]}}})
    hits = found["hits"]["hits"]
    return hits[0]["_source"] if hits else None


def _fetch_log(engine: Engine, names: IndexNames, stage: str) -> list[dict]:
    engine.refresh(names.fetch_log)
    found = engine.search(names.fetch_log, {"query": {"term": {"stage": stage}}, "size": 500})
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_crawl_indexes_the_stories_of_every_outlet(site, engine, crawled) -> None:
    names = crawled["names"]
    outlets = engine.search(
        names.articles, {"size": 0, "aggs": {"o": {"terms": {"field": "outlet", "size": 50}}}}
    )["aggregations"]["o"]["buckets"]
    assert len(outlets) == len(site.outlets)
    assert crawled["count_after_first"] >= 0.8 * len(site.stories)
    assert "total" in crawled["first"]


def test_second_pass_indexes_nothing_twice(engine, crawled) -> None:
    names = crawled["names"]
    assert engine.count(names.articles) == crawled["count_after_first"]
    ids = engine.search(
        names.articles, {"size": 0, "aggs": {"ids": {"cardinality": {"field": "id"}}}}
    )["aggregations"]["ids"]["value"]
    assert ids == crawled["count_after_first"]


def test_articles_have_correct_fields(site, engine, crawled) -> None:
    names = crawled["names"]
    story = next(s for s in site.stories if not s.syndicated_from and not s.flags)
    doc = _doc(engine, names, site.url(story))
    assert doc is not None
    assert doc["title"] == story.title
    assert doc["outlet"] == next(o.name for o in site.outlets if o.slug == story.outlet)
    assert doc["published_at"] is not None
    published = datetime.fromisoformat(doc["published_at"])
    assert abs((published - story.published_at).total_seconds()) < 60


def test_windows_1258_outlet_is_decoded(site, engine, crawled) -> None:
    names = crawled["names"]
    outlet = next(o for o in site.outlets if o.encoding.lower() in ("cp1258", "windows-1258"))
    story = next(s for s in site.stories if s.outlet == outlet.slug)
    doc = _doc(engine, names, site.url(story))
    assert doc is not None
    assert doc["title"] == story.title


def test_bad_cases_are_recorded_not_fatal(site, engine, crawled) -> None:
    names = crawled["names"]
    specials = site.specials
    downloads = {entry["url"]: entry for entry in _fetch_log(engine, names, "download")}
    assert specials["not_found"] in downloads
    assert downloads[specials["not_found"]]["status"] == 404
    assert specials["server_error"] in downloads
    assert specials["big"] in downloads
    assert specials["slow"] in downloads
    feed_problems = _fetch_log(engine, names, "feed")
    assert any("malformed" in entry["reason"] for entry in feed_problems)
    robots = _fetch_log(engine, names, "robots")
    assert robots, "robots.txt disallowed links were neither fetched nor recorded"
    for entry in robots:
        assert site.hits(urlsplit(entry["url"]).path) == 0, entry["url"]


def test_redirects_tracking_and_amp_end_at_one_canonical_article(site, engine, crawled) -> None:
    names = crawled["names"]
    specials = site.specials
    for key in ("redirect", "tracking_link", "amp_link"):
        assert _doc(engine, names, specials[key]) is not None, key
    assert _doc(engine, names, specials["tracking"]) is None or clean_url(
        specials["tracking"]
    ) == clean_url(specials["tracking_link"])


def test_syndicated_copies_share_a_cluster_with_the_original(site, engine, crawled) -> None:
    """Most copies join their original's cluster (dedup quality itself is benchmarked), and
    wherever they do, the earliest published member is the one marked original."""
    names = crawled["names"]
    pairs = []
    for copy in (s for s in site.stories if s.syndicated_from):
        original = site.story(copy.syndicated_from)
        doc_copy = _doc(engine, names, site.url(copy))
        doc_original = _doc(engine, names, site.url(original))
        if doc_copy is not None and doc_original is not None:
            pairs.append((doc_copy, doc_original))
    assert len(pairs) >= 10
    joined = [(c, o) for c, o in pairs if c["story_cluster_id"] == o["story_cluster_id"]]
    assert len(joined) >= 0.8 * len(pairs)
    for doc_copy, doc_original in joined:
        assert doc_original["is_original"] is True, doc_original["title"]
        assert doc_copy["is_original"] is False, doc_copy["title"]
