"""Answers of recent searches, reused while the indices are unchanged, computed once.

A press office asks the same searches again and again: its agency's name, the open cases, a
dashboard that reloads, the back button, a colleague in the next room. The engine's shard
request cache only spares the counting part of a repeated search (the page still costs
scoring, fetching and highlighting), so the web app keeps each answer under the indices'
`ContentGeneration`: when an index it reads makes new documents searchable, the generation
changes and no older answer is used again. The generation is asked of the engine at most once
a second, so new coverage reaches search at most a second after it is searchable in the
engine; ``api.search_cache_s`` bounds an answer's life whatever happens.

Concurrent requests for an answer being computed wait for it instead of asking the engine
again (no stampede when twenty officers open the same morning search). A failure is not kept:
the waiting requests get the same error and the next request asks again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from indexer.adapter import Engine, EngineRequestError, EngineUnavailable

V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    ready: threading.Event = field(default_factory=threading.Event)
    expires: float = 0.0
    outcome: tuple[V] | BaseException | None = None
    """The answer (in a tuple, since an answer may itself be None) or the computing error."""

    def result(self) -> V:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        if self.outcome is None:
            raise RuntimeError("an answer was read before it was computed")
        return self.outcome[0]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    waits: int = 0


class AnswerCache(Generic[V]):
    """A bounded, thread-safe map from a search's key to its answer, each kept ``ttl_s``."""

    def __init__(
        self,
        ttl_s: float,
        max_entries: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def get(self, key: str, compute: Callable[[], V]) -> V:
        """The kept answer for ``key``, else ``compute()``'s (run by one caller at a time)."""
        if self.ttl_s <= 0:
            return compute()
        with self._lock:
            entry = self._entries.get(key)
            now = self._clock()
            if entry is not None and entry.ready.is_set() and entry.expires <= now:
                del self._entries[key]
                entry = None
            owner = entry is None
            if entry is None:
                entry = _Entry()
                self._entries[key] = entry
                self._evict()
                self.stats.misses += 1
            elif entry.ready.is_set():
                self._entries.move_to_end(key)
                self.stats.hits += 1
                return entry.result()
            else:
                self.stats.waits += 1
        if owner:
            self._compute(key, entry, compute)
        entry.ready.wait()
        return entry.result()

    def _compute(self, key: str, entry: _Entry[V], compute: Callable[[], V]) -> None:
        try:
            entry.outcome = (compute(),)
        except BaseException as error:
            entry.outcome = error
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
        finally:
            entry.expires = self._clock() + self.ttl_s
            entry.ready.set()

    def _evict(self) -> None:
        """Drop the least recently used answers beyond ``max_entries`` (never one in progress)."""
        while len(self._entries) > self.max_entries:
            key, oldest = next(iter(self._entries.items()))
            if not oldest.ready.is_set():
                self._entries.move_to_end(key)
                break
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


class ContentGeneration:
    """Changes whenever one of ``indices`` makes new documents searchable (a refresh with news).

    Each shard copy's ``refresh.external_total`` counts the refreshes that changed what
    searches see; idle refreshes do not count. Summed per index (a new monthly index or a
    deleted one changes the text too), asked at most every ``check_every_s`` seconds. When the
    engine does not answer, the generation is unknown (``None``) and nothing is reused.
    """

    def __init__(
        self,
        engine: Engine,
        indices: list[str],
        check_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.indices = indices
        self.check_every_s = check_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: str | None = None
        self._checked = float("-inf")

    def current(self) -> str | None:
        with self._lock:
            if self._clock() - self._checked < self.check_every_s:
                return self._value
            self._checked = self._clock()
            try:
                self._value = self._ask()
            except (EngineUnavailable, EngineRequestError):
                self._value = None
            return self._value

    def _ask(self) -> str:
        found = self.engine.request(
            "GET",
            f"/{','.join(self.indices)}/_stats/refresh",
            params={
                "ignore_unavailable": "true",
                "filter_path": "indices.*.total.refresh.external_total,indices.*.uuid",
            },
        )
        per_index = found.get("indices") or {}
        return ";".join(
            f"{name}@{info.get('uuid', '')}:{_searchable_refreshes(info)}"
            for name, info in sorted(per_index.items())
        )


def _searchable_refreshes(info: dict[str, Any]) -> int:
    refresh = info.get("total", {}).get("refresh", {})
    return int(refresh.get("external_total", refresh.get("total", 0)))


class SearchAnswers(Generic[V]):
    """`AnswerCache` entries filed under the current `ContentGeneration` of the indices."""

    def __init__(self, cache: AnswerCache[V], generation: ContentGeneration) -> None:
        self.cache = cache
        self.generation = generation

    def get(self, key: str, compute: Callable[[], V]) -> V:
        current = self.generation.current()
        if current is None:
            return compute()
        return self.cache.get(f"{current}\n{key}", compute)
