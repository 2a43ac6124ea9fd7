"""A monotonic clock the test moves by hand (for caches and rate limiters that take ``clock``)."""

from __future__ import annotations


class ManualClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
