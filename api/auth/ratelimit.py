"""Failed sign-ins per user name and per client address, in a sliding window, in memory.

Counting failures per user name stops guessing one person's password from many addresses;
counting per address stops trying many names from one place. The address limit is higher
because a whole office may sit behind one address. While a key is over its limit, even the
right password is refused (a correct guess must not be distinguishable). In memory only: one
web process per installation; a restart forgets.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(
        self,
        per_user: int = 5,
        per_ip: int = 20,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, ip: str) -> float | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        with self._lock:
            now = self._clock()
            waits = []
            for key, limit in ((("user", username), self.per_user), (("ip", ip), self.per_ip)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window_s - now)
            return max(waits) if waits else None

    def record_failure(self, username: str, ip: str) -> None:
        with self._lock:
            now = self._clock()
            for key in (("user", username), ("ip", ip)):
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                self._failures[key] = times
            while len(self._failures) > self._max_keys:
                del self._failures[next(iter(self._failures))]

    def reset(self, username: str) -> None:
        """A successful sign-in clears the user name's failures (not the address's)."""
        with self._lock:
            self._failures.pop(("user", username), None)


def too_many_message(retry_after_s: float) -> str:
    minutes = max(1, math.ceil(retry_after_s / 60))
    return (
        "Bạn đã đăng nhập sai quá nhiều lần. "
        f"Vui lòng thử lại sau {minutes} phút hoặc liên hệ quản trị viên."
    )
