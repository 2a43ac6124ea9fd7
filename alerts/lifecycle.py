"""Acknowledge, assign and resolve an alert, each recorded in its history.

The web app calls these; each is one compare-and-set update (`AlertStore.update`), so a change
made while the worker delivers the same alert is never lost. Resolving stops the deadline
reminders of the alert (`alerts.detectors.deadlines`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerts.model import AlertEvent, OutboxAlert
from alerts.store import AlertStore

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def acknowledge(
    store: AlertStore, alert_id: str, by: str, note: str | None = None, clock: Clock = _now
) -> OutboxAlert:
    """Someone has read the alert (the first acknowledgement is kept)."""

    def change(alert: OutboxAlert) -> OutboxAlert:
        moment = clock()
        if alert.acknowledged_by is None:
            alert.acknowledged_by = by
            alert.acknowledged_at = moment
        alert.history.append(AlertEvent(at=moment, action="acknowledged", by=by, note=note))
        return alert

    return _apply(store, alert_id, change)


def assign(
    store: AlertStore,
    alert_id: str,
    to: str,
    by: str,
    note: str | None = None,
    clock: Clock = _now,
) -> OutboxAlert:
    """Hand the alert to ``to``; reassigning keeps the earlier assignments in the history."""

    def change(alert: OutboxAlert) -> OutboxAlert:
        moment = clock()
        alert.assigned_to = to
        alert.assigned_at = moment
        alert.history.append(
            AlertEvent(
                at=moment, action="assigned", by=by, note=f"→ {to}" + (f": {note}" if note else "")
            )
        )
        return alert

    return _apply(store, alert_id, change)


def resolve(
    store: AlertStore, alert_id: str, by: str, note: str | None = None, clock: Clock = _now
) -> OutboxAlert:
    """Close the alert (e.g. the statement went out); resolving twice keeps the first time."""

    def change(alert: OutboxAlert) -> OutboxAlert:
        moment = clock()
        if alert.resolved_at is None:
            alert.resolved_at = moment
            alert.resolved_by = by
        alert.history.append(AlertEvent(at=moment, action="resolved", by=by, note=note))
        return alert

    return _apply(store, alert_id, change)


def _apply(
    store: AlertStore, alert_id: str, change: Callable[[OutboxAlert], OutboxAlert]
) -> OutboxAlert:
    updated = store.update(alert_id, change, refresh=True)
    assert updated is not None  # change never declines
    return updated
