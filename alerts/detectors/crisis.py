"""Emerging crisis: coverage of a complaint, a place or a saved search rises above its own past.

Three signals over the subject's stories (`SubjectVolume`, gathered by `alerts.volume`):

- spike: the last 1 h or 6 h hold more stories than the subject's 14-day rate explains
  (Poisson z-score at least ``z_threshold``) and at least the minimum count;
- spread: ``min_outlets`` or more distinct outlets in the last 6 h, more than in any 6-h block
  of the baseline (a subject the national press covers every day is not "spreading");
- outbreak: the first national story appeared in the last 6 h after local outlets
  (provincial papers, government portals) had it — smouldering to outbreak (domain.md §5).

Crisis words from the lexicon and hot-spot or mass complaints raise the severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.findings import Finding
from alerts.lexicon import CrisisLexicon
from alerts.model import StoryRef, raise_severity
from alerts.rules import CrisisRule
from alerts.stats import poisson_z
from indexer.models import AlertKind, Complaint, OutletKind, Severity

WINDOW_H = 6


@dataclass(frozen=True)
class SubjectVolume:
    """Story counts of one subject at ``now``; ``baseline_*`` end where the 6-h window starts."""

    subject_key: str
    label: str
    count_1h: int
    count_6h: int
    baseline_total: int
    baseline_hours: float
    baseline_max_outlets_6h: int
    window_outlets: tuple[str, ...] = ()
    first_seen: Mapping[OutletKind, datetime] = field(default_factory=dict)
    first_stories: Mapping[OutletKind, StoryRef] = field(default_factory=dict)
    stories: tuple[StoryRef, ...] = ()
    provinces: tuple[str, ...] = ()
    complaint: Complaint | None = None
    saved_search: str | None = None
    owner: str | None = None


def block_start(now: datetime, hours: int = WINDOW_H) -> datetime:
    """The start of the aligned ``hours`` block (UTC) holding ``now``: a spike's window."""
    moment = now.astimezone(UTC)
    return moment.replace(hour=moment.hour - moment.hour % hours, minute=0, second=0, microsecond=0)


def _finding(
    volume: SubjectVolume,
    terms: list[str],
    stories: tuple[StoryRef, ...],
    *,
    window: str,
    rule: str,
    severity: Severity,
    title: str,
    reason: str,
    numbers: dict[str, float],
) -> Finding:
    complaint = volume.complaint
    return Finding(
        kind=AlertKind.EMERGING_CRISIS,
        subject_key=volume.subject_key,
        window=window,
        rule=rule,
        severity=severity,
        title=title,
        reason=reason,
        subject_label=volume.label,
        numbers=numbers,
        stories=stories,
        complaint_case=complaint.case_number if complaint else None,
        provinces=volume.provinces,
        subject_field=complaint.subject_field if complaint else None,
        officer=complaint.officer if complaint else None,
        owner=volume.owner,
        saved_search=volume.saved_search,
        lexicon_terms=tuple(terms),
    )


def _raised(
    severity: Severity, volume: SubjectVolume, terms: list[str], rule: CrisisRule
) -> Severity:
    complaint = volume.complaint
    if complaint is not None and (complaint.is_hot_spot or complaint.is_mass_case):
        severity = raise_severity(severity)
    if len(terms) >= rule.lexicon_min_terms > 0:
        severity = raise_severity(severity)
    return severity


