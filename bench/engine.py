"""Engine benchmark: start times of the embedded OpenSearch and bulk indexing of articles.

Run ``python -m bench.engine [--quick | --articles N]``. Prints one JSON object on stdout:

- ``cold_start_with_download_s``: first start with an empty jar cache, so Maven copies the jars
  from ``~/.m2`` or downloads them (``download_source`` says which);
- ``cold_start_s``: start on an empty data folder with the jars cached;
- ``warm_start_s``: restart on the data of the bulk phase;
- ``bulk_docs_per_s``: articles through `ArticleWriter.write` (normalise, segment, id pre-check,
  bulk create), and ``bulk_raw_docs_per_s`` for the same documents pre-rendered and sent
  straight to `Engine.bulk`; ``writer_vs_raw`` is the cost ratio of the two. The two runs
  alternate batch by batch into two index sets, so a busy moment on the shared machine hits both;
- ``normalize_ms_per_doc`` and ``segment_ms_per_doc`` on a sample, before any JVM runs.

``--quick`` (300 articles) checks that everything runs; its bulk figures come from a JVM that
is still warming up, so quote ratios from full runs only.

Everything lives in a temporary folder (engine data, jar cache) with the index prefix
``bench-``; every engine started here is stopped before the benchmark exits.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    ArticleFactory,
    PeakRss,
    batched,
    emit,
    log,
    machine_context,
    rounded,
    text_bytes,
)
from diemnong.settings import Settings
from indexer.adapter import BulkResult, Engine
from indexer.engine.embedded import EmbeddedEngine, EngineState
from indexer.layout import IndexNames, apply_layout, drop_layout
from indexer.models import Article
from indexer.vietnamese import normalize, segment
from indexer.writer import SEGMENT_BODY_CHARS, ArticleWriter, article_document

PREFIX = "bench-"
RAW_PREFIX = "bench-raw-"
WARMUP_PREFIX = "bench-warmup-"
WARMUP_DOCS = 500
FULL_ARTICLES = 50_000
QUICK_ARTICLES = 300
M2_REPOSITORY = Path.home() / ".m2" / "repository"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description="Benchmark the embedded engine."
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ARTICLES} articles")
    parser.add_argument("--articles", type=int, help=f"articles to index ({FULL_ARTICLES})")
    parser.add_argument("--batch", type=int, help="articles per writer call (default: N/6)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--text-sample", type=int, help="articles for the text-cost figures")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="LINES",
        help="cProfile the writer calls and print the top LINES functions to stderr",
    )
    args = parser.parse_args(argv)
    if args.articles is None:
        args.articles = QUICK_ARTICLES if args.quick else FULL_ARTICLES
    if args.batch is None:
        args.batch = min(2_500, max(150, args.articles // 6))
    if args.text_sample is None:
        args.text_sample = min(args.articles, 50 if args.quick else 1_000)
    return args


def bench_settings(data_dir: Path, cache_dir: Path) -> Settings:
    """The environment's settings (heap, Java) with our own folders, prefix and a free port."""
    base = Settings()
    return base.model_copy(
        update={
            "data_dir": data_dir,
            "cache_dir": cache_dir,
            "engine": base.engine.model_copy(update={"url": None, "port": 0}),
            "index": base.index.model_copy(update={"prefix": PREFIX}),
        }
    )


@contextmanager
def running_engine(
    settings: Settings, jvm_rss: list[PeakRss]
) -> Iterator[tuple[EngineState, float]]:
    """Start the embedded engine, yield its state and start time, and always stop it."""
    embedded = EmbeddedEngine(settings)
    started = time.perf_counter()
    try:
        status = embedded.start()
        elapsed = time.perf_counter() - started
        if status.state is None or not status.running:
            raise RuntimeError(f"engine did not start: {status.message}")
        log(f"engine up in {elapsed:.1f}s: {status.message}")
        with PeakRss(status.state.pid) as rss:
            jvm_rss.append(rss)
            yield status.state, elapsed
    finally:
        stopped = time.perf_counter()
        log(f"engine {embedded.stop()} in {time.perf_counter() - stopped:.1f}s")


