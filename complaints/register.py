"""The complaint register: one document per case in the ``complaints`` index.

A write is idempotent by case number: the same row saved twice is ``unchanged`` and not written.
The stored history is the authority on status changes; a caller's ``history`` is ignored on
update, and each status change is checked against `TRANSITIONS` and appended with who and when.

An open case carries its compiled percolator ``query`` (from the injected ``compile_query``,
see complaints/matching.py); a closed case has none, so closed cases never match new articles.
Both ``compile_query`` and ``on_saved`` receive `matching_view` of the case: ID numbers, phones
and denouncers never reach the matching side or the percolator index.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from complaints.privacy import matching_view
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import (
    MAX_CASE_NUMBER,
    OPEN_STATUSES,
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    StatusChange,
)

QueryCompiler = Callable[[Complaint], tuple[dict[str, Any], dict[str, Any]]]
SavedHook = Callable[[Complaint], None]
Action = Literal["created", "updated", "unchanged"]

_S = ComplaintStatus
TRANSITIONS: Mapping[ComplaintStatus, frozenset[ComplaintStatus]] = {
    _S.RECEIVED: frozenset(
        {_S.ACCEPTED, _S.VERIFYING, _S.DECIDED, _S.WITHDRAWN, _S.REFUSED, _S.FORWARDED}
    ),
    _S.ACCEPTED: frozenset({_S.VERIFYING, _S.DECIDED, _S.WITHDRAWN, _S.FORWARDED}),
    _S.VERIFYING: frozenset({_S.DECIDED, _S.WITHDRAWN, _S.FORWARDED}),
    _S.DECIDED: frozenset({_S.APPEALED, _S.CLOSED}),
    _S.APPEALED: frozenset({_S.DECIDED, _S.CLOSED, _S.WITHDRAWN}),
    _S.CLOSED: frozenset(),
    _S.WITHDRAWN: frozenset(),
    _S.REFUSED: frozenset(),
    _S.FORWARDED: frozenset(),
}
"""Forward along received → accepted → verifying → decided → appealed → closed (steps the
register did not record may be skipped, never ``decided``), or out to withdrawn / refused /
forwarded; nothing leaves a final status. A second-instance decision is appealed → decided."""

_PAGE = 1000


class IllegalTransition(ValueError):
    """A status change the procedure does not allow."""

    def __init__(self, case_number: str, old: ComplaintStatus, new: ComplaintStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "none (final status)"
        super().__init__(
            f"case {case_number}: cannot change status from {old.value!r} to {new.value!r} "
            f"(allowed from {old.value!r}: {allowed})"
        )
        self.case_number = case_number
        self.old = old
        self.new = new


class ComplaintNotFound(LookupError):
    pass


def check_transition(case_number: str, old: ComplaintStatus, new: ComplaintStatus) -> None:
    if old is not new and new not in TRANSITIONS[old]:
        raise IllegalTransition(case_number, old, new)


def doc_id(case_number: str) -> str:
    """The document id: the case number, escaped for the URL ("15/2025/KN" has slashes)."""
    return quote(case_number, safe="")


@dataclass(frozen=True)
class ComplaintChange:
    """What a save did (or, from `ComplaintRegister.plan`, would do)."""

    case_number: str
    action: Action
    before: Complaint | None
    after: Complaint

    @property
    def status_changed(self) -> bool:
        return self.before is not None and self.before.status is not self.after.status


class ComplaintRegister:
    def __init__(
        self,
        engine: Engine,
        names: IndexNames,
        compile_query: QueryCompiler | None = None,
        on_saved: SavedHook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self.index = names.complaints
        self._compile_query = compile_query
        self._on_saved = on_saved
        self._clock = clock

    # -- writes --------------------------------------------------------------------------
    def plan(
        self,
        complaint: Complaint,
        by: str,
        *,
        existing: Complaint | None,
        note: str | None = None,
    ) -> ComplaintChange:
        """The change saving ``complaint`` over ``existing`` would make; raises
        `IllegalTransition` for a status change the procedure does not allow."""
        case = complaint.case_number
        if existing is None:
            history = complaint.history or [
                StatusChange(status=complaint.status, at=self._clock(), by=by, note=note)
            ]
            after = complaint.model_copy(update={"history": history}, deep=True)
            return ComplaintChange(case, "created", None, after)
        check_transition(case, existing.status, complaint.status)
        history = list(existing.history)
        if complaint.status is not existing.status:
            history.append(
                StatusChange(status=complaint.status, at=self._clock(), by=by, note=note)
            )
        after = complaint.model_copy(update={"history": history}, deep=True)
        action: Action = "unchanged" if after == existing else "updated"
        return ComplaintChange(case, action, existing, after)

    def commit(self, change: ComplaintChange, refresh: bool = False) -> None:
        """Write a planned change (nothing for ``unchanged``) and call ``on_saved``."""
        if change.action == "unchanged":
            return
        self._engine.put(
            self.index, doc_id(change.case_number), self._document(change.after), refresh=refresh
        )
        if self._on_saved is not None:
            self._on_saved(matching_view(change.after))

    def upsert(
        self, complaint: Complaint, by: str, note: str | None = None, refresh: bool = False
    ) -> ComplaintChange:
        """Create or update the case ``complaint.case_number``."""
        change = self.plan(complaint, by, existing=self.get(complaint.case_number), note=note)
        self.commit(change, refresh=refresh)
        return change

    def close(
        self,
        case_number: str,
        by: str,
        outcome: str,
        status: ComplaintStatus = ComplaintStatus.CLOSED,
        refresh: bool = False,
    ) -> ComplaintChange:
        """End a case with ``outcome`` (``status``: closed, withdrawn, refused or forwarded)."""
        if status in OPEN_STATUSES:
            raise ValueError(f"{status.value!r} is not a final status")
        current = self.get(case_number)
        if current is None:
            raise ComplaintNotFound(case_number)
        closed = current.model_copy(update={"status": status, "outcome": outcome})
        change = self.plan(closed, by, existing=current, note=outcome)
        self.commit(change, refresh=refresh)
        return change

    def refresh(self) -> None:
        """Make writes visible to `list` now (an import refreshes once at the end)."""
        self._engine.refresh(self.index)

    def _document(self, complaint: Complaint) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "case_number": complaint.case_number,
            "status": complaint.status.value,
            "is_open": complaint.is_open,
            "updated_at": self._clock().isoformat(),
            "complaint": complaint.model_dump(mode="json"),
        }
        if complaint.is_open and self._compile_query is not None:
            query, terms = self._compile_query(matching_view(complaint))
            doc["query"] = query
            doc["match_terms"] = terms
        return doc

    # -- reads ---------------------------------------------------------------------------
    def get(self, case_number: str) -> Complaint | None:
        """The stored case (real-time: sees a write at once, unlike `list`)."""
        if not 0 < len(case_number) <= MAX_CASE_NUMBER:
            return None  # no case can have it, and "" would address the index, not a document
        doc = self._engine.get(self.index, doc_id(case_number))
        return None if doc is None else Complaint.model_validate(doc["complaint"])

    def list(
        self,
        open_only: bool = False,
        kind: ComplaintKind | None = None,
        status: ComplaintStatus | None = None,
        limit: int | None = None,
    ) -> builtins.list[Complaint]:
        """Cases by case number (search: a write shows after the index refreshes)."""
        filters: builtins.list[dict[str, Any]] = []
        if open_only:
            filters.append({"term": {"is_open": True}})
        if status is not None:
            filters.append({"term": {"status": status.value}})
        found: builtins.list[Complaint] = []
        for complaint in self._scan({"bool": {"filter": filters}}):
            if kind is not None and complaint.kind is not kind:
                continue
            found.append(complaint)
            if limit is not None and len(found) >= limit:
                break
        return found

    def _scan(self, query: dict[str, Any]) -> Iterator[Complaint]:
        after: builtins.list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": _PAGE,
                "query": query,
                "sort": [{"case_number": "asc"}],
                "_source": ["complaint"],
            }
            if after is not None:
                body["search_after"] = after
            hits = self._engine.search(self.index, body)["hits"]["hits"]
            for hit in hits:
                yield Complaint.model_validate(hit["_source"]["complaint"])
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]
