"""What a detector reports: a pure value, before routing turns it into a stored alert."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from alerts.model import StoryRef
from indexer.models import AlertKind, Severity


@dataclass(frozen=True)
class Finding:
    """One detection. ``subject_key`` + ``window`` identify it: detecting it again is a no-op.

    ``provinces``, ``subject_field``, ``officer`` and ``owner`` are routing hints; ``covers``
    records what a complaint alert has reported (``cluster:…``, ``outlet:…``) so the next one
    reports only what is new.
    """

    kind: AlertKind
    subject_key: str
    window: str
    rule: str
    severity: Severity
    title: str
    reason: str
    subject_label: str = ""
    numbers: Mapping[str, float] = field(default_factory=dict)
    stories: tuple[StoryRef, ...] = ()
    complaint_case: str | None = None
    provinces: tuple[str, ...] = ()
    subject_field: str | None = None
    officer: str | None = None
    owner: str | None = None
    saved_search: str | None = None
    covers: tuple[str, ...] = ()
    lexicon_terms: tuple[str, ...] = ()
    due_from: datetime | None = None
    due_at: datetime | None = None
    recipients: tuple[str, ...] = ()
    """Addresses that receive it whatever the routing rules say (a reminder's first readers)."""
