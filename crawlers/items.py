"""What flows through the Scrapy pipeline before it becomes an `indexer.models.Article`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from indexer.models import Article, Source


@dataclass
class FetchedPage:
    """A downloaded article page and where it came from (the fetch stage's output)."""

    url: str
    requested_url: str
    status: int
    body: bytes
    content_type: str | None
    source: Source
    fetched_at: datetime
    via: str
    feed_published_at: datetime | None = None
    feed_title: str | None = None
    redirects: list[str] = field(default_factory=list)


@dataclass
class EnrichedArticle:
    """An article on its way to the index, with what the dedup stage changed elsewhere."""

    article: Article
    demoted: tuple[str, ...] = ()