def m2_jars() -> set[Path]:
    return set(M2_REPOSITORY.rglob("*.jar")) if M2_REPOSITORY.is_dir() else set()


def text_costs(articles: Sequence[Article]) -> dict[str, float]:
    """Per-document cost of `normalize` and of `segment` (as the writer calls them), apart."""
    segment("Khởi động bộ tách từ")  # loads pyvi's model, which is not per-document cost
    started = time.perf_counter()
    normalised = [(normalize(a.title), normalize(a.lead), normalize(a.body)) for a in articles]
    normalize_s = time.perf_counter() - started
    started = time.perf_counter()
    for title, lead, body in normalised:
        segment(title)
        segment(lead)
        segment(body, max_chars=SEGMENT_BODY_CHARS)
    segment_s = time.perf_counter() - started
    count = len(articles)
    return {
        "normalize_ms_per_doc": rounded(normalize_s * 1000 / count),
        "segment_ms_per_doc": rounded(segment_s * 1000 / count),
        "text_kb_per_doc": rounded(text_bytes(articles) / 1024 / count, 2),
    }


def raw_actions(articles: Sequence[Article], router: ArticleWriter) -> list[dict[str, Any]]:
    """The writer's bulk actions, rendered ahead of time, aimed at ``router``'s index set."""
    return [
        {
            "_op_type": "create",
            "_index": router.index_for(a),
            "_id": a.id,
            "_source": article_document(a),
        }
        for a in articles
    ]


def check(result: BulkResult, expected: int, what: str) -> None:
    if result.created != expected or result.failed or result.duplicates:
        raise RuntimeError(
            f"{what}: created {result.created} of {expected}, duplicates {result.duplicates}, "
            f"failed {len(result.failed)} (first: {result.failed[:1]})"
        )


def timed_raw(
    engine: Engine, actions: list[dict[str, Any]], ready: set[str], chunk_size: int
) -> float:
    """Seconds to bulk-create rendered documents, creating monthly indices like the writer."""
    began = time.perf_counter()
    for index in {action["_index"] for action in actions} - ready:
        engine.create_index(index)
        ready.add(index)
    result = engine.bulk(actions, chunk_size=chunk_size)
    elapsed = time.perf_counter() - began
    check(result, len(actions), "raw")
    return elapsed


def timed_writer(
    writer: ArticleWriter, batch: Sequence[Article], profiler: cProfile.Profile | None
) -> float:
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    result = writer.write(batch)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - began
    check(result, len(batch), "writer")
    return elapsed


def warm_up(engine: Engine, settings: Settings, actions: Sequence[dict[str, Any]]) -> None:
    """Bulk a copy of the first documents into a throw-away index set, untimed.

    A fresh JVM serves its first bulk requests several times slower until the JIT has compiled
    the hot paths; without this the first of writer and raw would pay for it.
    """
    names = IndexNames(WARMUP_PREFIX)
    apply_layout(engine, names, settings.index)
    index = names.article_index(datetime.now(UTC))
    copies = [{**action, "_index": index} for action in actions[:WARMUP_DOCS]]
    check(engine.bulk(copies, chunk_size=settings.index.bulk_chunk), len(copies), "warm-up")
    drop_layout(engine, names)


