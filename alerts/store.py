"""The outbox: alerts in the ``alerts`` index, created once, changed by compare-and-set.

`create` uses ``op_type=create`` with the content-derived id, so a re-detection is a no-op, and
waits for the refresh so that the next check already sees what this one stored. `update` reads
the document with its ``_seq_no``/``_primary_term`` (a real-time GET) and writes it back only
if nobody changed it meanwhile (``if_seq_no``), retrying on conflict: the worker's delivery
changes and the web app's acknowledgements never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from alerts.model import DeliveryState, OutboxAlert
from indexer.adapter import Engine, EngineRequestError
from indexer.layout import IndexNames
from indexer.models import AlertKind, AlertState

PAGE = 200
CAS_RETRIES = 20


class AlertNotFound(LookupError):
    pass


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _doc(alert_id: str) -> str:
    """The id as one URL path segment: an id from a URL may hold ``?``, ``#`` or ``/``."""
    return quote(alert_id, safe="")


def _deliveries(query: dict[str, Any]) -> dict[str, Any]:
    return {"nested": {"path": "deliveries", "query": query}}


class AlertStore:
    def __init__(self, engine: Engine, names: IndexNames) -> None:
        self.engine = engine
        self.index = names.alerts

    # -- writes --------------------------------------------------------------------------
    def create(self, alert: OutboxAlert, refresh: bool = True) -> bool:
        """Store a new alert; False when an alert with this id exists (already detected).

        ``refresh`` waits until searches see it; a caller storing several alerts passes
        False and calls `refresh` once at the end (each wait costs up to the refresh interval).
        """
        doc = alert.summarised().model_dump(mode="json")
        try:
            self.engine.request(
                "PUT",
                f"/{self.index}/_create/{_doc(alert.id)}",
                body=doc,
                params={"refresh": "wait_for"} if refresh else None,
            )
        except EngineRequestError as error:
            if error.status == 409:
                return False
            raise
        return True

    def _read(self, alert_id: str) -> tuple[OutboxAlert, int, int] | None:
        found = self.engine.get_versioned(self.index, _doc(alert_id))
        if found is None:
            return None
        source, seq_no, term = found
        return OutboxAlert.model_validate(source), seq_no, term

    def get(self, alert_id: str) -> OutboxAlert | None:
        read = self._read(alert_id)
        return read[0] if read else None

    def update(
        self,
        alert_id: str,
        change: Callable[[OutboxAlert], OutboxAlert | None],
        refresh: bool = False,
    ) -> OutboxAlert | None:
        """Apply ``change`` to the stored alert atomically; ``change`` returns None to skip.

        Returns the stored result, or None when ``change`` declined. Raises `AlertNotFound`.
        """
        for _ in range(CAS_RETRIES):
            read = self._read(alert_id)
            if read is None:
                raise AlertNotFound(alert_id)
            current, seq_no, term = read
            changed = change(current.model_copy(deep=True))
            if changed is None:
                return None
            changed = changed.summarised().model_copy(update={"updated_at": datetime.now(UTC)})
            written = self.engine.put_if_unchanged(
                self.index,
                _doc(alert_id),
                changed.model_dump(mode="json"),
                seq_no,
                term,
                refresh="wait_for" if refresh else None,
            )
            if written:
                return changed
        raise RuntimeError(f"alert {alert_id}: too many concurrent changes")

    # -- reads ---------------------------------------------------------------------------
    def _scan(self, query: dict[str, Any], limit: int | None = None) -> Iterator[OutboxAlert]:
        after: list[Any] | None = None
        seen = 0
        while True:
            body: dict[str, Any] = {
                "query": query,
                "sort": [{"created_at": "asc"}, {"id": "asc"}],
                "size": PAGE if limit is None else min(PAGE, limit - seen),
            }
            if after is not None:
                body["search_after"] = after
            hits = self.engine.search(self.index, body)["hits"]["hits"]
            for hit in hits:
                yield OutboxAlert.model_validate(hit["_source"])
            seen += len(hits)
            if len(hits) < body["size"] or (limit is not None and seen >= limit):
                return
            after = hits[-1]["sort"]

    def due(self, now: datetime, limit: int = 100) -> list[OutboxAlert]:
        """Alerts with a pending delivery whose next attempt is due (candidates: re-read
        before acting, the search may lag the last write by a second)."""
        query = _deliveries(
            {
                "bool": {
                    "filter": [
                        {"term": {"deliveries.state": DeliveryState.PENDING.value}},
                        {"range": {"deliveries.next_attempt_at": {"lte": _iso(now)}}},
                    ]
                }
            }
        )
        return list(self._scan(query, limit))

    def with_delivery_state(
        self, state: DeliveryState, recipient: str | None = None
    ) -> list[OutboxAlert]:
        clauses: list[dict[str, Any]] = [{"term": {"deliveries.state": state.value}}]
        if recipient is not None:
            clauses.append({"term": {"deliveries.recipient": recipient}})
        return list(self._scan(_deliveries({"bool": {"filter": clauses}})))

    def for_recipient(self, recipient: str, since: datetime, until: datetime) -> list[OutboxAlert]:
        """Alerts created in [since, until) that have a delivery to ``recipient``."""
        query = {
            "bool": {
                "filter": [
                    {"range": {"created_at": {"gte": _iso(since), "lt": _iso(until)}}},
                    _deliveries({"term": {"deliveries.recipient": recipient}}),
                ]
            }
        }
        return list(self._scan(query))

    def messages_sent(self, since: datetime) -> dict[str, list[datetime]]:
        """Recipient -> when each email to it went out since ``since`` (the hourly limit)."""
        query = _deliveries({"range": {"deliveries.sent_at": {"gte": _iso(since)}}})
        sent: dict[str, dict[str, datetime]] = {}
        for alert in self._scan(query):
            for delivery in alert.deliveries:
                if delivery.sent_at and delivery.sent_at >= since and delivery.message_id:
                    times = sent.setdefault(delivery.recipient, {})
                    times.setdefault(delivery.message_id, delivery.sent_at)
        return {recipient: list(times.values()) for recipient, times in sent.items()}

    def covers(self, case_number: str) -> set[str]:
        """What the stored complaint alerts of a case have reported (see detectors.complaints)."""
        query = {
            "bool": {
                "filter": [
                    {"term": {"kind": AlertKind.COMPLAINT_TOUCHED.value}},
                    {"term": {"complaint_case": case_number}},
                ]
            }
        }
        return {key for alert in self._scan(query) for key in alert.covers}

    def latest(self, kind: AlertKind, subject_key: str, rule_prefix: str) -> datetime | None:
        """When the last alert of this kind, subject and rule family was created."""
        body = {
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"kind": kind.value}},
                        {"term": {"subject_key": subject_key}},
                        {"prefix": {"rule": rule_prefix}},
                    ]
                }
            },
            "sort": [{"created_at": "desc"}],
            "size": 1,
            "_source": ["created_at"],
        }
        hits = self.engine.search(self.index, body)["hits"]["hits"]
        if not hits:
            return None
        return datetime.fromisoformat(hits[0]["_source"]["created_at"])

    def open_with_deadline(self, kind: AlertKind) -> list[OutboxAlert]:
        query = {
            "bool": {
                "filter": [{"term": {"kind": kind.value}}, {"exists": {"field": "due_at"}}],
                "must_not": [{"exists": {"field": "resolved_at"}}],
            }
        }
        return list(self._scan(query))

    def list(
        self,
        state: AlertState | None = None,
        kind: AlertKind | None = None,
        limit: int = 50,
    ) -> list[OutboxAlert]:
        """The newest alerts first, optionally by summary delivery state and kind."""
        filters: list[dict[str, Any]] = []
        if state is not None:
            filters.append({"term": {"delivery": state.value}})
        if kind is not None:
            filters.append({"term": {"kind": kind.value}})
        body = {
            "query": {"bool": {"filter": filters}},
            "sort": [{"created_at": "desc"}, {"id": "asc"}],
            "size": limit,
        }
        hits = self.engine.search(self.index, body)["hits"]["hits"]
        return [OutboxAlert.model_validate(hit["_source"]) for hit in hits]

    def refresh(self) -> None:
        self.engine.refresh(self.index)
