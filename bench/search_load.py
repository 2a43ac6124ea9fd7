"""Search load benchmark: latency of ``GET /api/search`` under concurrent clients.

Run ``python -m bench.search_load [--quick] [--articles N] [--duration S] [--engine-url URL]``.
Prints one JSON object on stdout: ``p50_ms``, ``p95_ms``, ``p99_ms`` (client-side latency of
each request), ``errors`` (non-200 answers and transport failures), ``requests``, ``articles``.

Corpus: rendering a document (`indexer.writer.article_document`: normalise and pyvi) costs
about 5 ms, so a pool of at most 5,000 `bench.common.ArticleFactory` articles is rendered once
(in a process pool) and the N indexed documents are copies of it with their own id, URL,
publication time and outlet; one document in five belongs to a syndicated cluster of four,
so the collapse path is exercised. Documents go straight to `Engine.bulk`.

The app is the real one, served by uvicorn in a subprocess on 127.0.0.1 (so the server has its
own interpreter), called with a bearer token by ``--clients`` threads mixing queries with and
without diacritics, quoted phrases, filters, date sorting and second pages. The engine is a
fresh embedded one in a temporary folder, or ``--engine-url`` (indices under the prefix
``bench-search-``, removed at the end).
"""

from __future__ import annotations

import argparse
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
from fastapi import FastAPI

from bench.common import OUTLETS, ArticleFactory, emit, log, machine_context, rounded
from bench.engine import bench_settings, running_engine
from diemnong.settings import EngineSettings, Settings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames, apply_layout, drop_layout
from indexer.vietnamese import fold
from indexer.writer import article_document

PREFIX = "bench-search-"
POOL = 5_000
FULL_ARTICLES = 200_000
QUICK_ARTICLES = 20_000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.search_load", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 articles, 15 s of load")
    parser.add_argument("--articles", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds of load")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--engine-url", default=None, help="an engine to use instead of our own")
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
    from complaints.privacy import Role

    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    store = UserStore(engine, names.users, Passwords(hasher))
    store.add("bench-viewer", secrets.token_urlsafe(16) + "Aa1!", Role.VIEWER)
    return store.create_token("bench-viewer").secret


@contextmanager
def served_app(engine_url: str, prefix: str) -> Iterator[str]:
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
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- load ------------------------------------------------------------------------------------
def query_mix(seed: int) -> list[dict[str, Any]]:
    """Searches as press officers type them: words with or without marks, phrases, filters."""
    rng = random.Random(seed)
    factory = ArticleFactory(seed=seed)
    words = [w.strip('.,:;“”"()') for s in factory.sentences for w in s.split()]
    words = [w for w in words if len(w) > 2]
    mix: list[dict[str, Any]] = []
    for number in range(400):
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


class Load:
    """``clients`` threads calling the API until the deadline; latencies in ms."""

    def __init__(self, base: str, token: str, mix: list[dict[str, Any]], clients: int) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.mix = mix
        self.clients = clients
        self.latencies: list[float] = []
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
        return answer

    def _client(self, number: int, deadline: float) -> None:
        rng = random.Random(number)
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as http:
            while time.monotonic() < deadline:
                params = dict(rng.choice(self.mix))
                page_two = params.pop("page_two")
                answer = self._call(http, params)
                if page_two and answer and answer.get("next") and time.monotonic() < deadline:
                    self._call(http, {**params, "cursor": answer["next"]})

    def run(self, duration_s: float) -> float:
        deadline = time.monotonic() + duration_s
        threads = [
            threading.Thread(target=self._client, args=(n, deadline), daemon=True)
            for n in range(self.clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        only = values[0] if values else 0.0
        return {"p50_ms": only, "p95_ms": only, "p99_ms": only}
    cuts = quantiles(values, n=100, method="inclusive")
    return {
        "p50_ms": rounded(cuts[49], 1),
        "p95_ms": rounded(cuts[94], 1),
        "p99_ms": rounded(cuts[98], 1),
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"articles": args.articles, "clients": args.clients}
    result.update(machine_context())
    names = IndexNames(PREFIX)
    with ExitStack() as stack:
        if args.engine_url:
            url = args.engine_url
            settings = Settings()
        else:
            settings = bench_settings(workdir / "data", workdir / "cache")
            state, _ = stack.enter_context(running_engine(settings, []))
            url = state.url
        engine = Engine.connect(url, EngineSettings(url=url))
        stack.callback(engine.close)
        drop_layout(engine, names)
        apply_layout(engine, names, settings.index)
        stack.callback(drop_layout, engine, names)
        result.update(index_corpus(engine, names, args))
        token = bearer_token(engine, names)
        mix = query_mix(args.seed)
        base = stack.enter_context(served_app(url, PREFIX))
        log("warming up for 3 s")
        Load(base, token, mix, args.clients).run(3.0)
        load = Load(base, token, mix, args.clients)
        elapsed = load.run(args.duration)
        result.update(percentiles(load.latencies))
        result.update(
            errors=load.errors,
            requests=len(load.latencies),
            requests_per_s=rounded(len(load.latencies) / elapsed, 1),
            duration_s=rounded(elapsed, 1),
            engine_version=".".join(map(str, engine.version)),
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
