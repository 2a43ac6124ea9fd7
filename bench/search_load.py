"""Search load benchmark: latency of ``GET /api/search`` under concurrent clients.

Run ``python -m bench.search_load [--quick] [--articles N] [--duration S] [--workers N]
[--distinct] [--engine-url URL | --data-dir DIR]``. Prints one JSON object on stdout:
``p50_ms``, ``p95_ms``, ``p99_ms`` (client-side latency of each request), ``errors`` (non-200
answers and transport failures), ``requests``, ``articles``, then what tells the parts apart
on a shared machine: ``engine_took_p50_ms``/``engine_took_p95_ms`` (the engine's own ``took``
over the round-trips of one API search, the answer's ``took_ms``, for answers the engine
computed rather than the web app's kept ones; it includes time queued in the engine), the
CPU time per request of the engine, the web app and the clients (``*_cpu_ms_per_request``:
it depends far less than latency on other work sharing the cores), and the engine's shard
request cache counters during the load.

Corpus: rendering a document (`indexer.writer.article_document`: normalise and pyvi) costs
about 5 ms, so a pool of at most 5,000 `bench.common.ArticleFactory` articles is rendered once
(in a process pool) and the N indexed documents are copies of it with their own id, URL,
publication time and outlet; one document in five belongs to a syndicated cluster of four,
so the republication path is exercised. Documents go straight to `Engine.bulk`.

The app is the real one, served by uvicorn (``--workers``; one process by default, as
`diemnong serve` runs it, so its answer cache is shared by every request) in a subprocess on
127.0.0.1, called with a bearer token by ``--clients`` threads mixing queries
with and without diacritics, quoted phrases, filters, date sorting and second pages: 400
searches. First each of them is asked once, shared among the clients (``first_ask_p50_ms``,
``first_ask_p95_ms``, ``first_ask_p99_ms``: searches nobody asked before, under the same
concurrency); then, for ``--duration`` seconds, the clients pick among them at random, as an
office repeats its searches: ``p50_ms``/``p95_ms``/``p99_ms``. ``--distinct`` instead asks
each search once for the whole duration: the cost of a search nobody asked before.

The engine is a fresh embedded one in a temporary folder, or ``--engine-url`` (indices under
the prefix ``bench-search-``, removed at the end). ``--data-dir DIR`` runs the embedded
engine on ``DIR`` and keeps the corpus there: a later run with the same folder, article
count, seed and article layout reuses it instead of indexing again (200,000 articles take
several minutes to index).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from statistics import quantiles
from typing import Any

import httpx
import psutil
from fastapi import FastAPI

from bench.common import OUTLETS, ArticleFactory, emit, log, machine_context, rounded
from bench.engine import bench_settings, running_engine
from complaints.privacy import Role
from diemnong.settings import EngineSettings, Settings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames, apply_layout, drop_layout, index_bodies
from indexer.vietnamese import fold
from indexer.writer import article_document

PREFIX = "bench-search-"
POOL = 5_000
FULL_ARTICLES = 200_000
QUICK_ARTICLES = 20_000
CORPUS_FILE = "bench-search-corpus.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.search_load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 articles, 15 s of load")
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds of load")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn worker processes of the web app (default 1, as `diemnong serve` runs)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--engine-url", default=None, help="an engine to use instead of our own")
    target.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the embedded engine and its corpus here; reused by the next run",
    )
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="every search asked once: what a first search costs, with no engine cache to help",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.articles is None:
        args.articles = QUICK_ARTICLES if args.quick else FULL_ARTICLES
    if args.duration is None:
        args.duration = 15.0 if args.quick else 60.0
    return args


# -- corpus ----------------------------------------------------------------------------------
def _render(numbers: tuple[int, int, int]) -> list[dict[str, Any]]:
    seed, first, count = numbers
    return [article_document(a) for a in ArticleFactory(seed=seed).articles(count, first)]


def render_pool(seed: int, size: int) -> list[dict[str, Any]]:
    """``size`` rendered documents, in one process per core."""
    workers = max(1, min(os.cpu_count() or 1, 4))
    step = -(-size // (workers * 4))
    parts = [(seed, first, min(step, size - first)) for first in range(0, size, step)]
    with ProcessPoolExecutor(workers) as pool:
        return [doc for chunk in pool.map(_render, parts) for doc in chunk]


def documents(
    pool: list[dict[str, Any]], count: int, names: IndexNames
) -> Iterator[dict[str, Any]]:
    """Bulk actions: copies of the pool, each with its own id, URL, time and outlet."""
    rng = random.Random(1)
    start = ArticleFactory().start
    for number in range(count):
        doc = dict(pool[number % len(pool)])
        outlet = OUTLETS[rng.randrange(len(OUTLETS))]
        url = f"https://{outlet.domain}/bai-{number:09d}.html"
        published = start + timedelta(seconds=rng.uniform(0, 91 * 86_400))
        doc.update(
            id=article_id(url),
            url=url,
            canonical_url=url,
            outlet=outlet.name,
            outlet_kind=outlet.kind.value,
            province=outlet.province,
            published_at=published.isoformat(),
            story_cluster_id=f"cl-{number // 4}" if (number // 4) % 5 == 0 else None,
            is_original=(number // 4) % 5 != 0 or number % 4 == 0,
        )
        yield {
            "_op_type": "create",
            "_index": names.article_index(published),
            "_id": doc["id"],
            "_source": doc,
        }


def index_corpus(engine: Engine, names: IndexNames, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    pool = render_pool(args.seed, min(POOL, args.articles))
    render_s = time.perf_counter() - started
    log(f"rendered a pool of {len(pool)} documents in {render_s:.1f}s")
    first = ArticleFactory().start
    for month in range(-1, 5):
        engine.create_index(names.article_index(first + timedelta(days=31 * month)))
    started = time.perf_counter()
    result = engine.bulk(documents(pool, args.articles, names), chunk_size=500)
    engine.refresh(names.articles)
    bulk_s = time.perf_counter() - started
    stored = engine.count(names.articles)
    if stored != args.articles or result.failed:
        raise RuntimeError(f"indexed {stored} of {args.articles}; failed {result.failed[:1]}")
    log(f"indexed {stored} articles in {bulk_s:.1f}s")
    return {
        "render_pool": len(pool),
        "render_s": rounded(render_s, 1),
        "bulk_s": rounded(bulk_s, 1),
    }


def corpus_fingerprint(settings: Settings, names: IndexNames, args: argparse.Namespace) -> str:
    """What a kept corpus must match to be reused: size, seed and the article layout."""
    layout = index_bodies(names, settings.index)["articles_template"]
    described = {"articles": args.articles, "seed": args.seed, "pool": POOL, "layout": layout}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def prepared_corpus(
    engine: Engine, names: IndexNames, settings: Settings, args: argparse.Namespace
) -> dict[str, Any]:
    """Index the corpus, or reuse the one kept in ``--data-dir`` when it is the same."""
    marker = args.data_dir / CORPUS_FILE if args.data_dir else None
    fingerprint = corpus_fingerprint(settings, names, args)
    if marker and marker.is_file():
        kept = json.loads(marker.read_text("utf-8"))
        if kept.get("fingerprint") == fingerprint and engine.count(names.articles) == args.articles:
            log(f"reusing the {args.articles} articles kept in {args.data_dir}")
            return {**kept["figures"], "corpus_reused": True}
        marker.unlink()
    drop_layout(engine, names)
    apply_layout(engine, names, settings.index)
    figures = index_corpus(engine, names, args)
    if marker:
        marker.write_text(json.dumps({"fingerprint": fingerprint, "figures": figures}), "utf-8")
    return {**figures, "corpus_reused": False}


# -- the app ---------------------------------------------------------------------------------
def app_from_env() -> FastAPI:
    """The uvicorn factory of the server subprocess: settings from its environment."""
    from api.app import create_app
    from api.routes import search

    app = create_app(Settings())
    if not any(getattr(route, "path", "") == "/api/search" for route in app.routes):
        app.include_router(search.router)
    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bearer_token(engine: Engine, names: IndexNames) -> str:
    from argon2 import PasswordHasher

    from api.auth.passwords import Passwords
    from api.auth.users import UserStore

    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    store = UserStore(engine, names.users, Passwords(hasher))
    if store.get("bench-viewer") is None:
        store.add("bench-viewer", secrets.token_urlsafe(16) + "Aa1!", Role.VIEWER)
    return store.create_token("bench-viewer").secret


@contextmanager
def served_app(engine_url: str, prefix: str, workers: int) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "DIEMNONG_ENGINE__URL": engine_url,
        "DIEMNONG_INDEX__PREFIX": prefix,
        "DIEMNONG_API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    command = [
        sys.executable, "-m", "uvicorn", "bench.search_load:app_from_env", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--workers", str(workers),
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parents[1])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- load ------------------------------------------------------------------------------------
def query_mix(seed: int, count: int = 400) -> list[dict[str, Any]]:
    """Searches as press officers type them: words with or without marks, phrases, filters."""
    rng = random.Random(seed)
    factory = ArticleFactory(seed=seed)
    words = [w.strip('.,:;“”"()') for s in factory.sentences for w in s.split()]
    words = [w for w in words if len(w) > 2]
    mix: list[dict[str, Any]] = []
    for number in range(count):
        first = rng.randrange(len(words) - 2)
        pair = " ".join(words[first : first + 2])
        kind = number % 8
        params: dict[str, Any] = {"q": fold(pair) if kind in (1, 5) else pair}
        if kind == 2:
            params["q"] = f'"{pair}"'
        elif kind == 3:
            params["outlet"] = rng.choice(OUTLETS).name
        elif kind == 4:
            day = 1 + rng.randrange(25)
            params.update({"from": f"2025-10-{day:02d}", "to": f"2025-10-{day + 3:02d}"})
        elif kind == 5:
            params["sort"] = "date"
        elif kind == 6:
            params = {"sort": "date", "outlet_kind": "provincial_paper"}
        elif kind == 7:
            params["q"] = f"{words[first]} -{words[first + 1]}"
        params["page_two"] = kind in (0, 6)
        mix.append(params)
    return mix


def distinct_mix(seed: int) -> list[dict[str, Any]]:
    """The searches of `query_mix`, each once: no engine cache has seen any of them."""
    unique = {json.dumps(params, sort_keys=True): params for params in query_mix(seed, 20_000)}
    return list(unique.values())


class Load:
    """``clients`` threads calling the API until the deadline; latencies in ms.

    Each client picks searches from ``mix`` at random, or, with ``distinct``, walks its own
    share of it so that no search is asked twice (until a share runs out).
    """

    def __init__(
        self,
        base: str,
        token: str,
        mix: list[dict[str, Any]],
        clients: int,
        distinct: bool = False,
    ) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.mix = mix
        self.clients = clients
        self.distinct = distinct
        self.latencies: list[float] = []
        self.engine_took: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()

    def _call(self, http: httpx.Client, params: dict[str, Any]) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            response = http.get("/api/search", params=params)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies.append(elapsed)
            self.errors += 0 if ok else 1
        if not ok:
            return None
        answer: dict[str, Any] = response.json()
        if isinstance(answer.get("took_ms"), int | float) and not answer.get("reused"):
            with self.lock:
                self.engine_took.append(float(answer["took_ms"]))
        return answer

    def _client(self, number: int, deadline: float) -> None:
        rng = random.Random(number)
        share = itertools.cycle(self.mix[number :: self.clients])
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as http:
            while time.monotonic() < deadline:
                params = dict(next(share) if self.distinct else rng.choice(self.mix))
                page_two = params.pop("page_two")
                answer = self._call(http, params)
                if page_two and answer and answer.get("next") and time.monotonic() < deadline:
                    self._call(http, {**params, "cursor": answer["next"]})

    def _ask_share_once(self, number: int) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=60) as http:
            for search in self.mix[number :: self.clients]:
                params = dict(search)
                page_two = params.pop("page_two")
                answer = self._call(http, params)
                if page_two and answer and answer.get("next"):
                    self._call(http, {**params, "cursor": answer["next"]})

    def ask_each_once(self) -> float:
        """Every search of the mix (and its second page) once, shared among the clients."""
        return self._in_threads([(self._ask_share_once, (n,)) for n in range(self.clients)])

    def run(self, duration_s: float) -> float:
        deadline = time.monotonic() + duration_s
        return self._in_threads([(self._client, (n, deadline)) for n in range(self.clients)])

    @staticmethod
    def _in_threads(work: list[tuple[Any, tuple[Any, ...]]]) -> float:
        threads = [threading.Thread(target=target, args=args, daemon=True) for target, args in work]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def percentiles(values: list[float], prefix: str = "") -> dict[str, float | None]:
    if not values:
        return {f"{prefix}p50_ms": None, f"{prefix}p95_ms": None, f"{prefix}p99_ms": None}
    cuts = quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {
        f"{prefix}p50_ms": rounded(cuts[49], 1),
        f"{prefix}p95_ms": rounded(cuts[94], 1),
        f"{prefix}p99_ms": rounded(cuts[98], 1),
    }


def cpu_seconds(pid: int | None, children: bool = True) -> float:
    """User + system CPU time of a process (and its children) so far; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *(root.children(recursive=True) if children else [])]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class CpuMeter:
    """CPU spent by the engine, the web app and the clients during the load, per request.

    Unlike latencies, CPU time per request does not depend on what else runs on the machine,
    so it compares runs on a shared machine and says which part to make cheaper.
    """

    def __init__(self, engine_pid: int | None, app_pid: int) -> None:
        self.pids = {"engine": engine_pid, "app": app_pid, "clients": os.getpid()}
        self.started: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {
            name: cpu_seconds(pid, children=name != "clients") for name, pid in self.pids.items()
        }

    def start(self) -> None:
        self.started = self._now()

    def per_request(self, requests: int) -> dict[str, float | None]:
        ended = self._now()
        return {
            f"{name}_cpu_ms_per_request": (
                rounded((ended[name] - self.started[name]) * 1000 / max(requests, 1), 2)
                if self.pids[name]
                else None
            )
            for name in self.pids
        }


