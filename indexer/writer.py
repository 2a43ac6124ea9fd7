"""Writing articles: idempotent bulk creates into monthly indices.

An article's id is the hash of its canonical URL and each write is ``op_type=create``, so a
re-fetch is a counted duplicate. Because the monthly index is chosen by date, the same URL could
land in two months if its date changed between fetches; the writer therefore first asks the
alias which ids exist already.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from indexer.adapter import BulkResult, Engine
from indexer.layout import IndexNames
from indexer.models import Article
from indexer.vietnamese import normalize, segment

# Segmentation costs ~1 ms/KB (pyvi's own call ~2); news puts the key facts first (inverted
# pyramid), so the segmented twin covers title, lead and the opening of the body. Folded and
# exact fields cover it all.
SEGMENT_BODY_CHARS = 2_000


def _opening(body: str) -> str:
    """The first SEGMENT_BODY_CHARS characters of the body, cut back to a word boundary."""
    if len(body) <= SEGMENT_BODY_CHARS:
        return body
    cut = body.rfind(" ", 0, SEGMENT_BODY_CHARS)
    return body[: cut if cut > 0 else SEGMENT_BODY_CHARS]


def article_document(article: Article, normalized: bool = False) -> dict[str, Any]:
    """The indexed form: normalised text plus the word-segmented twins of title, lead, body.
    ``normalized``: the text went through `normalize` already (the crawl's normalise stage)."""
    doc = article.model_dump(mode="json")
    for name in ("title", "lead", "body"):
        doc[name] = doc[name] or ""
        if not normalized:
            doc[name] = normalize(doc[name])
    doc["title_seg"] = segment(doc["title"], normalized=True)
    doc["lead_seg"] = segment(doc["lead"], normalized=True)
    doc["body_seg"] = segment(_opening(doc["body"]), normalized=True)
    return doc


class ArticleWriter:
    """Bulk-creates articles; the result counts created, duplicates and failures."""

    def __init__(self, engine: Engine, names: IndexNames, chunk_size: int = 500) -> None:
        self.engine = engine
        self.names = names
        self.chunk_size = chunk_size
        self._ready_indices: set[str] = set()

    def _ensure_index(self, name: str) -> None:
        """Monthly indices are created explicitly: the template applies, auto-create may be off."""
        if name not in self._ready_indices:
            if not self.engine.index_exists(name):
                self.engine.create_index(name)
            self._ready_indices.add(name)

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        found = self.engine.search(
            self.names.articles,
            {"query": {"ids": {"values": list(ids)}}, "_source": False, "size": len(ids)},
            params={"ignore_unavailable": "true"},
        )
        return {hit["_id"] for hit in found["hits"]["hits"]}

    def index_for(self, article: Article) -> str:
        when = article.published_at or article.fetched_at
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return self.names.article_index(when)

    def write(
        self, articles: Sequence[Article], refresh: bool = False, normalized: bool = False
    ) -> BulkResult:
        """``normalized``: the articles' text went through `normalize` (see article_document)."""
        result = BulkResult()
        for start in range(0, len(articles), self.chunk_size):
            chunk = articles[start : start + self.chunk_size]
            unique = {a.id: a for a in chunk}
            result.duplicates += len(chunk) - len(unique)
            known = self.existing_ids(list(unique))
            result.duplicates += len(known)
            fresh = [a for a in unique.values() if a.id not in known]
            targets = {a.id: self.index_for(a) for a in fresh}
            for index in set(targets.values()):
                self._ensure_index(index)
            actions = [
                {
                    "_op_type": "create",
                    "_index": targets[a.id],
                    "_id": a.id,
                    "_source": article_document(a, normalized),
                }
                for a in fresh
            ]
            result.merge(self.engine.bulk(actions, chunk_size=self.chunk_size))
        if refresh:
            self.engine.refresh(self.names.articles)
        return result
