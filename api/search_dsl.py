"""Every search request body the web app sends: coverage search, facets, timeline, export.

User text reaches the engine only through `indexer.text_query` (``simple_query_string`` and a
phrase on the segmented twins) and structured term/range/phrase queries built here.

One search is two bodies sent together in one ``_msearch``: `search_body` lists the page (one
document per story, highlights, ``search_after``) and counts nothing, so the engine can skip
documents that cannot reach the page; `counts_body` counts the whole result (stories, facets,
timeline) with ``size: 0`` and nothing page-specific in it, so the engine's shard request cache
answers it again for the next page, the next user with the same search and every month index
that received no new article since (the cache lives until the shard's next refresh).

Republications: the engine refuses ``collapse`` together with ``search_after`` unless both use
the same field, so the result list shows one document per story (the original, or an article
without a cluster) and pages with ``search_after``; the clusters of a page are then looked up
in one ``size: 0`` request whose ``top_hits`` per cluster, oldest first, give the original and
whose ``cardinality`` says how many outlets carried it. Facets and the timeline count every
matching article, republications included.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from alerts.lexicon import CrisisLexicon
from indexer.text_query import text_match, text_query
from indexer.vietnamese import fold, normalize
from indexer.writer import SEGMENT_BODY_CHARS

MAX_QUERY_CHARS = 500
MAX_PAGE = 100
EXPORT_LIMIT = 10_000
DATE_RANGE = (date(1900, 1, 1), date(2999, 12, 31))
"""The dates a search may name: wide for any archive, and the day after still exists."""
FACET_FIELDS = {
    "outlet": "outlet",
    "outlet_kind": "outlet_kind",
    "province": "province",
    "location": "entities.locations.text",
}
ENTITY_FIELDS = (
    "entities.persons.folded",
    "entities.organisations.folded",
    "entities.locations.text.folded",
)
HIGHLIGHT_FIELDS = ("title", "lead", "body")
HIGHLIGHT_MAX_CHARS = SEGMENT_BODY_CHARS
"""Highlight as much of the body as is segmented: news names its subject early."""
SOURCE_FIELDS = [
    "id",
    "url",
    "title",
    "lead",
    "outlet",
    "outlet_kind",
    "province",
    "section",
    "published_at",
    "story_cluster_id",
    "is_original",
]
CARRIER_FIELDS = ("id", "outlet", "url", "is_original")
Sort = Literal["relevance", "date"]


class InvalidSearch(ValueError):
    """A search the app refuses before asking the engine (answered with 422)."""


@dataclass
class SearchParams:
    """What a user may ask for, from the JSON API, the search page or an export."""

    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    outlets: list[str] = field(default_factory=list)
    outlet_kind: str | None = None
    province: str | None = None
    complaint: str | None = None
    crisis: bool = False
    entity: str | None = None
    sort: Sort = "relevance"
    size: int = 20
    cursor: str | None = None

    def check(self) -> None:
        if len(self.q) > MAX_QUERY_CHARS:
            raise InvalidSearch(
                f"Câu tìm kiếm dài quá {MAX_QUERY_CHARS} ký tự "
                f"(query longer than {MAX_QUERY_CHARS} characters)."
            )
        if self.entity is not None and len(self.entity) > MAX_QUERY_CHARS:
            raise InvalidSearch("Tên thực thể quá dài (entity text too long).")
        if not 1 <= self.size <= MAX_PAGE:
            raise InvalidSearch(f"size phải từ 1 đến {MAX_PAGE} (size must be 1–{MAX_PAGE}).")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidSearch("Ngày bắt đầu sau ngày kết thúc (from is after to).")
        earliest, latest = DATE_RANGE
        if any(d and not earliest <= d <= latest for d in (self.date_from, self.date_to)):
            raise InvalidSearch(
                f"Ngày phải từ năm {earliest.year} đến năm {latest.year} "
                f"(dates must be within {earliest.year}–{latest.year})."
            )


def cache_key(params: SearchParams) -> str:
    """The same text for the same search: what `api.search_cache` keeps answers under."""
    return json.dumps(dataclasses.asdict(params), sort_keys=True, default=str)


def encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values of the last hit of the previous page; refuses anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidSearch("Con trỏ trang không hợp lệ (invalid cursor).") from error
    scalar = (str, int, float)
    if not isinstance(values, list) or not 1 <= len(values) <= 3:
        raise InvalidSearch("Con trỏ trang không hợp lệ (invalid cursor).")
    if not all(isinstance(v, scalar) and not isinstance(v, bool) for v in values):
        raise InvalidSearch("Con trỏ trang không hợp lệ (invalid cursor).")
    return values


def _day_start(day: date, zone: ZoneInfo) -> str:
    return datetime.combine(day, time.min, tzinfo=zone).isoformat()


def crisis_query(lexicon: CrisisLexicon) -> dict[str, Any]:
    """Any lexicon term as a phrase on the folded text (diacritics and tone marks ignored)."""
    terms = sorted({fold(normalize(term)) for term in lexicon.terms})
    folded = [f"{name}.folded" for name in HIGHLIGHT_FIELDS]
    should = [
        {"multi_match": {"query": term, "fields": folded, "type": "phrase"}} for term in terms
    ]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def entity_query(text: str) -> dict[str, Any]:
    value = normalize(text).strip()
    should = [{"term": {name: value}} for name in ENTITY_FIELDS]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def filters(
    params: SearchParams,
    zone: ZoneInfo,
    lexicon: CrisisLexicon | None = None,
    complaint_articles: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Structured filters; ``complaint_articles`` are the ids linked to ``params.complaint``."""
    found: list[dict[str, Any]] = []
    when: dict[str, str] = {}
    if params.date_from:
        when["gte"] = _day_start(params.date_from, zone)
    if params.date_to:
        when["lt"] = _day_start(params.date_to + timedelta(days=1), zone)
    if when:
        found.append({"range": {"published_at": when}})
    if params.outlets:
        found.append({"terms": {"outlet": params.outlets}})
    if params.outlet_kind:
        found.append({"term": {"outlet_kind": params.outlet_kind}})
    if params.province:
        found.append({"term": {"province": params.province}})
    if params.complaint is not None:
        found.append({"ids": {"values": complaint_articles or []}})
    if params.crisis and lexicon is not None:
        found.append(crisis_query(lexicon))
    if params.entity:
        found.append(entity_query(params.entity))
    return found


