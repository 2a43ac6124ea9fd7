"""Public value types of the fixture site: a published story and an outlet's entry points."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from indexer.models import OutletKind, Source


@dataclass(frozen=True)
class Story:
    """One article as the site publishes it: the ground truth tests compare a crawl against.

    ``article_id`` and ``path`` are given by the site when the story is published; a story
    built by hand for ``FixtureSite.publish`` leaves them empty. ``syndicated_from`` is the
    path of the original when this story is another outlet's republished copy. ``flags`` name
    the bad cases the story carries (``big``, ``slow``, ``redirect``, ``tracking_link``,
    ``amp_link``, ``feed_no_date``, ``feed_future_date``).
    """

    outlet: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    section: str = "thoi-su"
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    topic: str = "custom"
    place: str | None = None
    province: str | None = None
    published_at: datetime | None = None
    article_id: int = 0
    path: str = ""
    syndicated_from: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        return {
            "outlet": self.outlet,
            "url": base_url + self.path,
            "path": self.path,
            "title": self.title,
            "lead": self.lead,
            "section": self.section,
            "topic": self.topic,
            "place": self.place,
            "province": self.province,
            "authors": list(self.authors),
            "tags": list(self.tags),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "syndicated_from": base_url + self.syndicated_from if self.syndicated_from else None,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class OutletInfo:
    """Where a crawler finds one imitated outlet on the running site."""

    slug: str
    name: str
    kind: OutletKind
    province: str | None
    home_url: str
    feed_url: str
    feed_format: str
    sitemap_url: str
    section_urls: tuple[str, ...]
    encoding: str
    article_pattern: str = field(default="", repr=False)

    def to_source(self) -> Source:
        """The outlet as the crawler's configuration type (indexer.models.Source)."""
        return Source(
            name=self.name,
            domain=urlsplit(self.home_url).netloc,
            kind=self.kind,
            province=self.province,
            feeds=[self.feed_url],
            sitemaps=[self.sitemap_url],
            sections=list(self.section_urls),
            article_patterns=[self.article_pattern],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "kind": self.kind.value,
            "province": self.province,
            "home_url": self.home_url,
            "feed_url": self.feed_url,
            "feed_format": self.feed_format,
            "sitemap_url": self.sitemap_url,
            "section_urls": list(self.section_urls),
            "encoding": self.encoding,
            "article_pattern": self.article_pattern,
        }


def pattern_for(base_url: str, path_regex: str) -> str:
    return "^" + re.escape(base_url) + path_regex
