"""How pipeline stages say what happened to an item.

    DropItem (Scrapy)
    └── StageFailure      the item is bad at a stage: recorded in the fetch log, never retried
        (extraction found no article, dates impossible, page not an article, unsafe URL)

A stage that cannot reach the engine does not raise: the index stage spools the article to
disk and replays it later (`crawlers.spool`), so an outage never loses or duplicates it.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem


class StageFailure(DropItem):
    """An item that failed a stage for good; the fetch log records ``stage`` and ``reason``."""

    def __init__(self, stage: str, reason: str, url: str) -> None:
        super().__init__(f"{stage}: {reason} ({url})")
        self.stage = stage
        self.reason = reason
        self.url = url
