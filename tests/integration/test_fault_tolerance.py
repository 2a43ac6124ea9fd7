"""Fault tolerance with real parts: engines that are killed, nodes that stop, a disk that fills.

Each test runs an embedded engine of its own (so it can be killed without disturbing the
others) and checks the promise the operator relies on: every article indexed exactly once,
every complaint link stored exactly once, ingestion that pauses instead of corrupting.
The alerts worker's faults (killed mid-send, SMTP refusing) are in test_alerts_delivery.py;
the engine killed in the middle of a whole crawl is in test_crawl_outage.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from bench.common import ArticleFactory
from bench.matching import load_set, store_complaints
from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.index_stage import IndexStage
from crawlers.items import EnrichedArticle
from crawlers.services import CrawlServices
from crawlers.sources import save_sources
from diemnong.settings import EngineSettings, IndexSettings, Settings
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout
from indexer.models import Article
from indexer.writer import ArticleWriter
from tests.integration.test_crawl import crawl_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def killable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEngine]:
    """An engine of this module's own, restarted on the same port after each kill."""
    embedded = EmbeddedEngine(
        Settings(data_dir=tmp_path_factory.mktemp("killable"), _env_file=None)
    )
    embedded.start()
    yield embedded
    embedded.stop()


def engine_url(embedded: EmbeddedEngine) -> str:
    status = embedded.status()
    assert status.state is not None
    return status.state.url


def services_for(embedded: EmbeddedEngine, tmp_path: Path, prefix: str) -> CrawlServices:
    settings = Settings(
        data_dir=tmp_path / prefix,
        engine=EngineSettings(url=engine_url(embedded), max_retries=1),
        index=IndexSettings(prefix=prefix),
        _env_file=None,
    )
    engine = Engine.connect(engine_url(embedded), settings.engine)
    apply_layout(engine, IndexNames(prefix), settings.index)
    return CrawlServices.build(settings, engine)


def ingest(stage: IndexStage, articles: Sequence[Article]) -> None:
    for article in articles:
        stage.process_item(EnrichedArticle(article))
    stage.close_spider()


def settle(stage: IndexStage, embedded: EmbeddedEngine, timeout_s: float = 180.0) -> None:
    """After the engine is back, what the next crawl does: replay, then the backlog."""
    if not embedded.status().running:
        embedded.start()
    deadline = time.monotonic() + timeout_s
    while stage.spool.files() or stage.backlog.files():
        assert time.monotonic() < deadline, "the spool or the backlog never drained"
        stage._engine_down_until = 0.0  # the next run starts without the last run's back-off
        stage.catch_up()
        time.sleep(0.5)


def counts(engine: Engine, index: str, field: str) -> tuple[int, int]:
    """Documents in ``index`` and distinct values of ``field`` among them."""
    engine.refresh(index)
    found = engine.search(
        index,
        {
            "size": 0,
            "track_total_hits": True,
            "aggs": {"distinct": {"cardinality": {"field": field, "precision_threshold": 40000}}},
        },
    )
    return found["hits"]["total"]["value"], found["aggregations"]["distinct"]["value"]


def reachable_count(url: str, index: str) -> int:
    client = Engine.connect(url, EngineSettings(max_retries=0, timeout_s=5))
    try:
        return client.count(index)
    except (EngineUnavailable, EngineRequestError):
        return 0
    finally:
        client.close()


def test_engine_killed_during_ingest_of_5000_articles_indexes_each_once(
    killable: EmbeddedEngine, tmp_path: Path
) -> None:
    articles = list(ArticleFactory(seed=11).articles(5000))
    services = services_for(killable, tmp_path, "ingest5k-")
    stage = IndexStage.from_services(services)
    url, index = engine_url(killable), services.names.articles

    def outage() -> None:
        while reachable_count(url, index) < 1500:
            time.sleep(0.2)
        killable.kill()
        time.sleep(3)
        killable.start()

    killer = threading.Thread(target=outage)
    killer.start()
    try:
        ingest(stage, articles)
    finally:
        killer.join(timeout=300)  # a failed ingest must not leave the next test a dying engine
    settle(stage, killable)

    assert services.report.total("spooled") > 0, "the engine was never seen down"
    assert services.engine is not None
    assert counts(services.engine, index, "id") == (5000, 5000)
    assert stage.spool.pending() == 0 and stage.backlog.pending() == 0


