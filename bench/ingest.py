"""Ingest benchmark: from the local press site to searchable articles, through the real crawl.

Prints one JSON object:

* `articles_per_s`: fixture site → searchable, wall clock;
* `pipeline_vs_trafilatura`: CPU of decode + extract + normalise + dedup + entities per page ÷
  `trafilatura.extract` alone, both run in turn on the same pages in one thread after the
  crawl, a batch of `crawler.page_batch` pages at a time as the crawl runs them
  (`side_by_side_ms`; median of three passes), so that both see the same caches and the same
  load from other processes;
* `pipeline_in_crawl_vs_trafilatura`: the same stages as timed inside the crawl (`stage_ms`)
  ÷ `trafilatura.extract` timed alone in a tight loop (`trafilatura_ms_per_page`) — higher,
  and it moves with the machine's load: between items the caches hold Scrapy's data;
* `process_cpu_vs_trafilatura` and `cpu_ms_per_article`: the whole crawl process, and beside
  it the page workers, the fixture site and the engine (a shared engine's figure includes its
  other users);
* `peak_rss_mb`, `dedup_precision`, `dedup_recall`.

The fixture site runs in a subprocess so that its CPU is not counted; the engine is a fresh
embedded one, first warmed up by a smaller crawl of another fixture site run in a subprocess
(a running engine has compiled its indexing path; `--cold` skips this), or `--engine-url`,
which gets its own index prefix, dropped afterwards.
`--page-workers N` runs the page stages in N worker processes (crawlers.offload; default as
`diemnong crawl`: one fewer than the cores, 0 keeps them in the crawl process);
`--page-batch N` gives them N pages at a time (default as `diemnong crawl`; 1: page by page).
`--quick` runs a reduced version in under a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import trafilatura

from bench.common import emit, log, machine_context, rounded
from crawlers.dedup import StoryClusterer, story_text
from crawlers.entities import EntityExtractor
from crawlers.items import FetchedPage
from crawlers.offload import default_page_workers, process_pages
from crawlers.run import run_crawl
from crawlers.services import CrawlServices
from diemnong.settings import CrawlerSettings, EngineSettings, IndexSettings, Settings
from indexer.adapter import Engine
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout, drop_layout
from indexer.models import OutletKind, Source

REPO = Path(__file__).resolve().parent.parent
# What `pipeline_vs_trafilatura` counts: the stages that turn a page into an enriched article.
# Indexing and percolation talk to the engine and are reported next to it, not inside it.
PROCESSING_STAGES = ("decode", "extract", "normalise", "dedup", "entities")
SIDE_BY_SIDE_PASSES = 3
WARM_UP_PER_OUTLET = 30
WARM_UP_SEED = 11
DEFAULT_PAGE_BATCH = CrawlerSettings().page_batch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_site(per_outlet: int, seed: int = 7) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "crawlers.fixture_site", "--port", str(port),
            "--articles", str(per_outlet), "--slow-delay", "0.2", "--big-page-mb", "1",
            "--seed", str(seed),
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


def _engine_process(url: str) -> psutil.Process | None:
    """The process listening on the engine's port, when it runs on this machine."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        for conn in psutil.net_connections("tcp"):
            listening = conn.status == psutil.CONN_LISTEN and conn.laddr
            if listening and getattr(conn.laddr, "port", None) == port and conn.pid:
                return psutil.Process(conn.pid)
    except psutil.Error:
        return None
    return None


def _cpu_s(proc: psutil.Process | None) -> float:
    """User + system CPU seconds of ``proc`` so far (0 when it is gone or unknown)."""
    if proc is None:
        return 0.0
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def trafilatura_baseline(engine: Engine, names: IndexNames, sample: int) -> tuple[float, int]:
    """CPU seconds per page of `trafilatura.extract` on pages the crawl indexed."""
    hits = engine.search(names.articles, {"size": sample, "_source": ["url"]})["hits"]["hits"]
    with httpx.Client(timeout=10) as client:
        pages = [client.get(hit["_source"]["url"]).text for hit in hits]
    start = time.process_time()
    for html in pages:
        trafilatura.extract(html)
    return (time.process_time() - start) / max(len(pages), 1), len(pages)


