"""Precision and recall of `crawlers.dedup.StoryClusterer` on the labelled pairs, and its cost.

Run ``python -m bench.dedup_eval [--grid]``. Prints one JSON object: precision, recall and the
confusion counts on ``tests/fixtures/dedup_pairs.json`` with the default settings,
``wall_ms_per_article``/``cpu_ms_per_article`` for 4 KB synthetic bodies assigned one by one
to a single clusterer, and with ``--grid`` the figures for each shingle size and threshold
tried when tuning (also with the two extra tests switched off: shingles alone).

Each pair goes to a fresh clusterer (``a`` first, then ``b``; a duplicate is predicted when
``b`` joins ``a``'s cluster). The pairs reuse stories (an original against two copies, the
same filler story against several others), so in one shared clusterer a pair's outcome would
depend on the other pairs through replays and cluster chaining; fresh clusterers measure the
pairwise decision itself. Whole-archive clustering is covered by tests/unit/test_dedup.py.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.dedup import StoryClusterer, story_text

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dedup_pairs.json"


def load_pairs(path: Path = PAIRS) -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))
    return pairs


def _assign(clusterer: StoryClusterer, key: str, side: Mapping[str, Any]) -> str:
    published = side.get("published_at")
    decision = clusterer.assign(
        key,
        story_text(side["title"], "", side["text"]),
        datetime.fromisoformat(published) if published else None,
        side.get("outlet", ""),
    )
    return decision.cluster_id


def evaluate(pairs: Iterable[Mapping[str, Any]], **settings: Any) -> dict[str, Any]:
    """Precision and recall of the duplicate decision; ``settings`` go to `StoryClusterer`."""
    tp = fp = fn = tn = 0
    for pair in pairs:
        clusterer = StoryClusterer(**settings)
        first = _assign(clusterer, "a", pair["a"])
        predicted = _assign(clusterer, "b", pair["b"]) == first
        actual = bool(pair["duplicate"])
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
        tn += not predicted and not actual
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def errors(pairs: Iterable[Mapping[str, Any]], **settings: Any) -> list[str]:
    """Notes of the misjudged pairs, for reading the failures."""
    found = []
    for pair in pairs:
        clusterer = StoryClusterer(**settings)
        first = _assign(clusterer, "a", pair["a"])
        predicted = _assign(clusterer, "b", pair["b"]) == first
        if predicted != pair["duplicate"]:
            found.append(("FP " if predicted else "FN ") + pair["note"])
    return found


def cost_ms(n: int = 1000, size: int = 4096, repeats: int = 3) -> dict[str, float]:
    """Mean wall and CPU ms per `assign` of ``n`` synthetic articles with ``size``-byte bodies
    (about 4.8 KB of text with title and lead), best of ``repeats`` runs: the machine is shared,
    and CPU time is what the ingest budget spends."""
    from bench.common import ArticleFactory

    factory = ArticleFactory(seed=3, body_bytes=(size, size))
    texts = [
        (a.id, story_text(a.title, a.lead, a.body), a.published_at, a.outlet)
        for a in factory.articles(n)
    ]
    wall, cpu = [], []
    for _ in range(repeats):
        clusterer = StoryClusterer()
        started, started_cpu = time.perf_counter(), time.process_time()
        for article_id, text, published_at, outlet in texts:
            clusterer.assign(article_id, text, published_at, outlet)
        wall.append((time.perf_counter() - started) * 1000 / n)
        cpu.append((time.process_time() - started_cpu) * 1000 / n)
    return {"wall_ms_per_article": round(min(wall), 3), "cpu_ms_per_article": round(min(cpu), 3)}


def main() -> None:
    from bench.common import emit, log, machine_context

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also try other settings")
    parser.add_argument("--errors", action="store_true", help="list misjudged pairs on stderr")
    args = parser.parse_args()
    pairs = load_pairs()
    result: dict[str, Any] = {"pairs": len(pairs), **evaluate(pairs)}
    if args.errors:
        for line in errors(pairs):
            log(line)
    if args.grid:
        result["grid"] = [
            {"shingle_size": k, "threshold": t, **evaluate(pairs, shingle_size=k, threshold=t)}
            for k in (2, 3, 4, 5)
            for t in (0.5, 0.6, 0.7, 0.8)
        ]
        result["grid_shingles_only"] = [
            {
                "shingle_size": k,
                "threshold": t,
                **evaluate(
                    pairs, shingle_size=k, threshold=t, max_conflicts=1.0, max_gap_hours=1e6
                ),
            }
            for k in (2, 3, 4, 5)
            for t in (0.5, 0.6, 0.7, 0.8, 0.9)
        ]
    log("timing 4 KB articles")
    result.update(cost_ms())
    result["machine"] = machine_context()
    emit(result)


if __name__ == "__main__":
    main()
