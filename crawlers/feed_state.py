"""Per-feed polling state: conditional GET validators and an adaptive interval.

A feed that keeps bringing new items is polled more often (down to the minimum interval), a
quiet one less often (up to the maximum). The state is a small JSON file in the data folder,
so a restarted watcher resumes where it stopped; it also tells source health checks when a
feed last brought something new.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class FeedState:
    url: str
    interval_s: float
    next_due: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    last_polled: float | None = None
    last_new_at: float | None = None
    polls: int = 0
    not_modified: int = 0
    errors: int = 0


class FeedStates:
    def __init__(self, path: Path, min_interval_s: float, max_interval_s: float) -> None:
        self.path = path
        self.min_interval_s = min_interval_s
        self.max_interval_s = max_interval_s
        self._states: dict[str, FeedState] = {}
        if path.exists():
            for raw in json.loads(path.read_text("utf-8")):
                state = FeedState(**raw)
                self._states[state.url] = state

    def get(self, url: str) -> FeedState:
        if url not in self._states:
            self._states[url] = FeedState(url=url, interval_s=self.min_interval_s)
        return self._states[url]

    def conditional_headers(self, url: str) -> dict[str, str]:
        state = self.get(url)
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        return headers

    def polled(
        self,
        url: str,
        new_items: int,
        etag: str | None = None,
        last_modified: str | None = None,
        not_modified: bool = False,
        now: float | None = None,
    ) -> FeedState:
        """Record a poll; the next interval halves on news and grows by half when quiet."""
        moment = time.time() if now is None else now
        state = self.get(url)
        state.polls += 1
        state.last_polled = moment
        if not_modified:
            state.not_modified += 1
        else:
            state.etag = etag or state.etag
            state.last_modified = last_modified or state.last_modified
        if new_items > 0:
            state.last_new_at = moment
            state.interval_s = max(self.min_interval_s, state.interval_s / 2)
        else:
            state.interval_s = min(self.max_interval_s, state.interval_s * 1.5)
        state.next_due = moment + state.interval_s
        return state

    def failed(self, url: str, now: float | None = None) -> FeedState:
        moment = time.time() if now is None else now
        state = self.get(url)
        state.errors += 1
        state.interval_s = min(self.max_interval_s, state.interval_s * 2)
        state.next_due = moment + state.interval_s
        return state

    def due(self, urls: list[str], now: float | None = None) -> list[str]:
        moment = time.time() if now is None else now
        return [url for url in urls if self.get(url).next_due <= moment]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(s) for s in self._states.values()], indent=1), "utf-8")
        tmp.replace(self.path)
