"""Small statistics of the detectors: Poisson z-scores and silence probabilities.

A story count per hour is modelled as Poisson with the subject's own baseline rate; a rate of
zero is floored so that a subject's first stories are judged by the minimum counts instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RATE_FLOOR_PER_H = 1.0 / 48


def poisson_z(observed: int, baseline_total: int, baseline_hours: float, window_h: float) -> float:
    """How many standard deviations ``observed`` in ``window_h`` lies above the baseline rate."""
    rate = max(baseline_total / baseline_hours if baseline_hours > 0 else 0.0, RATE_FLOOR_PER_H)
    expected = rate * window_h
    return (observed - expected) / math.sqrt(expected)


def silence_probability(hour_probabilities: Sequence[float]) -> float:
    """Chance that hours with these publication probabilities all stay silent (independent)."""
    chance = 1.0
    for p in hour_probabilities:
        chance *= 1.0 - p
    return chance


def longest_zero_run(counts: Sequence[int]) -> int:
    longest = current = 0
    for count in counts:
        current = current + 1 if count == 0 else 0
        longest = max(longest, current)
    return longest