def bulk_phase(engine: Engine, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Writer and raw bulk, alternating which goes first in each batch."""
    names, raw_names = IndexNames(PREFIX), IndexNames(RAW_PREFIX)
    started = time.perf_counter()
    apply_layout(engine, names, settings.index)
    apply_layout(engine, raw_names, settings.index)
    layout_s = time.perf_counter() - started
    chunk = settings.index.bulk_chunk
    writer = ArticleWriter(engine, names, chunk_size=chunk)
    router = ArticleWriter(engine, raw_names, chunk_size=chunk)
    ready_raw: set[str] = set()
    profiler = cProfile.Profile() if args.profile else None
    writer_s = raw_s = render_s = 0.0
    written = 0
    factory = ArticleFactory(seed=args.seed)
    for number, batch in enumerate(batched(factory.articles(args.articles), args.batch)):
        started = time.perf_counter()
        actions = raw_actions(batch, router)
        render_s += time.perf_counter() - started
        if number == 0:
            warm_up(engine, settings, actions)
        for step in ("writer", "raw") if number % 2 else ("raw", "writer"):
            if step == "raw":
                raw_s += timed_raw(engine, actions, ready_raw, chunk)
            else:
                writer_s += timed_writer(writer, batch, profiler)
        written += len(batch)
        log(
            f"bulk {written}/{args.articles}: writer {written / writer_s:.0f} docs/s, "
            f"raw {written / raw_s:.0f} docs/s"
        )
    engine.refresh(names.articles)
    engine.refresh(raw_names.articles)
    counts = (engine.count(names.articles), engine.count(raw_names.articles))
    if counts != (args.articles, args.articles):
        raise RuntimeError(f"indexed counts {counts}, expected {args.articles} in each")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue(), file=sys.stderr)
    return {
        "bulk_docs_per_s": rounded(args.articles / writer_s, 1),
        "bulk_raw_docs_per_s": rounded(args.articles / raw_s, 1),
        "writer_vs_raw": rounded(writer_s / raw_s, 2),
        "render_ms_per_doc": rounded(render_s * 1000 / args.articles),
        # what the writer spends beyond rendering and raw bulk: id pre-check, index checks
        "writer_other_ms_per_doc": rounded((writer_s - render_s - raw_s) * 1000 / args.articles),
        "bulk_writer_s": rounded(writer_s, 1),
        "bulk_raw_s": rounded(raw_s, 1),
        "layout_s": rounded(layout_s, 2),
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"articles": args.articles, "batch": args.batch}
    result.update(machine_context())
    jvm_rss: list[PeakRss] = []
    with PeakRss(os.getpid(), children=False) as python_rss:
        sample = list(ArticleFactory(seed=args.seed).articles(args.text_sample))
        result.update(text_costs(sample))
        result["text_sample"] = len(sample)
        log(f"text costs on {len(sample)} articles: {result}")

        cache_dir = workdir / "cache"
        before = m2_jars()
        with running_engine(bench_settings(workdir / "data-download", cache_dir), jvm_rss) as (
            _,
            elapsed,
        ):
            result["cold_start_with_download_s"] = rounded(elapsed, 2)
        result["download_source"] = "maven_central" if m2_jars() - before else "local_m2"

        settings = bench_settings(workdir / "data", cache_dir)
        with running_engine(settings, jvm_rss) as (state, elapsed):
            result["cold_start_s"] = rounded(elapsed, 2)
            result["runner_version"] = state.runner_version
            result["java_major"] = state.java_major
            result["heap_mb"] = settings.engine.heap_mb
            engine = Engine.connect(state.url, settings.engine)
            try:
                result["engine_version"] = ".".join(map(str, engine.version))
                result.update(bulk_phase(engine, settings, args))
            finally:
                engine.close()

        with running_engine(settings, jvm_rss) as (state, elapsed):
            result["warm_start_s"] = rounded(elapsed, 2)
            engine = Engine.connect(state.url, settings.engine)
            try:
                kept = engine.count(IndexNames(PREFIX).articles)
            finally:
                engine.close()
            if kept != args.articles:
                raise RuntimeError(f"after the restart {kept} articles, expected {args.articles}")
    result["jvm_peak_rss_mb"] = max(rss.peak_mb for rss in jvm_rss)
    result["python_peak_rss_mb"] = python_rss.peak_mb
    return result


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """Turn SIGTERM into SystemExit so the ``finally`` blocks stop the JVMs."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="diemnong-bench-engine-") as workdir:
        log(f"workdir {workdir}, {args.articles} articles in batches of {args.batch}")
        result = run(args, Path(workdir))
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
