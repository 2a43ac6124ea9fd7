"""Reading the complaint links (`complaints.links`) the way the detectors need them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from complaints.links import ComplaintLink
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Article, OutletKind

PAGE = 500
_LENIENT = {"ignore_unavailable": "true"}


def _scan(engine: Engine, index: str, query: dict[str, Any], sort: list[Any]) -> Iterator[Any]:
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"query": query, "sort": sort, "size": PAGE}
        if after is not None:
            body["search_after"] = after
        hits = engine.search(index, body, params=_LENIENT)["hits"]["hits"]
        yield from hits
        if len(hits) < PAGE:
            return
        after = hits[-1]["sort"]


def links_since(
    engine: Engine, names: IndexNames, since: datetime, case_number: str | None = None
) -> list[ComplaintLink]:
    """Links stored at or after ``since`` (by ``linked_at``), of one case or all, oldest first."""
    clauses: list[dict[str, Any]] = [
        {"range": {"linked_at": {"gte": since.astimezone(UTC).isoformat()}}}
    ]
    if case_number is not None:
        clauses.append({"term": {"case_number": case_number}})
    sort = [{"linked_at": "asc"}, {"article_id": "asc"}, {"case_number": "asc"}]
    return [
        ComplaintLink.model_validate(hit["_source"])
        for hit in _scan(engine, names.complaint_links, {"bool": {"filter": clauses}}, sort)
    ]


def articles_fetched_since(engine: Engine, names: IndexNames, since: datetime) -> Iterator[Article]:
    """Every article fetched at or after ``since``, oldest first, page by page."""
    query = {"range": {"fetched_at": {"gte": since.astimezone(UTC).isoformat()}}}
    for hit in _scan(engine, names.articles, query, [{"fetched_at": "asc"}, {"id": "asc"}]):
        yield Article.model_validate(hit["_source"])


def cases_with_stories(engine: Engine, names: IndexNames, since: datetime) -> dict[str, int]:
    """Case number -> stories published (or linked, when undated) since ``since``."""
    moment = since.astimezone(UTC).isoformat()
    body = {
        "size": 0,
        "query": {
            "bool": {
                "should": [
                    {"range": {"published_at": {"gte": moment}}},
                    {
                        "bool": {
                            "must_not": [{"exists": {"field": "published_at"}}],
                            "filter": [{"range": {"linked_at": {"gte": moment}}}],
                        }
                    },
                ],
                "minimum_should_match": 1,
            }
        },
        "aggs": {"cases": {"terms": {"field": "case_number", "size": 10000}}},
    }
    found = engine.search(names.complaint_links, body, params=_LENIENT)
    buckets = found.get("aggregations", {}).get("cases", {}).get("buckets", [])
    return {str(b["key"]): int(b["doc_count"]) for b in buckets}


def linked_article_ids(
    engine: Engine, names: IndexNames, case_number: str, since: datetime
) -> list[str]:
    query = {
        "bool": {
            "filter": [
                {"term": {"case_number": case_number}},
                {"range": {"linked_at": {"gte": since.astimezone(UTC).isoformat()}}},
            ]
        }
    }
    hits = _scan(engine, names.complaint_links, query, [{"article_id": "asc"}])
    return [str(hit["_source"]["article_id"]) for hit in hits]


def outlet_kinds(engine: Engine, names: IndexNames, ids: Sequence[str]) -> dict[str, OutletKind]:
    """Article id -> the kind of its outlet (links do not carry it)."""
    if not ids:
        return {}
    found = engine.search(
        names.articles,
        {"query": {"ids": {"values": list(ids)}}, "_source": ["outlet_kind"], "size": len(ids)},
        params=_LENIENT,
    )
    kinds: dict[str, OutletKind] = {}
    for hit in found["hits"]["hits"]:
        kind = str(hit["_source"].get("outlet_kind") or "")
        if kind in OutletKind._value2member_map_:
            kinds[hit["_id"]] = OutletKind(kind)
    return kinds
