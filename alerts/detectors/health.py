"""Source health: an outlet gone silent for longer than its habits explain, or failing more.

Silence is judged against the outlet's own 14 days: for each local hour of the day, the share
of days it published in that hour. A silence fires only when it is longer than any gap of the
baseline and the chance of so many silent hours, given those shares, is below
``silence_probability`` — so an outlet that is always quiet at night never fires at night.
One alert per silence (its window is the last story's time). Fetch errors fire when the last
hour's count is far above the outlet's error rate (Poisson z-score) and at least a minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.detectors.crisis import block_start
from alerts.findings import Finding
from alerts.rules import HealthRule
from alerts.stats import longest_zero_run, poisson_z, silence_probability
from indexer.models import AlertKind, Severity

MAX_HOUR_PROBABILITY = 0.95


@dataclass(frozen=True)
class OutletActivity:
    """Stories per hour of one outlet; ``hourly[i]`` counts the hour from ``start + i h``."""

    outlet: str
    start: datetime
    hourly: tuple[int, ...]
    last_seen: datetime | None
    poll_interval_s: float | None = None


def hour_probabilities(hourly: tuple[int, ...], start: datetime, tz: ZoneInfo) -> list[float]:
    """For each local hour 0–23: the share of observed days with a story in that hour."""
    seen = [0] * 24
    active = [0] * 24
    for index, count in enumerate(hourly):
        hour = (start + timedelta(hours=index)).astimezone(tz).hour
        seen[hour] += 1
        active[hour] += count > 0
    return [
        min(MAX_HOUR_PROBABILITY, a / s) if s else 0.0 for a, s in zip(active, seen, strict=True)
    ]


def feed_silence(
    activity: OutletActivity, rule: HealthRule, now: datetime, tz: str
) -> Finding | None:
    """The outlet has been silent for longer than its habits explain."""
    if activity.last_seen is None or sum(activity.hourly) < rule.min_articles:
        return None
    silence = now - activity.last_seen
    if silence < timedelta(hours=rule.min_silence_h):
        return None
    if activity.poll_interval_s and silence.total_seconds() < 2 * activity.poll_interval_s:
        return None
    zone = ZoneInfo(tz)
    last_index = int((activity.last_seen - activity.start).total_seconds() // 3600)
    baseline = activity.hourly[: max(0, last_index + 1)]
    silent_hours = [
        (activity.last_seen + timedelta(hours=h + 1)).astimezone(zone).hour
        for h in range(int(silence.total_seconds() // 3600))
    ]
    probabilities = hour_probabilities(baseline, activity.start, zone)
    chance = silence_probability([probabilities[h] for h in silent_hours])
    longest = longest_zero_run(baseline)
    if len(silent_hours) <= longest or chance >= rule.silence_probability:
        return None
    local = activity.last_seen.astimezone(zone)
    hours = silence.total_seconds() / 3600
    return Finding(
        kind=AlertKind.SOURCE_HEALTH,
        subject_key=f"outlet:{activity.outlet}",
        window=f"silent_since:{activity.last_seen.isoformat()}",
        rule="health.silence",
        severity=Severity.WARNING,
        title=f"Nguồn tin im lặng bất thường: {activity.outlet}",
        reason=(
            f"Không có bài mới từ {local:%H:%M %d/%m/%Y} ({hours:.0f} giờ). Trong "
            f"{rule.baseline_days} ngày trước, khoảng lặng dài nhất là {longest} giờ; xác suất "
            f"im lặng như vậy theo thói quen đăng bài của báo là {chance:.1e}. Kiểm tra nguồn "
            "cấp tin (RSS) và trình thu thập."
        ),
        subject_label=activity.outlet,
        numbers={
            "silent_hours": round(hours, 1),
            "longest_gap_h": longest,
            "probability": chance,
            "baseline_articles": sum(activity.hourly),
        },
    )


def error_spike(
    outlet: str,
    errors_1h: int,
    baseline_total: int,
    baseline_hours: float,
    rule: HealthRule,
    now: datetime,
) -> Finding | None:
    """Fetch errors of the last hour far above the outlet's usual error rate."""
    z = poisson_z(errors_1h, baseline_total, baseline_hours, 1)
    if errors_1h < rule.min_errors_1h or z < rule.error_z_threshold:
        return None
    rate = baseline_total / baseline_hours if baseline_hours else 0.0
    return Finding(
        kind=AlertKind.SOURCE_HEALTH,
        subject_key=f"outlet_errors:{outlet}",
        window=f"block:{block_start(now).isoformat()}",
        rule="health.errors",
        severity=Severity.WARNING,
        title=f"Lỗi thu thập tăng đột biến: {outlet}",
        reason=(
            f"{errors_1h} lỗi tải trang/nguồn tin trong 1 giờ qua, mức thường là "
            f"{rate:.2f} lỗi/giờ (z = {z:.1f}). Xem 'diemnong sources errors'."
        ),
        subject_label=outlet,
        numbers={"errors_1h": errors_1h, "baseline_per_h": round(rate, 3), "z": round(z, 2)},
    )