def request_cache_stats(engine: Engine, names: IndexNames) -> dict[str, int]:
    """The engine's shard request cache counters over the article indices."""
    found = engine.request("GET", f"/{names.articles}/_stats/request_cache")
    stats = found["_all"]["total"]["request_cache"]
    return {key: int(stats[key]) for key in ("hit_count", "miss_count", "evictions")}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "articles": args.articles,
        "clients": args.clients,
        "workers": args.workers,
    }
    result.update(machine_context())
    names = IndexNames(PREFIX)
    with ExitStack() as stack:
        engine_pid: int | None = None
        if args.engine_url:
            url = args.engine_url
            settings = Settings()
        else:
            data = args.data_dir.resolve() if args.data_dir else workdir
            settings = bench_settings(data / "data", data / "cache")
            state, _ = stack.enter_context(running_engine(settings, []))
            url, engine_pid = state.url, state.pid
        engine = Engine.connect(url, EngineSettings(url=url))
        stack.callback(engine.close)
        if not args.data_dir:
            stack.callback(drop_layout, engine, names)
        result.update(prepared_corpus(engine, names, settings, args))
        token = bearer_token(engine, names)
        mix = distinct_mix(args.seed) if args.distinct else query_mix(args.seed)
        base, app_pid = stack.enter_context(served_app(url, PREFIX, args.workers))
        if args.distinct:
            log("warming up for 3 s")
            Load(base, token, mix[-400:], args.clients, args.distinct).run(3.0)
            mix = mix[:-400]
        else:
            log(f"first asks: each of the {len(mix)} searches once, {args.clients} at a time")
            first = Load(base, token, mix, args.clients)
            first_s = first.ask_each_once()
            result.update(percentiles(first.latencies, "first_ask_"))
            took = percentiles(first.engine_took, "first_ask_engine_took_")
            result.update({k: v for k, v in took.items() if not k.endswith("p99_ms")})
            result.update(
                first_ask_requests=len(first.latencies),
                first_ask_errors=first.errors,
                first_ask_s=rounded(first_s, 1),
            )
        load = Load(base, token, mix, args.clients, args.distinct)
        cache_before = request_cache_stats(engine, names)
        cpu = CpuMeter(engine_pid, app_pid)
        cpu.start()
        elapsed = load.run(args.duration)
        result.update(cpu.per_request(len(load.latencies)))
        cache_after = request_cache_stats(engine, names)
        result.update(percentiles(load.latencies))
        took = percentiles(load.engine_took, "engine_took_")
        result.update({k: v for k, v in took.items() if not k.endswith("p99_ms")})
        result.update(
            errors=load.errors,
            requests=len(load.latencies),
            requests_per_s=rounded(len(load.latencies) / elapsed, 1),
            duration_s=rounded(elapsed, 1),
            distinct=args.distinct,
            engine_version=".".join(map(str, engine.version)),
            **{f"request_cache_{k}": v - cache_before[k] for k, v in cache_after.items()},
        )
    return result


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="diemnong-bench-search-") as workdir:
        log(f"{args.articles} articles, {args.clients} clients for {args.duration:.0f}s")
        result = run(args, Path(workdir))
    ordered = {
        key: result.pop(key)
        for key in ("p50_ms", "p95_ms", "p99_ms", "errors", "requests", "articles")
    }
    emit({**ordered, **result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