_WORD_OPERATORS = {"AND": "+", "OR": "|", "NOT": "-"}
_OPERATOR_WORD = re.compile(r"(?<!\S)(AND|OR|NOT)(?!\S)\s*")


def operators_as_symbols(query: str) -> str:
    """``AND``/``OR``/``NOT`` typed as words (outside quotes) become ``+``/``|``/``-``.

    ``simple_query_string`` only knows the symbols; a user of the search box types words.
    """
    parts = query.split('"')
    for number in range(0, len(parts), 2):
        parts[number] = _OPERATOR_WORD.sub(
            lambda m: f"{_WORD_OPERATORS[m.group(1)]}" + ("" if m.group(1) == "NOT" else " "),
            parts[number],
        )
    return '"'.join(parts)


def main_query(params: SearchParams, filter_clauses: list[dict[str, Any]]) -> dict[str, Any]:
    text = operators_as_symbols(params.q.strip())
    must = [text_query(text)] if text else [{"match_all": {}}]
    return {"bool": {"must": must, "filter": filter_clauses}}


def matching(params: SearchParams, filter_clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """The same documents as `main_query`, unscored: no ranking bonus to compute."""
    text = operators_as_symbols(params.q.strip())
    selects = [text_match(text, exact=False)] if text else []
    return {"bool": {"filter": [*selects, *filter_clauses]}}


def sort_clause(params: SearchParams) -> list[Any]:
    """A total order (the id breaks ties) so that ``search_after`` pages never overlap."""
    if params.sort == "date" or not params.q.strip():
        return [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    return [
        {"_score": "desc"},
        {"published_at": {"order": "desc", "missing": "_last"}},
        {"id": "asc"},
    ]


def one_per_story() -> dict[str, Any]:
    """Originals and articles outside any cluster: the rest are shown under their original."""
    return {
        "bool": {
            "should": [
                {"term": {"is_original": True}},
                {"bool": {"must_not": {"exists": {"field": "story_cluster_id"}}}},
            ],
            "minimum_should_match": 1,
        }
    }


def highlight(params: SearchParams) -> dict[str, Any] | None:
    """``<mark>`` around hits; ``encoder: html`` escapes the fragment text before tagging.

    Only what the page shows is highlighted: the title and body (the lead is shown as is when
    the body has no hit), as typed — the exact fields for a query with diacritics, the folded
    ones for a query without. Only the text query counts (not the ranking bonus nor the
    filters), and only the first ``HIGHLIGHT_MAX_CHARS`` of a field are analysed: the cost of
    highlighting grows with the text, and news names its subject early.
    """
    text = operators_as_symbols(params.q.strip())
    if not text:
        return None
    typed = normalize(text)
    suffix = ".folded" if fold(typed) == typed.lower() else ""
    return {
        "encoder": "html",
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "highlight_query": text_match(text),
        "max_analyzer_offset": HIGHLIGHT_MAX_CHARS,
        "fields": {
            f"title{suffix}": {"number_of_fragments": 0},
            f"body{suffix}": {"fragment_size": 180, "number_of_fragments": 2},
        },
    }


def histogram_interval(params: SearchParams) -> str:
    """Hours for a range of three days or less, days otherwise."""
    if params.date_from and params.date_to and (params.date_to - params.date_from).days < 3:
        return "hour"
    return "day"


def aggregations(params: SearchParams, zone: ZoneInfo) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        name: {"terms": {"field": path, "size": 20}} for name, path in FACET_FIELDS.items()
    }
    aggs["timeline"] = {
        "date_histogram": {
            "field": "published_at",
            "calendar_interval": histogram_interval(params),
            "time_zone": str(zone),
            "min_doc_count": 1,
        }
    }
    return aggs


def search_body(
    params: SearchParams, filter_clauses: list[dict[str, Any]], zone: ZoneInfo
) -> dict[str, Any]:
    """The result page: one hit per story, highlights; counts come from `counts_body`.

    ``track_total_hits: false`` lets the engine skip documents that cannot make the page
    (by score or by date) instead of scoring every match.
    """
    body: dict[str, Any] = {
        "query": main_query(params, [*filter_clauses, one_per_story()]),
        "sort": sort_clause(params),
        "size": params.size,
        "track_total_hits": False,
        "_source": SOURCE_FIELDS,
    }
    marks = highlight(params)
    if marks:
        body["highlight"] = marks
    if params.cursor:
        body["search_after"] = decode_cursor(params.cursor)
    return body


def counts_body(
    params: SearchParams, filter_clauses: list[dict[str, Any]], zone: ZoneInfo
) -> dict[str, Any]:
    """Stories, facets and timeline of the whole result, in a shape the request cache keeps.

    ``size: 0`` makes it cacheable; it holds neither cursor nor page size, so every page of
    a search asks the very same thing.
    """
    return {
        "query": matching(params, filter_clauses),
        "size": 0,
        "aggs": {**aggregations(params, zone), "stories": {"filter": one_per_story()}},
    }


def carriers_body(cluster_ids: list[str], per_cluster: int = 10) -> dict[str, Any]:
    """Per cluster of the page: its articles oldest first (the original leads), its outlets.

    A ``top_hits`` under a ``terms`` aggregation rather than ``collapse`` with inner hits,
    which costs one more search per cluster; ``size: 0``, so repeats come from the cache.
    The carriers' fields come from doc values: reading ``_source`` would decompress every
    carrier's whole text for five short values.
    """
    return {
        "query": {"bool": {"filter": [{"terms": {"story_cluster_id": sorted(cluster_ids)}}]}},
        "size": 0,
        "aggs": {
            "clusters": {
                "terms": {"field": "story_cluster_id", "size": len(cluster_ids)},
                "aggs": {
                    "outlets": {"cardinality": {"field": "outlet"}},
                    "carriers": {
                        "top_hits": {
                            "size": per_cluster,
                            "sort": [
                                {"published_at": {"order": "asc", "missing": "_last"}},
                                {"id": "asc"},
                            ],
                            "_source": False,
                            "docvalue_fields": [
                                *CARRIER_FIELDS,
                                {"field": "published_at", "format": "strict_date_time"},
                            ],
                        }
                    },
                },
            }
        },
    }


def export_body(
    params: SearchParams, filter_clauses: list[dict[str, Any]], page: int, after: list[Any] | None
) -> dict[str, Any]:
    """Every matching article (republications included), paged by ``search_after``."""
    body: dict[str, Any] = {
        "query": main_query(params, filter_clauses),
        "sort": sort_clause(params),
        "size": page,
        "_source": SOURCE_FIELDS,
    }
    if after:
        body["search_after"] = after
    return body


def links_body(case_number: str) -> dict[str, Any]:
    """Article ids linked to a complaint case (the complaint-links index)."""
    return {
        "query": {"term": {"case_number": case_number}},
        "_source": ["article_id"],
        "size": EXPORT_LIMIT,
    }


def article_links_body(article_id: str) -> dict[str, Any]:
    """Complaint cases an article is linked to."""
    return {
        "query": {"term": {"article_id": article_id}},
        "_source": ["case_number", "matched_clauses", "score"],
        "size": 100,
    }


def article_body(article_id: str) -> dict[str, Any]:
    """One article by id across the monthly indices behind the alias."""
    return {"query": {"ids": {"values": [article_id]}}, "size": 1}


def saved_searches_body(owner: str) -> dict[str, Any]:
    return {
        "query": {"term": {"owner": owner}},
        "sort": [{"created_at": "desc"}],
        "size": 1000,
    }
