"""Counts per outlet for the crawl's progress display and summary table."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from contextlib import AbstractContextManager, contextmanager

COLUMNS = ("fetched", "indexed", "duplicates", "failed", "spooled", "skipped_seen")


@contextmanager
def timed(seconds: MutableMapping[str, float], stage: str) -> Iterator[None]:
    """Adds the block's CPU time (this thread only) to ``seconds[stage]``: comparable with a
    CPU-time baseline even while the engine and Scrapy compete for the cores."""
    start = time.thread_time()
    try:
        yield
    finally:
        seconds[stage] = seconds.get(stage, 0.0) + time.thread_time() - start


class CrawlReport:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
        self.stage_seconds: dict[str, float] = defaultdict(float)

    def timed(self, stage: str) -> AbstractContextManager[None]:
        """Adds the stage's CPU time (this thread only) to ``stage_seconds``."""
        return timed(self.stage_seconds, stage)

    def add(self, outlet: str, column: str, amount: int = 1) -> None:
        self.counts[outlet][column] = self.counts[outlet].get(column, 0) + amount

    def total(self, column: str) -> int:
        return sum(row.get(column, 0) for row in self.counts.values())
