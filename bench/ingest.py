"""Ingest benchmark: from the local press site to searchable articles, through the real crawl.

Prints one JSON object: `articles_per_s` (fixture site → searchable, wall clock),
`pipeline_vs_trafilatura` (CPU of the processing stages per article ÷ `trafilatura.extract`
alone on the same pages, measured in the same run), `process_cpu_vs_trafilatura` (the whole
crawl process — Scrapy, fetching, stages, bulk writes — on the same scale), `stage_ms`
(per article), `peak_rss_mb`, `dedup_precision`, `dedup_recall`.

The fixture site runs in a subprocess so that its CPU is not counted; the engine is a fresh
embedded one (or `--engine-url`). `--quick` runs a reduced version in under a minute.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trafilatura

from bench.common import emit, log, machine_context, rounded
from crawlers.run import run_crawl
from crawlers.services import CrawlServices
from diemnong.settings import CrawlerSettings, EngineSettings, IndexSettings, Settings
from indexer.adapter import Engine
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout
from indexer.models import OutletKind, Source

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_site(per_outlet: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "crawlers.fixture_site", "--port", str(port),
            "--articles", str(per_outlet), "--slow-delay", "0.2", "--big-page-mb", "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/_fixture/outlets", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the fixture site did not start")


def sources_of(base: str) -> list[Source]:
    outlets = httpx.get(f"{base}/_fixture/outlets", timeout=10).json()
    return [
        Source(
            name=o["name"],
            domain=f"127.0.0.1:{base.rsplit(':', 1)[1]}",
            kind=OutletKind(o["kind"]),
            province=o["province"],
            feeds=[o["feed_url"]],
            sitemaps=[o["sitemap_url"]],
            sections=o["section_urls"],
            article_patterns=[o["article_pattern"]],
        )
        for o in outlets
    ]


def trafilatura_baseline(engine: Engine, names: IndexNames, sample: int) -> tuple[float, int]:
    """CPU seconds per page of `trafilatura.extract` on pages the crawl indexed."""
    hits = engine.search(names.articles, {"size": sample, "_source": ["url"]})["hits"]["hits"]
    pages = [httpx.get(hit["_source"]["url"], timeout=10).text for hit in hits]
    start = time.process_time()
    for html in pages:
        trafilatura.extract(html)
    return (time.process_time() - start) / max(len(pages), 1), len(pages)


def dedup_quality() -> dict[str, float]:
    try:
        from bench.dedup_eval import evaluate
    except ImportError:
        return {}
    pairs = json.loads((REPO / "tests/fixtures/dedup_pairs.json").read_text("utf-8"))
    return evaluate(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--per-outlet", type=int, default=0, help="stories per outlet")
    parser.add_argument("--engine-url", default=None)
    args = parser.parse_args()
    per_outlet = args.per_outlet or (10 if args.quick else 80)

    work = Path(tempfile.mkdtemp(prefix="diemnong-bench-ingest-"))
    embedded = None
    url = args.engine_url
    if url is None:
        embedded = EmbeddedEngine(Settings(data_dir=work / "engine", _env_file=None))
        log("starting the embedded engine")
        status = embedded.start()
        assert status.state is not None
        url = status.state.url
    site, base = start_site(per_outlet)
    try:
        settings = Settings(
            data_dir=work / "data",
            engine=EngineSettings(url=url),
            index=IndexSettings(prefix="bench-ingest-"),
            crawler=CrawlerSettings(
                allow_loopback=True, concurrent_per_domain=16, download_timeout_s=5
            ),
            _env_file=None,
        )
        engine = Engine.connect(url, settings.engine)
        names = IndexNames(settings.index.prefix)
        apply_layout(engine, names, settings.index)
        services = CrawlServices.build(settings, engine)
        sources = sources_of(base)
        services.warm_up()
        log(f"crawling {len(sources)} outlets, {per_outlet} stories each")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        run_crawl(settings, sources, engine, services=services)
        engine.refresh(names.articles)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        indexed = engine.count(names.articles)
        stage_s = dict(services.report.stage_seconds)
        processing = sum(v for k, v in stage_s.items() if k != "index")
        log("trafilatura baseline")
        base_cpu, sampled = trafilatura_baseline(engine, names, min(indexed, 300))
        result = {
            "articles": indexed,
            "articles_per_s": rounded(indexed / wall, 1),
            "wall_s": rounded(wall, 2),
            "pipeline_vs_trafilatura": rounded((processing / max(indexed, 1)) / base_cpu, 2),
            "pipeline_with_index_vs_trafilatura": rounded(
                (sum(stage_s.values()) / max(indexed, 1)) / base_cpu, 2
            ),
            "process_cpu_vs_trafilatura": rounded((cpu / max(indexed, 1)) / base_cpu, 2),
            "trafilatura_ms_per_page": rounded(base_cpu * 1000, 2),
            "trafilatura_pages": sampled,
            "stage_ms": {k: rounded(v * 1000 / max(indexed, 1), 2) for k, v in stage_s.items()},
            "peak_rss_mb": rounded(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            **{f"dedup_{k}": v for k, v in dedup_quality().items()},
            "per_outlet": per_outlet,
            **machine_context(),
        }
        emit(result)
    finally:
        site.kill()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
