"""Durable on-disk queues: articles the engine could not take yet, and after-index work.

Each batch becomes one JSON-lines file, written to a temporary name, flushed to disk and
renamed, so a crash (or a full disk) leaves either a whole batch or none. A batch is deleted
only after its handler returned, so every handler must be idempotent: replayed articles use
the writer's `create` writes (one that reached the engine before the crash counts as a
duplicate, never a second document), complaint links have ids derived from (case, article).
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from diemnong.durable import fsync_folder
from indexer.adapter import BulkResult
from indexer.models import Article
from indexer.writer import ArticleWriter

Record = TypeVar("Record", bound=BaseModel)


class SpoolError(RuntimeError):
    """The spool cannot take more (disk full, read-only): ingestion must pause."""


class DiskQueue(Generic[Record]):
    """Batches of ``record_type`` kept on disk, oldest first, until a handler has taken them."""

    def __init__(self, folder: Path, record_type: type[Record]) -> None:
        self.folder = folder
        self.record_type = record_type
        self._in_memory: dict[Path, list[Record]] = {}
        """Batches this process put, by file: draining them needs no reading back and
        validating again. After a restart it is empty and every file is read."""

    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.jsonl"))

    def pending(self) -> int:
        total = 0
        for path in self.files():
            with path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        return total

    def put(self, records: Sequence[Record]) -> Path:
        """Store a batch durably; raises SpoolError when the disk refuses."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"
        tmp = self.folder / f".{name}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tmp.open("w", encoding="utf-8") as handle:
                for record in records:
                    handle.write(record.model_dump_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            final = self.folder / name
            tmp.replace(final)
            fsync_folder(self.folder)
            self._in_memory[final] = list(records)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            why = "disk full" if error.errno == errno.ENOSPC else error.strerror
            raise SpoolError(
                f"cannot keep {len(records)} records in {self.folder} ({why}): "
                "free space there, then ingestion resumes"
            ) from error
        return final

    def drain(self, handler: Callable[[list[Record]], object]) -> int:
        """Hand every batch to ``handler``, oldest first, deleting each once it returned.

        An exception from the handler stops the drain and leaves that batch and the later
        ones in place for the next attempt. Returns the number of records handled.
        """
        handled = 0
        for path in self.files():
            batch = self._in_memory.get(path)
            if batch is None:
                with path.open(encoding="utf-8") as handle:
                    lines = [line for line in handle if line.strip()]
                batch = [self.record_type.model_validate_json(line) for line in lines]
            handler(batch)
            path.unlink()
            self._in_memory.pop(path, None)
            handled += len(batch)
        return handled


class Spool(DiskQueue[Article]):
    """Articles written while the engine was unreachable, replayed when it is back."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, Article)

    def replay(self, writer: ArticleWriter) -> BulkResult:
        """Write every spooled batch; raises EngineUnavailable when the engine is down again."""
        total = BulkResult()
        self.drain(lambda batch: total.merge(writer.write(batch)))
        return total


class IndexedBatch(BaseModel):
    """Work due after a batch is written: percolation hooks, and originals to demote."""

    articles: list[Article]
    demoted: list[str] = []


class AfterIndexBacklog(DiskQueue[IndexedBatch]):
    """After-index work survives an engine outage or a crash between write and percolation."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, IndexedBatch)

    def articles_pending(self) -> int:
        return sum(
            len(IndexedBatch.model_validate_json(line).articles)
            for path in self.files()
            for line in path.read_text("utf-8").splitlines()
            if line.strip()
        )
