"""The on-disk spool: articles the engine could not take yet.

Each batch becomes one JSON-lines file, written to a temporary name, flushed to disk and
renamed, so a crash leaves either a whole batch or none. Replays use the writer's `create`
writes: an article that reached the engine before the crash counts as a duplicate, never a
second document.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from indexer.adapter import BulkResult
from indexer.models import Article
from indexer.writer import ArticleWriter


class SpoolError(RuntimeError):
    """The spool cannot take more (disk full, read-only): ingestion must pause."""


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

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

    def put(self, articles: Sequence[Article]) -> Path:
        """Store a batch durably; raises SpoolError when the disk refuses."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"
        tmp = self.folder / f".{name}.tmp"
        try:
            with tmp.open("w", encoding="utf-8") as handle:
                for article in articles:
                    handle.write(article.model_dump_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            final = self.folder / name
            tmp.replace(final)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            why = "disk full" if error.errno == errno.ENOSPC else error.strerror
            raise SpoolError(
                f"cannot spool {len(articles)} articles to {self.folder} ({why}): "
                "free space there, then ingestion resumes"
            ) from error
        return final

    def replay(self, writer: ArticleWriter) -> BulkResult:
        """Write every spooled batch, oldest first; a batch is deleted once it is written.

        Raises EngineUnavailable (leaving the rest in place) when the engine is down again.
        """
        total = BulkResult()
        for path in self.files():
            with path.open(encoding="utf-8") as handle:
                batch = [Article.model_validate_json(line) for line in handle if line.strip()]
            total.merge(writer.write(batch))
            path.unlink()
        return total
