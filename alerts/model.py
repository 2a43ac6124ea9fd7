"""The outbox record: `indexer.models.Alert` plus what delivery and the email need.

`Alert` is the shared definition (the web app reads it); `OutboxAlert` adds the per-recipient
delivery states, the stories as they were when the alert fired, the numbers behind it and the
history of acknowledgements. The top-level ``delivery``/``attempts``/``message_id``/``sent_at``
of `Alert` are kept as a summary of the deliveries (see `OutboxAlert.summarised`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from indexer.models import Alert, AlertKind, AlertState, OutletKind, Severity

SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.HIGH, Severity.CRITICAL)


def raise_severity(severity: Severity, steps: int = 1) -> Severity:
    """``steps`` levels up (or down when negative), within info..critical."""
    index = SEVERITY_ORDER.index(severity) + steps
    return SEVERITY_ORDER[max(0, min(index, len(SEVERITY_ORDER) - 1))]


def at_least(severity: Severity, floor: Severity) -> bool:
    return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(floor)


def alert_id(kind: AlertKind, subject_key: str, window: str) -> str:
    """Content-derived id: the same detection stored twice is one document."""
    raw = f"{kind.value}\x1f{subject_key}\x1f{window}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


class DeliveryState(StrEnum):
    """One recipient's copy of an alert.

    ``held`` waits for the daily digest (quiet hours), ``grouped`` for the next grouped email
    (the recipient's hourly limit was reached), ``sending`` is claimed under ``message_id`` and
    may or may not have reached the SMTP server (see `alerts.delivery`).
    """

    PENDING = "pending"
    HELD = "held"
    GROUPED = "grouped"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


OPEN_DELIVERY = frozenset(
    {DeliveryState.PENDING, DeliveryState.HELD, DeliveryState.GROUPED, DeliveryState.SENDING}
)


class Delivery(BaseModel):
    recipient: str
    state: DeliveryState = DeliveryState.PENDING
    message_id: str | None = None
    via: str | None = None
    """Which email carried it: ``alert``, ``group`` or ``digest``."""
    resume: DeliveryState | None = None
    """The state a claim came from, restored when the claimed message is abandoned."""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sending_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None


class StoryRef(BaseModel):
    """A story as it was when the alert fired; the email never re-reads the article."""

    article_id: str
    title: str
    outlet: str = ""
    outlet_kind: OutletKind | None = None
    url: str = ""
    published_at: datetime | None = None
    snippet: str = ""


class AlertEvent(BaseModel):
    at: datetime
    action: str
    by: str | None = None
    note: str | None = None


class OutboxAlert(Alert):
    """An `Alert` as stored in the outbox index."""

    subject_key: str
    window: str = ""
    rule: str = ""
    subject_label: str = ""
    numbers: dict[str, float] = Field(default_factory=dict)
    stories: list[StoryRef] = Field(default_factory=list)
    covers: list[str] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    saved_search: str | None = None
    lexicon_terms: list[str] = Field(default_factory=list)
    due_from: datetime | None = None
    deliveries: list[Delivery] = Field(default_factory=list)
    next_attempt_at: datetime | None = None
    history: list[AlertEvent] = Field(default_factory=list)
    updated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    assigned_at: datetime | None = None
    resolved_by: str | None = None

    def delivery_for(self, recipient: str) -> Delivery | None:
        return next((d for d in self.deliveries if d.recipient == recipient), None)

    def summarised(self) -> OutboxAlert:
        """A copy whose `Alert` delivery fields summarise the per-recipient deliveries."""
        states = {d.state for d in self.deliveries}
        if not self.deliveries or (DeliveryState.FAILED in states and not states & OPEN_DELIVERY):
            state = AlertState.FAILED
        elif states == {DeliveryState.SENT}:
            state = AlertState.SENT
        else:
            state = AlertState.PENDING
        sent = [d.sent_at for d in self.deliveries if d.sent_at]
        due = [
            d.next_attempt_at
            for d in self.deliveries
            if d.state is DeliveryState.PENDING and d.next_attempt_at
        ]
        ids = [d.message_id for d in self.deliveries if d.message_id]
        return self.model_copy(
            update={
                "delivery": state,
                "attempts": max((d.attempts for d in self.deliveries), default=0),
                "message_id": ids[0] if ids else None,
                "sent_at": max(sent) if state is AlertState.SENT and sent else None,
                "next_attempt_at": min(due) if due else None,
                "recipients": [d.recipient for d in self.deliveries],
            }
        )
