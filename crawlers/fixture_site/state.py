"""Thread-safe story archive and per-path hit counters shared by the request threads."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

from crawlers.fixture_site.models import Story


class Archive:
    """Every published story, in publication order per outlet.

    Order is the order of publication (the initial archive sorted by time, then each
    ``add``), so a story published now is always first in its outlet's feed and pages.
    """

    def __init__(self, changed_at: datetime) -> None:
        self._lock = threading.Lock()
        self._all: list[Story] = []
        self._by_path: dict[str, Story] = {}
        self._by_outlet: dict[str, list[Story]] = {}
        self._changed: dict[str, datetime] = {}
        self._initial_change = changed_at

    def add(self, story: Story, changed_at: datetime) -> None:
        with self._lock:
            self._all.append(story)
            self._by_path[story.path] = story
            self._by_outlet.setdefault(story.outlet, []).append(story)
            self._changed[story.outlet] = changed_at

    def extend(self, stories: list[Story]) -> None:
        """Load the initial archive (oldest first) without touching change times."""
        with self._lock:
            for story in sorted(stories, key=lambda s: (s.published_at, s.path)):
                self._all.append(story)
                self._by_path[story.path] = story
                self._by_outlet.setdefault(story.outlet, []).append(story)

    def get(self, path: str) -> Story | None:
        with self._lock:
            return self._by_path.get(path)

    def all(self) -> list[Story]:
        with self._lock:
            return list(self._all)

    def newest(self, outlet: str, section: str | None = None) -> list[Story]:
        with self._lock:
            stories = self._by_outlet.get(outlet, [])
            picked = [s for s in stories if section is None or s.section == section]
        picked.reverse()
        return picked

    def changed_at(self, outlet: str) -> datetime:
        with self._lock:
            return self._changed.get(outlet, self._initial_change)


class HitCounter:
    """Counts requests by path and by path with query, so tests can check what was fetched."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: Counter[str] = Counter()
        self._targets: Counter[str] = Counter()

    def count(self, target: str) -> None:
        path = urlsplit(target).path
        with self._lock:
            self._paths[path] += 1
            self._targets[target] += 1

    def hits(self, path_or_url: str) -> int:
        """Requests for a path (any query) or, when a query is given, for that exact target."""
        parts = urlsplit(path_or_url)
        with self._lock:
            if parts.query:
                return self._targets[f"{parts.path}?{parts.query}"]
            return self._paths[parts.path or "/"]

    def hits_under(self, prefix: str) -> int:
        with self._lock:
            return sum(n for path, n in self._paths.items() if path.startswith(prefix))

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._paths)
