"""The fetch log: every failed download, bad feed and failed extraction, searchable.

Entries are buffered and bulk-written to the ``fetch-log`` index; when the engine is down they
go to a JSON-lines file in the data folder and are written on the next flush. The crawl records
from the reactor thread and from the index stage's writing thread, hence the lock.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexer.adapter import Engine, EngineUnavailable
from indexer.layout import IndexNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchFailure:
    url: str
    outlet: str | None
    stage: str
    reason: str
    status: int | None = None
    at: str = ""


class FetchLog:
    def __init__(self, engine: Engine | None, names: IndexNames, backlog: Path) -> None:
        self.engine = engine
        self.names = names
        self.backlog = backlog
        self._pending: list[FetchFailure] = []
        self.counts: dict[str, int] = {}
        self._lock = threading.RLock()

    def record(
        self, url: str, outlet: str | None, stage: str, reason: str, status: int | None = None
    ) -> None:
        entry = FetchFailure(
            url, outlet, stage, reason[:2000], status, datetime.now(UTC).isoformat()
        )
        log.info("fetch log: %s %s: %s", stage, url, reason)
        with self._lock:
            self._pending.append(entry)
            self.counts[stage] = self.counts.get(stage, 0) + 1
            if len(self._pending) >= 100:
                self.flush()

    def _backlog_entries(self) -> list[FetchFailure]:
        if not self.backlog.exists():
            return []
        with self.backlog.open(encoding="utf-8") as handle:
            return [FetchFailure(**json.loads(line)) for line in handle if line.strip()]

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        entries = self._backlog_entries() + self._pending
        self._pending = []
        if not entries:
            return
        if self.engine is not None:
            actions = [{"_index": self.names.fetch_log, "_source": asdict(e)} for e in entries]
            try:
                self.engine.bulk(actions)
                self.backlog.unlink(missing_ok=True)
                return
            except EngineUnavailable as error:
                log.warning("fetch log kept on disk, engine unavailable: %s", error)
        self.backlog.parent.mkdir(parents=True, exist_ok=True)
        with self.backlog.open("w", encoding="utf-8") as handle:
            for entry in entries:
                handle.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
