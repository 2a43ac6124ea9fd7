"""The web app's answer cache: kept for its time, computed once under concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from api.search_cache import AnswerCache
from tests.support.clock import ManualClock


def test_an_answer_is_reused_until_it_expires() -> None:
    clock = ManualClock()
    cache: AnswerCache[int] = AnswerCache(10.0, clock=clock)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", compute) == 1
    clock.now += 9.9
    assert cache.get("k", compute) == 1
    clock.now += 0.2
    assert cache.get("k", compute) == 2
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


def test_zero_seconds_turns_the_cache_off() -> None:
    cache: AnswerCache[int] = AnswerCache(0)
    answers = iter(range(3))
    assert [cache.get("k", lambda: next(answers)) for _ in range(3)] == [0, 1, 2]
    assert len(cache) == 0


def test_concurrent_requests_for_one_search_compute_it_once() -> None:
    cache: AnswerCache[str] = AnswerCache(10.0)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(5)
        return "answer"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    first.start()
    started.wait(5)
    others = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(8)
    ]
    for thread in others:
        thread.start()
    time.sleep(0.1)
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert results == ["answer"] * 9
    assert len(calls) == 1
    assert cache.stats.waits == 8


def test_a_failure_reaches_the_waiters_and_is_not_kept() -> None:
    cache: AnswerCache[str] = AnswerCache(10.0)

    def broken() -> str:
        raise RuntimeError("engine down")

    with pytest.raises(RuntimeError, match="engine down"):
        cache.get("k", broken)
    assert cache.get("k", lambda: "back") == "back"


def test_the_least_recently_used_answers_go_first() -> None:
    cache: AnswerCache[str] = AnswerCache(10.0, max_entries=2)
    cache.get("a", lambda: "a")
    cache.get("b", lambda: "b")
    cache.get("a", lambda: "a again")
    cache.get("c", lambda: "c")
    assert cache.get("a", lambda: "recomputed") == "a"
    assert cache.get("b", lambda: "recomputed") == "recomputed"
