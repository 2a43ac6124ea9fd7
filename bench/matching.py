"""Story-matching benchmark: quality on the labelled set and percolation throughput.

Run ``python -m bench.matching [--quick] [--engine-url URL]``. Prints one JSON object:

- ``precision``, ``recall``, ``f1``: the complaints of ``tests/fixtures/matching/set.json``,
  saved through the register with their compiled queries, percolated with all its articles.
  Every (article, complaint) pair counts: a link not labelled positive is a false positive,
  so precision is measured over the whole grid, not only over the labelled pairs;
- ``baseline_precision``, ``baseline_recall``, ``baseline_f1``: a naive keyword matcher on the
  same grid (a complainant's full name or the commune's name appears in the text);
- ``hard_negative_errors``: false positives by kind of labelled negative ("unlabelled": a
  link between an article and a complaint no label mentions); ``recall_by_kind``: recall per
  kind of positive story (full names, short names, new place names, without diacritics…);
- ``percolate_per_s``: articles per second through `complaints.links.percolate` with 100,
  1,000 and 10,000 open complaints stored (``--quick``: 100 and 1,000). The extra complaints
  are the set's cases moved to other real communes with other (fictional) names.

It starts its own embedded engine unless ``--engine-url`` is given; index names use the prefix
``bench-matching-`` and are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ArticleFactory, emit, log, machine_context, rounded
from complaints.links import percolate
from complaints.matching import compile_for_register
from complaints.register import ComplaintRegister
from complaints.variants import Gazetteer
from diemnong.settings import EngineSettings, IndexSettings, Settings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames, apply_layout, drop_layout
from indexer.models import Article, Complainant, Complaint, Location
from indexer.vietnamese import normalize

SET_PATH = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "matching" / "set.json"
PREFIX = "bench-matching-"
FULL_SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)


@dataclass(frozen=True)
class EvalSet:
    complaints: list[Complaint]
    articles: list[Article]
    positives: set[tuple[str, str]]
    negatives: dict[tuple[str, str], str]
    kinds: dict[tuple[str, str], str]


def load_set(path: Path = SET_PATH) -> EvalSet:
    """The labelled set: complaints, articles, positive pairs and labelled negatives by kind."""
    data = json.loads(path.read_text("utf-8"))
    complaints = [Complaint.model_validate(c) for c in data["complaints"]]
    articles = [
        Article.model_validate({**a, "id": article_id(a["canonical_url"])})
        for a in data["articles"]
    ]
    positives: set[tuple[str, str]] = set()
    negatives: dict[tuple[str, str], str] = {}
    kinds: dict[tuple[str, str], str] = {}
    for pair in data["pairs"]:
        key = (articles[pair["article"]].id, pair["case_number"])
        kinds[key] = pair["kind"]
        if pair["should_match"]:
            positives.add(key)
        else:
            negatives[key] = pair["kind"]
    return EvalSet(complaints, articles, positives, negatives, kinds)


def scores(predicted: set[tuple[str, str]], positives: set[tuple[str, str]]) -> dict[str, float]:
    hits = len(predicted & positives)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(positives) if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": rounded(precision), "recall": rounded(recall), "f1": rounded(f1)}


def store_complaints(engine: Engine, names: IndexNames, complaints: Sequence[Complaint]) -> None:
    """Save the cases through the register (query compiled) and make them searchable."""
    register = ComplaintRegister(engine, names, compile_query=compile_for_register)
    for complaint in complaints:
        register.commit(register.plan(complaint, "bench", existing=None))
    register.refresh()


def _commune_words(location: Location) -> list[str]:
    text = location.commune_name or location.address_text
    for piece in text.split(","):
        words = normalize(piece).strip().split()
        if words and words[0].lower() in ("xã", "phường", "thị", "đặc"):
            skip = 2 if words[0].lower() in ("thị", "đặc") else 1
            return [" ".join(words[skip:]).lower()]
    return []


def baseline_links(data: EvalSet) -> set[tuple[str, str]]:
    """The naive matcher: any complainant's full name or the commune name occurs in the text."""
    needles = {
        c.case_number: [normalize(p.name).lower() for p in c.complainants]
        + _commune_words(c.location)
        for c in data.complaints
    }
    found: set[tuple[str, str]] = set()
    for article in data.articles:
        text = normalize(f"{article.title}\n{article.lead}\n{article.body}").lower()
        for case, words in needles.items():
            if any(w and w in text for w in words):
                found.add((article.id, case))
    return found


def evaluate(engine: Engine, names: IndexNames, data: EvalSet) -> dict[str, Any]:
    """Quality of the matcher and of the baseline on the whole (article × complaint) grid."""
    store_complaints(engine, names, data.complaints)
    predicted = {
        (link.article_id, link.case_number) for link in percolate(engine, names, data.articles)
    }
    result: dict[str, Any] = scores(predicted, data.positives)
    result.update(
        {f"baseline_{k}": v for k, v in scores(baseline_links(data), data.positives).items()}
    )
    errors = Counter(data.negatives.get(pair, "unlabelled") for pair in predicted - data.positives)
    result["hard_negative_errors"] = dict(sorted(errors.items()))
    found = Counter(data.kinds[pair] for pair in predicted & data.positives)
    wanted = Counter(data.kinds[pair] for pair in data.positives)
    result["recall_by_kind"] = {k: rounded(found[k] / n) for k, n in sorted(wanted.items())}
    result["labelled_pairs"] = len(data.positives) + len(data.negatives)
    result["positives"] = len(data.positives)
    result["complaints"] = len(data.complaints)
    result["articles"] = len(data.articles)
    result["missed"] = sorted(f"{case} {a}" for a, case in data.positives - predicted)
    result["false_links"] = sorted(f"{case} {a}" for a, case in predicted - data.positives)
    return result


