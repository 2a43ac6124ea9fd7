"""Decide: who receives a finding and whether it goes out now or waits for the digest."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.findings import Finding
from alerts.model import AlertEvent, Delivery, DeliveryState, OutboxAlert, alert_id, at_least
from alerts.rules import AlertRules
from indexer.models import Severity


def _same_code(a: str, b: str) -> bool:
    """Administrative codes compare as numbers ("01" is "1")."""
    return a.lstrip("0") == b.lstrip("0")


def recipients_for(finding: Finding, rules: AlertRules) -> list[str]:
    """Matching rule entries, the case officer, the search owner; else the defaults."""
    found = list(finding.recipients)
    for entry in rules.recipients:
        if entry.kinds and finding.kind not in entry.kinds:
            continue
        if not at_least(finding.severity, entry.min_severity):
            continue
        if entry.provinces and not any(
            _same_code(p, q) for p in finding.provinces for q in entry.provinces
        ):
            continue
        if entry.subject_fields and finding.subject_field not in entry.subject_fields:
            continue
        found.append(entry.address)
    if finding.officer:
        officer = rules.officers.get(finding.officer)
        if officer is None and "@" in finding.officer:
            officer = finding.officer
        if officer:
            found.append(officer)
    if finding.owner:
        found.append(finding.owner)
    if not found:
        found = list(rules.default_recipients)
    return list(dict.fromkeys(found))


def in_quiet_hours(rules: AlertRules, now: datetime, tz: str) -> bool:
    if rules.quiet_hours is None:
        return False
    return rules.quiet_hours.contains(now.astimezone(ZoneInfo(tz)).time())


def decide(finding: Finding, rules: AlertRules, now: datetime, tz: str) -> OutboxAlert:
    """The outbox record of ``finding``: recipients, and held for the digest in quiet hours
    (critical alerts always go out at once)."""
    held = in_quiet_hours(rules, now, tz) and finding.severity is not Severity.CRITICAL
    deliveries = [
        Delivery(
            recipient=address,
            state=DeliveryState.HELD if held else DeliveryState.PENDING,
            next_attempt_at=None if held else now,
        )
        for address in recipients_for(finding, rules)
    ]
    note = finding.rule + (" — giữ lại cho bản tin tổng hợp (giờ yên lặng)" if held else "")
    return OutboxAlert(
        id=alert_id(finding.kind, finding.subject_key, finding.window),
        kind=finding.kind,
        severity=finding.severity,
        title=finding.title,
        reason=finding.reason,
        created_at=now,
        complaint_case=finding.complaint_case,
        article_ids=[s.article_id for s in finding.stories],
        due_at=finding.due_at,
        subject_key=finding.subject_key,
        window=finding.window,
        rule=finding.rule,
        subject_label=finding.subject_label,
        numbers=dict(finding.numbers),
        stories=list(finding.stories),
        covers=list(finding.covers),
        provinces=list(finding.provinces),
        saved_search=finding.saved_search,
        lexicon_terms=list(finding.lexicon_terms),
        due_from=finding.due_from,
        deliveries=deliveries,
        history=[AlertEvent(at=now, action="created", by="diemnong", note=note)],
    ).summarised()
