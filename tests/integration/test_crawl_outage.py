"""The engine dies in the middle of a crawl: after it is back, every article is indexed once.

Real parts only: an embedded engine of this test's own (so it can be killed), the local press
site, and the `diemnong crawl` CLI in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.sources import save_sources
from diemnong.settings import EngineSettings, Settings
from indexer.adapter import Engine, EngineRequestError
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames
from tests.integration.test_crawl import crawl_env, run_cli

pytestmark = pytest.mark.slow


def _count(engine: Engine, names: IndexNames) -> tuple[int, int]:
    engine.refresh(names.articles)
    total = engine.count(names.articles)
    distinct = engine.search(
        names.articles, {"size": 0, "aggs": {"ids": {"cardinality": {"field": "id"}}}}
    )["aggregations"]["ids"]["value"]
    return total, distinct


def _indexed_so_far(engine: Engine, names: IndexNames) -> int:
    """0 until the crawl has created the index and its shards answer. Refreshed first: the
    articles' refresh interval (5 s) is long enough for the whole crawl to finish unseen."""
    try:
        engine.refresh(names.articles)
        return engine.count(names.articles)
    except EngineRequestError as error:
        if error.status in (404, 503):  # not created yet, or its shards are still starting
            return 0
        raise


def test_engine_killed_mid_crawl_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    now = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)
    site = FixtureSite(seed=5, n_articles_per_outlet=40, slow_delay_s=1.0, now=now)
    site.start()
    embedded = EmbeddedEngine(Settings(data_dir=tmp_path / "engine", _env_file=None))
    try:
        status = embedded.start()
        assert status.state is not None
        url = status.state.url
        sources_file = tmp_path / "sources.yaml"
        save_sources(sources_file, [o.to_source() for o in site.outlets])

        def settings_for(name: str) -> Settings:
            return Settings(
                data_dir=tmp_path / name,
                engine=EngineSettings(url=url),
                index={"prefix": f"{name}-"},
                _env_file=None,
            )

        # A reference crawl with the engine up all the time.
        reference_env = crawl_env(settings_for("reference"), sources_file)
        run_cli(["crawl"], reference_env)
        client = Engine.connect(url, EngineSettings(max_retries=0))
        expected, _ = _count(client, IndexNames("reference-"))
        assert expected > 200

        # The same crawl, with the engine killed once some articles are in.
        outage = settings_for("outage")
        env = crawl_env(outage, sources_file)
        names = IndexNames("outage-")
        crawl = subprocess.Popen(
            [sys.executable, "-m", "diemnong", "crawl"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _indexed_so_far(client, names) < 30:
            time.sleep(0.2)
        embedded.kill()
        output, _ = crawl.communicate(timeout=300)
        assert crawl.returncode == 0, output
        assert "spool" in output
        spool = outage.data_dir / "crawler" / "spool"
        assert list(spool.glob("*.jsonl")), "nothing was spooled while the engine was down"

        restarted = embedded.start()
        assert restarted.state is not None
        assert restarted.state.url == url  # the engine comes back where clients expect it
        client = Engine.connect(url, EngineSettings())
        run_cli(["crawl"], env)
        total, distinct = _count(client, names)
        assert total == distinct == expected
        assert not list(spool.glob("*.jsonl"))
        client.close()
    finally:
        embedded.stop()
        site.stop()
