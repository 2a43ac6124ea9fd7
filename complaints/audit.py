"""The audit trail of who read complainants' personal data (Law 91/2025/QH15, domain.md §4).

Every read that shows a personal field writes one entry to the ``audit`` index *before* the data
is shown; if the entry cannot be written the data is not shown (fail closed). A read that shows
only redacted data writes nothing, so the trail lists exactly the disclosures.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from complaints.privacy import PersonalField, Role, disclosed_fields, redact
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Complaint, ComplaintKind


class AuditUnavailable(RuntimeError):
    """The audit trail cannot be written, so personal data must not be shown."""


class AuditEntry(BaseModel):
    """One disclosure: who, in which role, when, which case, which fields."""

    at: datetime
    user: str
    role: Role
    case_number: str
    fields: list[PersonalField]
    action: str = "read"
    kind: ComplaintKind | None = None
    confidential: bool = Field(
        default=False, description="A denouncer's identity (Law on Denunciations, Art. 56)."
    )


def audit_index(names: IndexNames) -> str:
    return names.audit


class AuditLog:
    """Append-only entries in the audit index; ``entries`` reads them back, newest first."""

    def __init__(
        self,
        engine: Engine,
        names: IndexNames,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self.index = audit_index(names)
        self._clock = clock
        self._checked = False

    def _require_index(self) -> None:
        # Writing to a missing index would auto-create it without the strict mapping.
        if self._checked:
            return
        if not self._engine.index_exists(self.index):
            raise AuditUnavailable(
                f"the audit index {self.index!r} does not exist: run 'diemnong setup' "
                "(personal data is not shown without an audit trail)"
            )
        self._checked = True

    def entry(
        self,
        user: str,
        role: Role,
        complaint: Complaint,
        fields: Iterable[PersonalField],
        action: str = "read",
    ) -> AuditEntry:
        return AuditEntry(
            at=self._clock(),
            user=user,
            role=role,
            case_number=complaint.case_number,
            fields=list(fields),
            action=action,
            kind=complaint.kind,
            confidential=complaint.kind is ComplaintKind.DENUNCIATION,
        )

    def record(self, entry: AuditEntry, refresh: bool = False) -> None:
        self._require_index()
        doc = entry.model_dump(mode="json")
        if not self._engine.create(self.index, uuid.uuid4().hex, doc, refresh=refresh):
            raise AuditUnavailable("audit entry id collision")

    def record_many(self, entries: Iterable[AuditEntry]) -> int:
        """Write many entries in bulk (an export); raises if any is not written."""
        items = list(entries)
        if not items:
            return 0
        self._require_index()
        actions = [
            {
                "_op_type": "create",
                "_index": self.index,
                "_id": uuid.uuid4().hex,
                "_source": entry.model_dump(mode="json"),
            }
            for entry in items
        ]
        result = self._engine.bulk(actions)
        if result.failed or result.duplicates:
            reasons = "; ".join(failure.reason for failure in result.failed[:3])
            raise AuditUnavailable(f"audit entries not written: {reasons or 'duplicate ids'}")
        return result.created

    def entries(
        self, case: str | None = None, user: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Entries newest first, optionally of one case and/or one user."""
        filters: list[dict[str, Any]] = []
        if case is not None:
            filters.append({"term": {"case_number": case}})
        if user is not None:
            filters.append({"term": {"user": user}})
        body = {
            "size": limit,
            "sort": [{"at": {"order": "desc"}}],
            "query": {"bool": {"filter": filters}},
        }
        found = self._engine.search(self.index, body)
        return [AuditEntry.model_validate(hit["_source"]) for hit in found["hits"]["hits"]]


def disclose(
    complaint: Complaint, role: Role, user: str, audit: AuditLog, action: str = "read"
) -> Complaint:
    """``complaint`` as ``role`` may see it; records an audit entry first when personal data
    remains visible. This is the one way to read personal data for display."""
    fields = disclosed_fields(complaint, role)
    if fields:
        audit.record(audit.entry(user, role, complaint, fields, action))
    return redact(complaint, role)


def disclose_many(
    complaints: Iterable[Complaint],
    role: Role,
    user: str,
    audit: AuditLog,
    action: str = "export",
) -> list[Complaint]:
    """`disclose` for many cases with one bulk write of their audit entries."""
    items = list(complaints)
    entries = []
    for complaint in items:
        fields = disclosed_fields(complaint, role)
        if fields:
            entries.append(audit.entry(user, role, complaint, fields, action))
    audit.record_many(entries)
    return [redact(complaint, role) for complaint in items]