def spike(
    volume: SubjectVolume, rule: CrisisRule, lexicon: CrisisLexicon, now: datetime
) -> Finding | None:
    """A rise in volume or in the number of outlets, once per subject and 6-h block."""
    z1 = poisson_z(volume.count_1h, volume.baseline_total, volume.baseline_hours, 1)
    z6 = poisson_z(volume.count_6h, volume.baseline_total, volume.baseline_hours, WINDOW_H)
    spike_1h = volume.count_1h >= rule.min_count_1h and z1 >= rule.z_threshold
    spike_6h = volume.count_6h >= rule.min_count_6h and z6 >= rule.z_threshold
    outlets = len(volume.window_outlets)
    spread = outlets >= rule.min_outlets and volume.baseline_max_outlets_6h < rule.min_outlets
    if not (spike_1h or spike_6h or spread):
        return None
    terms = lexicon.matches(t for s in volume.stories for t in (s.title, s.snippet))
    severity = Severity.WARNING
    if max(z1, z6) >= 2 * rule.z_threshold:
        severity = raise_severity(severity)
    if spread and (spike_1h or spike_6h):
        severity = raise_severity(severity)
    severity = _raised(severity, volume, terms, rule)
    rate = volume.baseline_total / volume.baseline_hours if volume.baseline_hours else 0.0
    parts = []
    if spike_1h:
        parts.append(f"{volume.count_1h} tin trong 1 giờ qua (z = {z1:.1f})")
    if spike_6h:
        parts.append(f"{volume.count_6h} tin trong 6 giờ qua (z = {z6:.1f})")
    if spread:
        parts.append(f"{outlets} báo khác nhau đưa tin trong 6 giờ qua")
    reason = (
        "; ".join(parts)
        + f". Mức nền {rule.baseline_days} ngày trước: {rate * 24:.1f} tin/ngày"
        + f", tối đa {volume.baseline_max_outlets_6h} báo trong 6 giờ."
    )
    if terms:
        reason += f" Từ ngữ khủng hoảng: {', '.join(terms)}."
    rules = [
        n for n, on in (("spike_1h", spike_1h), ("spike_6h", spike_6h), ("spread", spread)) if on
    ]
    return _finding(
        volume,
        terms,
        volume.stories,
        window=f"block:{block_start(now).isoformat()}",
        rule="crisis.volume." + "+".join(rules),
        severity=severity,
        title=f"Dấu hiệu khủng hoảng: {volume.label}",
        reason=reason,
        numbers={
            "count_1h": volume.count_1h,
            "count_6h": volume.count_6h,
            "z_1h": round(z1, 2),
            "z_6h": round(z6, 2),
            "baseline_per_day": round(rate * 24, 2),
            "outlets_6h": outlets,
            "baseline_max_outlets_6h": volume.baseline_max_outlets_6h,
        },
    )


def outbreak(
    volume: SubjectVolume, rule: CrisisRule, lexicon: CrisisLexicon, now: datetime
) -> Finding | None:
    """National outlets picked up, within the last 6 h, what only local outlets had carried."""
    national = [volume.first_seen[k] for k in rule.national_kinds if k in volume.first_seen]
    local = [volume.first_seen[k] for k in rule.local_kinds if k in volume.first_seen]
    if not national or not local:
        return None
    first_national, first_local = min(national), min(local)
    if first_local >= first_national or first_national < now - timedelta(hours=WINDOW_H):
        return None
    terms = lexicon.matches(t for s in volume.stories for t in (s.title, s.snippet))
    severity = _raised(Severity.HIGH, volume, terms, rule)
    firsts = [volume.first_stories[k] for k in rule.national_kinds if k in volume.first_stories]
    hours = (first_national - first_local).total_seconds() / 3600
    reason = (
        f"Báo địa phương đưa tin từ {hours:.0f} giờ trước; báo trung ương bắt đầu đưa tin"
        + (f" ({firsts[0].outlet})" if firsts else "")
        + ". Khủng hoảng có thể chuyển từ âm ỉ sang bùng phát."
    )
    if terms:
        reason += f" Từ ngữ khủng hoảng: {', '.join(terms)}."
    listed = {s.article_id: s for s in [*firsts, *volume.stories]}
    return _finding(
        volume,
        terms,
        tuple(listed.values()),
        # One outbreak per subject and smouldering episode: keyed on the day local coverage
        # began, not on the first national story, which moves when an earlier-published
        # national story is fetched later (that sent the same outbreak twice).
        window=f"outbreak:{first_local.astimezone(UTC).date().isoformat()}",
        rule="crisis.outbreak",
        severity=severity,
        title=f"Báo trung ương đưa tin: {volume.label}",
        reason=reason,
        numbers={
            "hours_local_before_national": round(hours, 1),
            "outlets_6h": len(volume.window_outlets),
            "count_6h": volume.count_6h,
        },
    )