def side_by_side(
    engine: Engine,
    names: IndexNames,
    sources: list[Source],
    entities: EntityExtractor,
    sample: int,
    batch: int,
    passes: int = SIDE_BY_SIDE_PASSES,
) -> tuple[dict[str, float], float, int]:
    """CPU seconds per page of each processing stage, and of `trafilatura.extract` alone, run
    in turn on the same pages in this one thread: both see the same caches and the same load
    from the rest of the machine, which the in-crawl figures do not. The stages take
    ``batch`` pages at a time, stage by stage, as the crawl's `ExtractStage` gives them; the
    story clusterer then takes the batch's articles one after another, as the crawl's
    `DedupStage` does; trafilatura takes the same pages in turn, and which of the two goes
    first alternates from batch to batch. The pass with the median ratio of ``passes`` is
    returned (each with a fresh story clusterer): other tenants of a shared machine move a
    single pass by ±10%."""
    by_name = {s.name: s for s in sources}
    query = {"size": sample, "_source": ["url", "outlet"], "sort": ["_doc"]}
    hits = engine.search(names.articles, query)["hits"]["hits"]
    now = datetime.now(UTC)
    pages: list[tuple[FetchedPage, str]] = []
    with httpx.Client(timeout=10) as client:
        for hit in hits:
            response = client.get(hit["_source"]["url"])
            page = FetchedPage(
                url=hit["_source"]["url"],
                requested_url=hit["_source"]["url"],
                status=response.status_code,
                body=response.content,
                content_type=response.headers.get("content-type"),
                source=by_name[hit["_source"]["outlet"]],
                fetched_at=now,
                via="bench",
            )
            pages.append((page, response.text))
    results = [_side_by_side_pass(pages, entities, now, batch) for _ in range(passes)]
    results.sort(key=lambda r: sum(r[0].values()) / r[1])
    stages, alone = results[len(results) // 2]
    count = max(len(pages), 1)
    return {k: v / count for k, v in stages.items()}, alone / count, len(pages)


def _side_by_side_pass(
    pages: list[tuple[FetchedPage, str]], entities: EntityExtractor, now: datetime, batch: int
) -> tuple[dict[str, float], float]:
    clusterer = StoryClusterer()
    stages: dict[str, float] = dict.fromkeys(PROCESSING_STAGES, 0.0)
    alone = 0.0
    for number, first in enumerate(range(0, len(pages), batch)):
        chunk = pages[first : first + batch]
        for turn in (0, 1) if number % 2 else (1, 0):
            if turn:
                start = time.thread_time()
                for _, html in chunk:
                    trafilatura.extract(html)
                alone += time.thread_time() - start
                continue
            outcomes = process_pages([page for page, _ in chunk], now, entities)
            for outcome in outcomes:
                for stage, spent in outcome.seconds.items():
                    stages[stage] += spent
            for a in (o.article for o in outcomes if o.article is not None):
                start = time.thread_time()
                clusterer.assign(
                    a.id, story_text(a.title, a.lead, a.body), a.published_at, a.outlet
                )
                stages["dedup"] += time.thread_time() - start
    return stages, alone


def crawl_settings(
    data_dir: Path, url: str, prefix: str, page_batch: int = DEFAULT_PAGE_BATCH
) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        engine=EngineSettings(url=url),
        index=IndexSettings(prefix=prefix),
        crawler=CrawlerSettings(
            allow_loopback=True,
            concurrent_per_domain=16,
            download_timeout_s=5,
            autothrottle=False,
            page_batch=page_batch,
        ),
        _env_file=None,
    )


