"""A crawl indexes articles with their entities whether the page stages run in a worker
process or, a batch at a time, in the crawl process itself.

The crawl runs in a subprocess (Scrapy's reactor runs once per process) through
`crawlers.run.run_crawl(..., page_workers=N)`, the way the ingest benchmark runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.sources import save_sources
from indexer.adapter import Engine
from indexer.layout import IndexNames, drop_layout

pytestmark = [pytest.mark.engine, pytest.mark.slow]

SCRIPT = """
import json, sys
from crawlers.run import run_crawl
from crawlers.sources import load_sources
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames, apply_layout

settings = Settings.model_validate_json(sys.argv[1])
engine = Engine.connect(settings.engine.url, settings.engine)
apply_layout(engine, IndexNames(settings.index.prefix), settings.index)
sources = load_sources(settings.crawler.sources_file)
report = run_crawl(settings, sources, engine, page_workers=int(sys.argv[2]))
print(json.dumps({"stages": sorted(report.stage_seconds), "indexed": report.total("indexed")}))
"""


@pytest.mark.parametrize("page_workers", [1, 0])
def test_crawl_indexes_articles_with_entities(
    engine: Engine, tmp_path: Path, page_workers: int
) -> None:
    now = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)
    site = FixtureSite(seed=5, n_articles_per_outlet=4, slow_delay_s=1.0, now=now)
    site.start()
    names = IndexNames(f"tworkers{tmp_path.name[-4:]}-".lower())
    try:
        sources_file = tmp_path / "sources.yaml"
        save_sources(sources_file, [o.to_source() for o in site.outlets])
        settings = {
            "data_dir": str(tmp_path / "data"),
            "engine": {"url": engine.url},
            # Only the crawl's own refresh at its end can make the articles searchable.
            "index": {"prefix": names.prefix, "article_refresh_s": 3600},
            "crawler": {
                "sources_file": str(sources_file),
                "allow_loopback": True,
                "concurrent_per_domain": 16,
                "download_timeout_s": 2,
            },
        }
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, json.dumps(settings), str(page_workers)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        site.stop()
    try:
        assert {"decode", "extract", "normalise", "entities", "dedup"} <= set(report["stages"])
        assert engine.count(names.articles) >= 0.8 * len(site.stories)
        hits = engine.search(names.articles, {"size": 200, "_source": ["entities"]})["hits"]["hits"]
        assert sum(1 for h in hits if h["_source"]["entities"]["locations"]) >= 0.5 * len(hits)
    finally:
        drop_layout(engine, names)
