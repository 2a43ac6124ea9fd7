"""Statements kept with every version, and their way from draft to approved to issued.

Each edit appends a version (who, when, text); approval and issue are recorded with who and
when, and only a spokesperson or an admin may do either (the press officer drafts). A statement
issued within 24 hours of the case's first alert counts as on time (Decree 09/2017: initial
information within 24 hours), which `kpi` reports.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field

from complaints.privacy import Role
from indexer.adapter import Engine, EngineRequestError
from indexer.layout import IndexNames
from statements.draft import Draft

ON_TIME = timedelta(hours=24)
SIGNERS = frozenset({Role.SPOKESPERSON, Role.ADMIN})


def statements_index(names: IndexNames) -> str:
    return names.statements


def _doc(statement_id: str) -> str:
    """The id as one URL path segment: an id from a URL may hold ``?``, ``#`` or ``/``."""
    return quote(statement_id, safe="")


class StatementStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ISSUED = "issued"


class NotAllowed(PermissionError):
    """The role may not take this step."""


class WrongStatus(ValueError):
    """The step does not follow from the current status (e.g. issue before approval)."""


class Version(BaseModel):
    number: int
    text: str
    by: str
    at: datetime
    note: str | None = None


class Statement(BaseModel):
    id: str
    case_number: str
    status: StatementStatus = StatementStatus.DRAFT
    created_at: datetime
    created_by: str
    approved_at: datetime | None = None
    approved_by: str | None = None
    issued_at: datetime | None = None
    issued_by: str | None = None
    first_alert_at: datetime | None = None
    on_time: bool | None = None
    story_ids: list[str] = Field(default_factory=list)
    draft: Draft
    versions: list[Version] = Field(default_factory=list)

    @property
    def current(self) -> Version:
        return self.versions[-1]


def _now() -> datetime:
    return datetime.now(UTC)


class StatementStore:
    def __init__(
        self, engine: Engine, names: IndexNames, clock: Callable[[], datetime] = _now
    ) -> None:
        self.engine = engine
        self.names = names
        self.index = statements_index(names)
        self.clock = clock

    def create(self, draft: Draft, by: str) -> Statement:
        moment = self.clock()
        statement = Statement(
            id=uuid.uuid4().hex,
            case_number=draft.case_number,
            created_at=moment,
            created_by=by,
            story_ids=draft.story_ids,
            draft=draft,
            versions=[
                Version(number=1, text=draft.text(), by=by, at=moment, note="bản nháp tự động")
            ],
        )
        self.engine.create(
            self.index, statement.id, statement.model_dump(mode="json"), refresh=True
        )
        return statement

    def get(self, statement_id: str) -> Statement | None:
        found = self.engine.get(self.index, _doc(statement_id))
        return Statement.model_validate(found) if found else None

    def for_case(self, case_number: str) -> list[Statement]:
        body = {
            "query": {"term": {"case_number": case_number}},
            "sort": [{"created_at": "desc"}],
            "size": 100,
        }
        hits = self.engine.search(self.index, body, params={"ignore_unavailable": "true"})
        return [Statement.model_validate(h["_source"]) for h in hits["hits"]["hits"]]

    def _update(self, statement_id: str, change: Callable[[Statement], None]) -> Statement:
        for _ in range(5):
            found = self.engine.get_versioned(self.index, _doc(statement_id))
            if found is None:
                raise EngineRequestError(404, "not_found", f"statement {statement_id}")
            source, seq_no, term = found
            statement = Statement.model_validate(source)
            change(statement)
            body = statement.model_dump(mode="json")
            if self.engine.put_if_unchanged(
                self.index, _doc(statement_id), body, seq_no, term, refresh="true"
            ):
                return statement
        raise RuntimeError(f"statement {statement_id}: too many concurrent changes")

    def edit(self, statement_id: str, text: str, by: str, note: str | None = None) -> Statement:
        """A new version; an approved statement goes back to draft (it must be approved again)."""

        def change(statement: Statement) -> None:
            if statement.status is StatementStatus.ISSUED:
                raise WrongStatus("thông cáo đã phát hành, không sửa được")
            statement.versions.append(
                Version(
                    number=len(statement.versions) + 1, text=text, by=by, at=self.clock(), note=note
                )
            )
            statement.status = StatementStatus.DRAFT
            statement.approved_at = statement.approved_by = None

        return self._update(statement_id, change)

    def approve(self, statement_id: str, by: str, role: Role) -> Statement:
        if role not in SIGNERS:
            raise NotAllowed("chỉ người phát ngôn hoặc quản trị được duyệt")

        def change(statement: Statement) -> None:
            if statement.status is not StatementStatus.DRAFT:
                raise WrongStatus(f"không duyệt được thông cáo ở trạng thái {statement.status}")
            statement.status = StatementStatus.APPROVED
            statement.approved_by, statement.approved_at = by, self.clock()

        return self._update(statement_id, change)

    def issue(self, statement_id: str, by: str, role: Role) -> Statement:
        if role not in SIGNERS:
            raise NotAllowed("chỉ người phát ngôn hoặc quản trị được phát hành")
        moment = self.clock()

        def change(statement: Statement) -> None:
            if statement.status is not StatementStatus.APPROVED:
                raise WrongStatus("phải duyệt trước khi phát hành")
            first = first_alert_at(self.engine, self.names, statement.case_number)
            statement.status = StatementStatus.ISSUED
            statement.issued_by, statement.issued_at = by, moment
            statement.first_alert_at = first
            statement.on_time = None if first is None else moment - first <= ON_TIME

        return self._update(statement_id, change)


def first_alert_at(engine: Engine, names: IndexNames, case_number: str) -> datetime | None:
    body: dict[str, Any] = {
        "size": 0,
        "query": {"term": {"complaint_case": case_number}},
        "aggs": {"first": {"min": {"field": "created_at"}}},
    }
    found = engine.search(names.alerts, body, params={"ignore_unavailable": "true"})
    value = found.get("aggregations", {}).get("first", {}).get("value")
    return datetime.fromtimestamp(value / 1000, UTC) if value is not None else None


def kpi(engine: Engine, names: IndexNames, since: datetime) -> dict[str, int]:
    """Statements issued since ``since``, how many within 24 h of the case's first alert, and
    how many had no alert to count from (neither on time nor late)."""
    query = {
        "bool": {
            "filter": [
                {"term": {"status": StatementStatus.ISSUED.value}},
                {"range": {"issued_at": {"gte": since.isoformat()}}},
            ]
        }
    }
    body = {
        "size": 0,
        "query": query,
        "aggs": {
            "on_time": {"filter": {"term": {"on_time": True}}},
            "no_alert": {"filter": {"bool": {"must_not": {"exists": {"field": "first_alert_at"}}}}},
        },
    }
    found = engine.search(statements_index(names), body, params={"ignore_unavailable": "true"})
    total = found["hits"]["total"]
    issued = int(total["value"] if isinstance(total, dict) else total)
    aggs = found.get("aggregations", {})
    return {
        "issued": issued,
        "issued_on_time": int(aggs.get("on_time", {}).get("doc_count", 0)),
        "without_alert": int(aggs.get("no_alert", {}).get("doc_count", 0)),
    }