def synthetic_complaints(
    patterns: Sequence[Complaint], count: int, seed: int = 7
) -> list[Complaint]:
    """``count`` complaints like the set's, moved to random real old communes, other names."""
    rows = [row for rows in Gazetteer.load().by_old.values() for row in rows]
    rng = random.Random(seed)
    surnames = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
    middles = ["Văn", "Thị", "Đức", "Minh", "Hữu", "Ngọc", "Quang", "Thanh"]
    givens = ["Hùng", "Lan", "Tuấn", "Mai", "Sơn", "Hoa", "Bình", "Nga", "Phúc", "Thảo", "Khoa"]
    trades = ["Phú Thịnh", "Hưng Long", "Đại Phát", "Minh Khôi", "An Khang", "Bảo Ngọc", "Kim Long"]
    made: list[Complaint] = []
    for number in range(count):
        pattern = patterns[number % len(patterns)]
        row = rng.choice(rows)
        people = [
            Complainant(name=f"{rng.choice(surnames)} {rng.choice(middles)} {rng.choice(givens)}")
            for _ in range(rng.randint(1, 3))
        ]
        trade = f"{rng.choice(trades)} {rng.choice(givens)}"
        made.append(
            pattern.model_copy(
                update={
                    "case_number": f"SYN-{number:06d}",
                    "complainants": people,
                    "location": Location(
                        address_text=f"{row.old_ward}, {row.old_district}, {row.old_province}"
                    ),
                    "projects": [f"Khu dân cư {trade}"] if pattern.projects else [],
                    "respondent": f"Công ty TNHH {trade}",
                }
            )
        )
    return made


def throughput(
    engine: Engine, settings: IndexSettings, data: EvalSet, sizes: Sequence[int], corpus: int
) -> dict[str, float]:
    """Articles per second through `percolate` with ``size`` open complaints stored."""
    articles = list(data.articles) + list(ArticleFactory(seed=3).articles(corpus))
    extra = synthetic_complaints(data.complaints, max(sizes) - len(data.complaints))
    figures: dict[str, float] = {}
    for size in sizes:
        names = IndexNames(f"{PREFIX}{size}-")
        apply_layout(engine, names, settings)
        try:
            compile_start = time.perf_counter()
            store_complaints(
                engine, names, [*data.complaints, *extra[: size - len(data.complaints)]]
            )
            stored_s = time.perf_counter() - compile_start
            log(f"{size} complaints compiled and stored in {stored_s:.1f}s")
            percolate(engine, names, articles[:50])  # warm-up: caches, JIT, spotter load
            start = time.perf_counter()
            links = len(percolate(engine, names, articles))
            elapsed = time.perf_counter() - start
            figures[str(size)] = rounded(len(articles) / elapsed, 1)
            log(f"{size} complaints: {len(articles)} articles in {elapsed:.1f}s, {links} links")
        finally:
            drop_layout(engine, names)
    return figures


@contextmanager
def engine_at(url: str | None, workdir: Path) -> Iterator[Engine]:
    """The engine at ``url``, or an embedded one started here and always stopped."""
    if url:
        engine = Engine.connect(url, EngineSettings())
        try:
            yield engine
        finally:
            engine.close()
        return
    from bench.engine import bench_settings, running_engine

    settings = bench_settings(workdir / "data", Settings().cache_dir)
    with running_engine(settings, []) as (state, _):
        engine = Engine.connect(state.url, settings.engine)
        try:
            yield engine
        finally:
            engine.close()


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = machine_context()
    data = load_set()
    settings = IndexSettings(prefix=PREFIX)
    with engine_at(args.engine_url, workdir) as engine:
        result["engine_version"] = ".".join(map(str, engine.version))
        names = IndexNames(f"{PREFIX}eval-")
        apply_layout(engine, names, settings)
        try:
            quality = evaluate(engine, names, data)
        finally:
            drop_layout(engine, names)
        details = {k: quality.pop(k) for k in ("missed", "false_links")}
        result.update(quality)
        if args.details:
            result.update(details)
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
        corpus = 0 if args.quick else 200
        result["percolate_articles"] = len(data.articles) + corpus
        result["percolate_per_s"] = throughput(engine, settings, data, sizes, corpus)
    return result


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.matching", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 complaints only")
    parser.add_argument("--engine-url", help="use this engine instead of starting one")
    parser.add_argument("--details", action="store_true", help="list missed and false links")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="diemnong-bench-matching-") as workdir:
        emit(run(args, Path(workdir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