def _links(services: CrawlServices) -> set[str]:
    assert services.engine is not None
    services.engine.refresh(services.names.complaint_links)
    found = services.engine.search(
        services.names.complaint_links, {"size": 10000, "_source": False}
    )
    return {hit["_id"] for hit in found["hits"]["hits"]}


@pytest.fixture(scope="module")
def reference_links(killable: EmbeddedEngine, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The links the labelled set gives with the engine up all the time."""
    data = load_set()
    services = services_for(killable, tmp_path_factory.mktemp("ref"), "perc-ref-")
    assert services.engine is not None
    store_complaints(services.engine, services.names, data.complaints)
    stage = IndexStage(services.writer, services.spool, services, batch_size=20)
    ingest(stage, data.articles)
    links = _links(services)
    assert len(links) >= 200
    return links


def killing(
    hook: Callable[[Sequence[Article]], None], embedded: EmbeddedEngine, at_call: int, when: str
) -> Callable[[Sequence[Article]], None]:
    """The percolation hook, with the engine killed on one call, before or after it stores."""
    calls = 0

    def percolate(articles: Sequence[Article]) -> None:
        nonlocal calls
        calls += 1
        if calls == at_call and when == "before storing":
            embedded.kill()
        hook(articles)
        if calls == at_call and when == "after storing":
            embedded.kill()
            raise EngineUnavailable("the engine died before answering the links' bulk request")

    return percolate


@pytest.mark.parametrize("when", ["before storing", "after storing"])
def test_engine_killed_during_percolation_loses_and_duplicates_no_link(
    killable: EmbeddedEngine, reference_links: set[str], tmp_path: Path, when: str
) -> None:
    data = load_set()
    prefix = "perc-" + when.split()[0] + "-"
    services = services_for(killable, tmp_path, prefix)
    assert services.engine is not None
    store_complaints(services.engine, services.names, data.complaints)
    services.after_index = [killing(services.after_index[0], killable, 5, when)]
    stage = IndexStage(services.writer, services.spool, services, batch_size=20)

    ingest(stage, data.articles)
    assert not killable.status().running, "the engine was not killed during percolation"
    assert stage.backlog.pending() > 0
    settle(stage, killable)

    assert _links(services) == reference_links
    stored, distinct = counts(services.engine, services.names.complaint_links, "article_id")
    total_links, _ = counts(services.engine, services.names.complaint_links, "case_number")
    assert stored == total_links == len(reference_links)
    assert counts(services.engine, services.names.articles, "id") == (
        len(data.articles),
        len(data.articles),
    )
    assert distinct <= stored


# -- a full disk under the spool --------------------------------------------------------
def _mount_tiny_filesystem(folder: Path, size_kb: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")


def _fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s filesystem; deleting the file frees them again."""
    ballast = folder / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return ballast


class OutputWatcher:
    """Collects a subprocess's combined output as it comes."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        self._thread = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._thread.start()

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"never printed {text!r}:\n{self.text}"
            assert self.proc.poll() is None, f"exited before printing {text!r}:\n{self.text}"
            time.sleep(0.2)

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="mounts a tmpfs")
def test_full_disk_under_the_spool_pauses_ingestion_and_corrupts_nothing(
    killable: EmbeddedEngine, tmp_path: Path
) -> None:
    site = FixtureSite(
        seed=9, n_articles_per_outlet=12, now=datetime(2026, 11, 20, 9, tzinfo=VN_TZ)
    )
    site.start()
    settings = Settings(
        data_dir=tmp_path / "crawl",
        engine=EngineSettings(url=engine_url(killable), max_retries=0),
        index=IndexSettings(prefix="diskfull-"),
        _env_file=None,
    )
    spool_dir = settings.data_dir / "crawler" / "spool"
    _mount_tiny_filesystem(spool_dir, 2048)
    try:
        sources_file = tmp_path / "sources.yaml"
        save_sources(sources_file, [o.to_source() for o in site.outlets])
        env = crawl_env(settings, sources_file) | {"DIEMNONG_CRAWLER__INDEX_BATCH": "10"}
        engine = Engine.connect(engine_url(killable), EngineSettings())
        apply_layout(engine, IndexNames("diskfull-"), settings.index)
        ballast = _fill(spool_dir)
        crawl = subprocess.Popen(
            [sys.executable, "-m", "diemnong", "crawl", "--log-level", "WARNING"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = OutputWatcher(crawl)
        try:
            started = settings.data_dir / "crawler" / "seen.sqlite"
            while not started.exists():  # the crawl has connected and set up its state
                assert crawl.poll() is None, output.text
                time.sleep(0.1)
            killable.kill()
            output.wait_for("ingestion paused", timeout_s=240)
            assert "disk full" in output.text
            time.sleep(3)
            assert crawl.poll() is None, "the crawl stopped instead of pausing"
            leftovers = [p.name for p in spool_dir.iterdir() if p.name.startswith(".")]
            assert leftovers == [], "a half-written spool file was left behind"
            for path in spool_dir.glob("*.jsonl"):
                for line in path.read_text("utf-8").splitlines():
                    Article.model_validate_json(line)

            ballast.unlink()
            output.wait_for("ingestion resumed", timeout_s=60)
            assert crawl.wait(timeout=300) == 0, output.text
        finally:
            if crawl.poll() is None:
                crawl.kill()
        spooled = {
            Article.model_validate_json(line).id
            for path in spool_dir.glob("*.jsonl")
            for line in path.read_text("utf-8").splitlines()
        }
        assert spooled

        killable.start()
        assert (
            subprocess.run(
                [sys.executable, "-m", "diemnong", "crawl"], env=env, capture_output=True
            ).returncode
            == 0
        )
        assert not list(spool_dir.glob("*.jsonl"))
        total, distinct = counts(engine, IndexNames("diskfull-").articles, "id")
        assert total == distinct >= len(spooled)
        found = engine.search(
            IndexNames("diskfull-").articles,
            {"size": 0, "track_total_hits": True, "query": {"ids": {"values": sorted(spooled)}}},
        )
        assert found["hits"]["total"]["value"] == len(spooled)
        engine.close()
    finally:
        site.stop()
        if not killable.status().running:
            killable.start()
        subprocess.run(["umount", "-l", str(spool_dir)], check=False)
        shutil.rmtree(spool_dir, ignore_errors=True)


# -- a three-node cluster loses a node ---------------------------------------------------
def test_three_node_cluster_keeps_searching_and_ingesting_with_a_node_stopped(
    tmp_path: Path,
) -> None:
    embedded = EmbeddedEngine(Settings(data_dir=tmp_path / "cluster", _env_file=None))
    status = embedded.start(nodes=3)
    try:
        assert status.state is not None and status.state.node_control
        urls = ",".join(status.state.urls)
        settings = IndexSettings(prefix="ha-", replicas=1, shards=2)
        client = Engine.connect(urls, EngineSettings(max_retries=5))
        names = IndexNames("ha-")
        apply_layout(client, names, settings)
        writer = ArticleWriter(client, names)
        factory = ArticleFactory(seed=21)
        assert writer.write(list(factory.articles(300))).created == 300
        assert client.health(wait_for="green", timeout_s=120)["status"] == "green"

        managers = client.request(
            "GET", "/_cat/nodes", params={"h": "http_address,cluster_manager", "format": "json"}
        )
        manager = next(n["http_address"] for n in managers if n["cluster_manager"] == "*")
        index = [u.removeprefix("http://") for u in status.state.urls].index(manager)
        assert embedded.stop_node(index) == "stopped"

        client.refresh(names.articles)
        assert client.count(names.articles) == 300
        result = writer.write(list(factory.articles(300, first=300)))
        assert result.created == 300 and not result.failed
        health = client.health(wait_for="yellow", timeout_s=60)
        assert health["number_of_nodes"] == 2
        assert counts(client, names.articles, "id") == (600, 600)
        hits = client.search(
            names.articles, {"query": {"match": {"body.folded": "khieu nai"}}, "size": 1}
        )
        assert hits["hits"]["total"]["value"] > 0

        assert embedded.start_node(index) == "started"
        health = client.health(wait_for="green", timeout_s=180)
        assert health["number_of_nodes"] == 3 and health["status"] == "green"
        assert counts(client, names.articles, "id") == (600, 600)
        client.close()
    finally:
        embedded.stop()
