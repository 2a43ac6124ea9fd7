"""Deadlines: the 24-hour initial information of a spokesperson, and a case's own legal dates.

A complaint-touched alert that brought a new story carries ``due_from``/``due_at`` (the press
duty of `complaints.deadlines.press_reply_deadline`). Until that alert is resolved, a reminder
fires once each configured fraction of the period has passed (50 % and 90 % by default; a
fraction of 1 or more fires after the due time). Per case only the earliest open deadline
reminds, so a case in the news for days does not send one reminder per story.

A case's legal deadline (acceptance, resolution …) approaching while the case is in the news
fires once per deadline date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.findings import Finding
from alerts.model import OutboxAlert, raise_severity
from alerts.rules import DeadlineRule
from complaints.deadlines import Deadline
from indexer.models import AlertKind, Complaint, Severity

INITIAL_INFO_BASIS = "thông tin ban đầu trong 24 giờ (quy định về phát ngôn và cung cấp thông tin)"


def _passed_fraction(alert: OutboxAlert, fractions: Sequence[float], now: datetime) -> float | None:
    if alert.due_from is None or alert.due_at is None:
        return None
    span = alert.due_at - alert.due_from
    passed = [
        f
        for f in sorted(fractions)
        if alert.due_from + span * f <= now and (f >= 1 or now < alert.due_at)
    ]
    return passed[-1] if passed else None


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} giờ"


def initial_info_reminders(
    alerts: Sequence[OutboxAlert], rule: DeadlineRule, now: datetime
) -> list[Finding]:
    """Reminders for unresolved complaint alerts whose initial-information period runs."""
    earliest: dict[str, OutboxAlert] = {}
    for alert in alerts:
        if alert.resolved_at is not None or alert.due_at is None or alert.due_from is None:
            continue
        case = alert.complaint_case or alert.subject_key
        known = earliest.get(case)
        if known is None or (known.due_at is not None and alert.due_at < known.due_at):
            earliest[case] = alert
    found: list[Finding] = []
    for case, alert in sorted(earliest.items()):
        fraction = _passed_fraction(alert, rule.reminder_fractions, now)
        if fraction is None or alert.due_at is None or alert.due_from is None:
            continue
        overdue = now >= alert.due_at
        left = alert.due_at - now
        title = (
            f"Quá hạn thông tin ban đầu: vụ việc {case}"
            if overdue
            else f"Nhắc hạn: còn {_hours(left)} để cung cấp thông tin ban đầu về vụ việc {case}"
        )
        reason = (
            f"Báo chí đưa tin về vụ việc {case}; cơ quan phải cung cấp {INITIAL_INFO_BASIS}. "
            f"Đã qua {fraction * 100:.0f}% thời hạn và cảnh báo gốc chưa được xử lý xong."
        )
        severity = Severity.CRITICAL if overdue else Severity.WARNING
        if not overdue and fraction >= 0.9:
            severity = Severity.HIGH
        found.append(
            Finding(
                kind=AlertKind.DEADLINE,
                subject_key=f"initial_info:{alert.id}",
                window=f"fraction:{fraction:g}",
                rule="deadline.initial_info",
                severity=severity,
                title=title,
                reason=reason,
                subject_label=alert.subject_label,
                numbers={"fraction": fraction, "hours_left": round(left.total_seconds() / 3600, 1)},
                stories=tuple(alert.stories[:3]),
                complaint_case=alert.complaint_case,
                provinces=tuple(alert.provinces),
                due_from=alert.due_from,
                due_at=alert.due_at,
                recipients=tuple(alert.recipients),
            )
        )
    return found


def _moot(deadline: Deadline, complaint: Complaint) -> bool:
    """A period whose act is done already (accepted, decided) needs no reminder."""
    procedure = deadline.procedure.value
    if complaint.acceptance_date and procedure.endswith(("acceptance", "initial_processing")):
        return True
    return bool(complaint.decision_date and procedure.endswith("resolution"))


def case_deadlines(
    complaint: Complaint,
    deadlines: Sequence[Deadline],
    stories_recent: int,
    rule: DeadlineRule,
    now: datetime,
    tz: str,
) -> list[Finding]:
    """Legal deadlines of ``complaint`` within ``case_approaching_days``, while in the news."""
    if not complaint.is_open or stories_recent <= 0:
        return []
    horizon = now + timedelta(days=rule.case_approaching_days)
    found: list[Finding] = []
    for deadline in deadlines:
        ends = deadline.ends_at(tz)
        if not now < ends <= horizon or _moot(deadline, complaint):
            continue
        left = ends - now
        severity = Severity.HIGH if left <= timedelta(days=1) else Severity.WARNING
        if complaint.is_hot_spot or complaint.is_mass_case:
            severity = raise_severity(severity)
        local = ends.astimezone(ZoneInfo(tz))
        case = complaint.case_number
        found.append(
            Finding(
                kind=AlertKind.DEADLINE,
                subject_key=f"case_deadline:{case}:{deadline.rule_id}",
                window=f"due:{deadline.due.isoformat()}",
                rule="deadline.case",
                severity=severity,
                title=f"Sắp đến hạn {deadline.name.lower()}: vụ việc {case}",
                reason=(
                    f"Hạn {deadline.name.lower()} ({deadline.legal_basis}) là "
                    f"{local:%H:%M %d/%m/%Y}, còn {_hours(left)}; vụ việc đang được báo chí "
                    f"đưa tin ({stories_recent} tin trong {rule.coverage_active_days:g} ngày qua)."
                    + (
                        " Ngày hạn còn tạm tính (lịch nghỉ lễ chưa chắc chắn)."
                        if deadline.provisional
                        else ""
                    )
                ),
                subject_label=complaint.summary[:200] or case,
                numbers={
                    "hours_left": round(left.total_seconds() / 3600, 1),
                    "stories": stories_recent,
                },
                complaint_case=case,
                provinces=tuple(p for p in [complaint.location.province_code] if p),
                subject_field=complaint.subject_field,
                officer=complaint.officer,
                due_at=ends,
            )
        )
    return found
