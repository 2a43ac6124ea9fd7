"""URLs already handled, so an incremental crawl does not download them again."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


class SeenUrls:
    """A small SQLite table in the data folder: url → outcome, when."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, outcome TEXT, at REAL)"
        )
        self._db.commit()

    def __contains__(self, url: str) -> bool:
        row = self._db.execute("SELECT 1 FROM seen WHERE url = ?", (url,)).fetchone()
        return row is not None

    def mark(self, urls: list[str], outcome: str) -> None:
        now = time.time()
        self._db.executemany(
            "INSERT OR REPLACE INTO seen (url, outcome, at) VALUES (?, ?, ?)",
            [(u, outcome, now) for u in urls],
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])

    def close(self) -> None:
        self._db.close()