def warm_up_engine(url: str, per_outlet: int = WARM_UP_PER_OUTLET) -> None:
    """One smaller crawl of another fixture site into a throwaway prefix, so that the measured
    crawl meets an engine whose JIT has compiled the indexing path, as a running engine's
    has. Run in a subprocess: the measured crawl's own Python caches stay cold."""
    site, base = start_site(per_outlet, seed=WARM_UP_SEED)
    work = Path(tempfile.mkdtemp(prefix="diemnong-bench-warm-up-"))
    settings = crawl_settings(work, url, f"bench-warm-up-{os.getpid()}-")
    engine = Engine.connect(url, settings.engine)
    names = IndexNames(settings.index.prefix)
    try:
        apply_layout(engine, names, settings.index)
        run_crawl(settings, sources_of(base), engine, page_workers=0)
    finally:
        site.kill()
        drop_layout(engine, names)


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
    parser.add_argument(
        "--page-workers",
        type=int,
        default=None,
        help="processes for decode/extract/normalise/entities (0: in the crawl process; "
        "default: as `diemnong crawl`, one fewer than the cores)",
    )
    parser.add_argument(
        "--page-batch",
        type=int,
        default=DEFAULT_PAGE_BATCH,
        help="pages per batch through the page stages, in the crawl and the side-by-side "
        "measure (default: as `diemnong crawl`, crawler.page_batch; 1: page by page)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="measure against the freshly started embedded engine, without a warm-up crawl",
    )
    args = parser.parse_args()
    per_outlet = args.per_outlet or (10 if args.quick else 80)
    page_workers = default_page_workers(args.page_workers)

    work = Path(tempfile.mkdtemp(prefix="diemnong-bench-ingest-"))
    embedded = None
    url = args.engine_url
    if url is None:
        embedded = EmbeddedEngine(Settings(data_dir=work / "engine", _env_file=None))  # type: ignore[call-arg]
        log("starting the embedded engine")
        status = embedded.start()
        assert status.state is not None
        url = status.state.url
        if not args.cold:
            log("warming the engine up with a smaller crawl (in a subprocess)")
            warm = f"from bench.ingest import warm_up_engine; warm_up_engine({url!r})"
            subprocess.run([sys.executable, "-c", warm], check=True, stdout=subprocess.DEVNULL)
    site, base = start_site(per_outlet)
    try:
        prefix = f"bench-ingest-{os.getpid()}-"
        settings = crawl_settings(work / "data", url, prefix, args.page_batch)
        engine = Engine.connect(url, settings.engine)
        names = IndexNames(settings.index.prefix)
        apply_layout(engine, names, settings.index)
        services = CrawlServices.build(settings, engine)
        sources = sources_of(base)
        services.warm_up()
        log(f"crawling {len(sources)} outlets, {per_outlet} stories each")
        others = {"fixture_site": psutil.Process(site.pid), "engine": _engine_process(url)}
        others_cpu0 = {name: _cpu_s(proc) for name, proc in others.items()}
        children0 = _children_cpu_s()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        run_crawl(settings, sources, engine, services=services, page_workers=page_workers)
        engine.refresh(names.articles)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        others_cpu = {name: _cpu_s(proc) - others_cpu0[name] for name, proc in others.items()}
        others_cpu["page_workers"] = _children_cpu_s() - children0  # reaped when the crawl ends
        indexed = engine.count(names.articles)
        stage_s = dict(services.report.stage_seconds)
        processing = sum(stage_s.get(k, 0.0) for k in PROCESSING_STAGES)
        log("trafilatura baseline")
        base_cpu, sampled = trafilatura_baseline(engine, names, min(indexed, 300))
        log("processing stages and trafilatura side by side")
        batch = settings.crawler.page_batch
        side_stages, side_alone, side_pages = side_by_side(
            engine, names, sources, services.entities, min(indexed, 300), batch
        )
        side_processing = sum(side_stages.values())
        result = {
            "articles": indexed,
            "articles_per_s": rounded(indexed / wall, 1),
            "wall_s": rounded(wall, 2),
            "pipeline_vs_trafilatura": rounded(side_processing / side_alone, 2),
            "pipeline_in_crawl_vs_trafilatura": rounded(
                (processing / max(indexed, 1)) / base_cpu, 2
            ),
            "pipeline_with_index_vs_trafilatura": rounded(
                (sum(stage_s.values()) / max(indexed, 1)) / base_cpu, 2
            ),
            "process_cpu_vs_trafilatura": rounded((cpu / max(indexed, 1)) / base_cpu, 2),
            # CPU per article of each process on the machine's cores (the engine's figure
            # includes whatever else uses a shared engine at the time).
            "cpu_ms_per_article": {
                "crawler": rounded(cpu * 1000 / max(indexed, 1), 2),
                **{k: rounded(v * 1000 / max(indexed, 1), 2) for k, v in others_cpu.items()},
            },
            "trafilatura_ms_per_page": rounded(base_cpu * 1000, 2),
            "trafilatura_pages": sampled,
            "side_by_side_ms": {
                "pages": side_pages,
                "batch": batch,
                "trafilatura": rounded(side_alone * 1000, 2),
                **{k: rounded(v * 1000, 2) for k, v in side_stages.items()},
            },
            "stage_ms": {k: rounded(v * 1000 / max(indexed, 1), 2) for k, v in stage_s.items()},
            "peak_rss_mb": rounded(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            **{f"dedup_{k}": v for k, v in dedup_quality().items()},
            "per_outlet": per_outlet,
            "page_workers": page_workers,
            "engine_warmed_up": args.engine_url is None and not args.cold,
            **machine_context(),
        }
        emit(result)
        if embedded is None:
            drop_layout(engine, names)
    finally:
        site.kill()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
