"""Links between stories and open complaints: percolate new articles, store, list, re-search.

New articles are percolated in batches (one ``percolate`` query with ``documents``) against the
open complaints' stored queries; an edited or new complaint instead searches the stored articles
of the last days with its own query, so that earlier coverage is found. Each link is written
with an id derived from (case number, article id) and ``op_type=create``, so replays and
repeated runs never duplicate a link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from complaints.matching import TEXT_FIELDS, compile_complaint, explain, link_score
from complaints.privacy import matching_view
from complaints.variants import PlaceSpotter
from indexer.adapter import BulkResult, Engine
from indexer.layout import IndexNames
from indexer.models import Article, Complaint
from indexer.vietnamese import normalize

PERCOLATE_BATCH = 50
PAGE_SIZE = 500
SNIPPETS = 3
# The folded twins alone: their highlighter marks accented and unaccented matches alike, so a
# second pass over the exact fields would add nothing but time.
_HIGHLIGHT_FIELDS = [f"{f}.folded" for f in TEXT_FIELDS]
_ARTICLE_SOURCE = ["id", "url", "outlet", "published_at", "story_cluster_id", *TEXT_FIELDS]


class ComplaintLink(BaseModel):
    """A story found to be about a complaint, with why and where it matched."""

    case_number: str
    article_id: str
    story_cluster_id: str | None = None
    outlet: str = ""
    url: str = ""
    title: str = ""
    published_at: datetime | None = None
    score: float = 0.0
    matched_clauses: list[str] = Field(default_factory=list)
    snippets: list[str] = Field(default_factory=list)
    origin: str = "percolate"
    linked_at: datetime


@dataclass(frozen=True)
class StoryLinks:
    """The links of one story cluster (an original and its republications)."""

    cluster_id: str
    links: list[ComplaintLink]

    @property
    def latest(self) -> datetime | None:
        dates = [link.published_at for link in self.links if link.published_at]
        return max(dates) if dates else None


def link_id(case_number: str, article_id: str) -> str:
    return hashlib.sha256(f"{case_number}\x1f{article_id}".encode()).hexdigest()[:32]


def percolation_document(article: Article) -> dict[str, Any]:
    """What the stored queries read: normalised title, lead and body as the values of ``body``.

    Stored queries read ``body`` only (see `complaints.matching`); its position gap keeps a
    phrase from running from the title into the lead. The word-segmented twins of
    `indexer.writer.article_document` are left out: no clause reads them and segmenting
    costs more than the percolation itself.
    """
    parts = [normalize(getattr(article, name) or "") for name in TEXT_FIELDS]
    places = sorted(PlaceSpotter.load().spot("\n".join(parts)))
    doc: dict[str, Any] = {
        "body": [p for p in parts if p],
        "entities": {"locations": [{"text": place} for place in places]},
    }
    if article.province:
        doc["province"] = article.province
    return doc


def _snippets(highlight: Mapping[str, list[str]], prefix: str = "") -> list[str]:
    found: list[str] = []
    for field in _HIGHLIGHT_FIELDS:
        for fragment in highlight.get(prefix + field, []):
            if fragment not in found:
                found.append(fragment)
    return found[:SNIPPETS]


def _highlight() -> dict[str, Any]:
    return {
        "fields": {f: {} for f in _HIGHLIGHT_FIELDS},
        "fragment_size": 160,
        "number_of_fragments": SNIPPETS,
    }


_OPEN = {"term": {"is_open": True}}


def _any_open_query(engine: Engine, index: str) -> bool:
    """Whether percolation could match anything. It reads the same index and filter as the
    percolation itself, so it sees exactly the complaints that percolation would; building
    the documents (place spotting) costs more than the request when nothing is open."""
    return engine.count(index, {"bool": {"filter": [_OPEN]}}) > 0


def _percolate_pages(engine: Engine, index: str, docs: list[dict[str, Any]]) -> Iterator[Any]:
    offset = 0
    while True:
        body = {
            "query": {
                "bool": {
                    "must": [{"percolate": {"field": "query", "documents": docs}}],
                    "filter": [_OPEN],
                }
            },
            "_source": ["case_number", "match_terms"],
            "highlight": _highlight(),
            "from": offset,
            "size": PAGE_SIZE,
        }
        hits = engine.search(index, body)["hits"]["hits"]
        yield from hits
        if len(hits) < PAGE_SIZE:
            return
        offset += PAGE_SIZE


def percolate(
    engine: Engine,
    names: IndexNames,
    articles: Sequence[Article],
    batch_size: int = PERCOLATE_BATCH,
    now: datetime | None = None,
) -> list[ComplaintLink]:
    """Every (open complaint, article) pair whose stored query matches; nothing is stored."""
    linked_at = now or datetime.now(UTC)
    links: list[ComplaintLink] = []
    if not articles or not _any_open_query(engine, names.complaints):
        return links
    for start in range(0, len(articles), batch_size):
        batch = articles[start : start + batch_size]
        docs = [percolation_document(a) for a in batch]
        for hit in _percolate_pages(engine, names.complaints, docs):
            source = hit["_source"]
            highlight = hit.get("highlight", {})
            for slot in hit.get("fields", {}).get("_percolator_document_slot", [0]):
                article = batch[slot]
                clauses = explain(source.get("match_terms", {}), docs[slot])
                links.append(
                    ComplaintLink(
                        case_number=source["case_number"],
                        article_id=article.id,
                        story_cluster_id=article.story_cluster_id,
                        outlet=article.outlet,
                        url=article.url,
                        title=article.title,
                        published_at=article.published_at,
                        score=link_score(clauses),
                        matched_clauses=clauses,
                        snippets=_snippets(highlight, f"{slot}_"),
                        linked_at=linked_at,
                    )
                )
    return links


def store_links(engine: Engine, names: IndexNames, links: Sequence[ComplaintLink]) -> BulkResult:
    """Create each link once; a link stored before counts as a duplicate, never twice."""
    actions = [
        {
            "_op_type": "create",
            "_index": names.complaint_links,
            "_id": link_id(link.case_number, link.article_id),
            "_source": link.model_dump(mode="json"),
        }
        for link in links
    ]
    return engine.bulk(actions) if actions else BulkResult()


def links_for(
    engine: Engine, names: IndexNames, case_number: str, limit: int = 1000
) -> list[StoryLinks]:
    """The stories linked to one case, grouped by story cluster, most recent cluster first."""
    found = engine.search(
        names.complaint_links,
        {
            "query": {"term": {"case_number": case_number}},
            "sort": [{"published_at": {"order": "desc", "missing": "_last"}}, "_doc"],
            "size": limit,
        },
        params={"ignore_unavailable": "true"},
    )
    groups: dict[str, list[ComplaintLink]] = {}
    for hit in found["hits"]["hits"]:
        link = ComplaintLink.model_validate(hit["_source"])
        groups.setdefault(link.story_cluster_id or link.article_id, []).append(link)
    clusters = [StoryLinks(cluster, items) for cluster, items in groups.items()]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(clusters, key=lambda c: c.latest or oldest, reverse=True)


def repercolate(
    engine: Engine,
    names: IndexNames,
    complaint: Complaint,
    days: int = 90,
    now: datetime | None = None,
) -> list[ComplaintLink]:
    """Search the articles of the last ``days`` with one complaint's query and store the links.

    Run when a complaint is created or edited: percolation only sees articles as they arrive,
    so coverage published before the complaint was registered is found here. Like the stored
    query, it uses only what `complaints.privacy.matching_view` lets the press side see.
    """
    if not complaint.is_open:
        return []
    # Articles written moments ago may wait for the indices' refresh interval; percolation
    # no longer sees them once this complaint is open, so this search must.
    engine.refresh(names.articles)
    compiled = compile_complaint(matching_view(complaint))
    terms, spotter = compiled.match_terms, PlaceSpotter.load()
    moment = now or datetime.now(UTC)
    query = {
        "bool": {
            "must": [compiled.query()],
            "filter": [
                {"range": {"published_at": {"gte": (moment - timedelta(days=days)).isoformat()}}}
            ],
        }
    }
    links: list[ComplaintLink] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "query": query,
            "_source": _ARTICLE_SOURCE,
            "highlight": _highlight(),
            "sort": [{"published_at": "desc"}, {"id": "asc"}],
            "size": PAGE_SIZE,
        }
        if after is not None:
            body["search_after"] = after
        hits = engine.search(names.articles, body, params={"ignore_unavailable": "true"})
        page = hits["hits"]["hits"]
        for hit in page:
            source = hit["_source"]
            text = "\n".join(source.get(f) or "" for f in TEXT_FIELDS)
            if spotter.spot(text).isdisjoint(compiled.place_keys):
                continue  # what percolation would have left out (see complaints.matching)
            clauses = explain(terms, source)
            links.append(
                ComplaintLink(
                    case_number=complaint.case_number,
                    article_id=hit["_id"],
                    story_cluster_id=source.get("story_cluster_id"),
                    outlet=source.get("outlet", ""),
                    url=source.get("url", ""),
                    title=source.get("title", ""),
                    published_at=source.get("published_at"),
                    score=link_score(clauses),
                    matched_clauses=clauses,
                    snippets=_snippets(hit.get("highlight", {})),
                    origin="repercolate",
                    linked_at=moment,
                )
            )
        if len(page) < PAGE_SIZE:
            break
        after = page[-1]["sort"]
    store_links(engine, names, links)
    return links
