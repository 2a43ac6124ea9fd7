"""The stories a statement may cite: from the case's links or from indexed articles."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

from complaints.links import ComplaintLink
from indexer.models import Article


class Story(BaseModel):
    """What the draft may take from a story: who published what, when."""

    article_id: str
    title: str
    outlet: str = ""
    url: str = ""
    published_at: datetime | None = None
    lead: str = ""

    @classmethod
    def from_link(cls, link: ComplaintLink) -> Story:
        return cls(
            article_id=link.article_id,
            title=link.title,
            outlet=link.outlet,
            url=link.url,
            published_at=link.published_at,
            lead=re.sub(r"<[^>]+>", "", " ".join(link.snippets)),
        )

    @classmethod
    def from_article(cls, article: Article) -> Story:
        return cls(
            article_id=article.id,
            title=article.title,
            outlet=article.outlet,
            url=article.url,
            published_at=article.published_at,
            lead=article.lead,
        )
