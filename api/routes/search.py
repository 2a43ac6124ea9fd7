"""Searching coverage: the JSON API, saved searches and CSV/XLSX export (pages: `search_pages`).

Request bodies come from `api.search_dsl`; this module parses parameters, calls the engine and
shapes answers. A search costs two round-trips at most: one ``_msearch`` (the page and the
counts), then the republications of the page's clusters. Engine refusals of a search become 422
(never a 5xx), an unreachable engine 503.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from markupsafe import escape
from pydantic import BaseModel, Field

from alerts.lexicon import CrisisLexicon, load_lexicon
from api import search_dsl as dsl
from api.auth.deps import CurrentUser
from api.deps import EngineDep, NamesDep, SearchAnswersDep, SettingsDep
from api.search_cache import SearchAnswers
from diemnong.settings import Settings
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.layout import IndexNames, load_template

router = APIRouter(tags=["search"])
P = ParamSpec("P")
T = TypeVar("T")
ENGINE_DOWN = "Máy tìm kiếm không phản hồi, vui lòng thử lại sau (search engine unavailable)."
REFUSED = "Máy tìm kiếm không chấp nhận câu tìm kiếm này (the engine refused this search)."
EXPORT_COLUMNS = (
    "title",
    "outlet",
    "published_at",
    "url",
    "section",
    "province",
    "story_cluster_id",
)
EXPORT_HEADERS = (
    "Tiêu đề",
    "Báo",
    "Thời gian đăng",
    "Địa chỉ",
    "Chuyên mục",
    "Tỉnh/thành",
    "Cụm tin",
)


def saved_searches_index(names: IndexNames) -> str:
    return names.saved_searches


@lru_cache(maxsize=4)
def _lexicon(path: Path | None) -> CrisisLexicon:
    return load_lexicon(path)


def engine_call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return function(*args, **kwargs)
    except EngineUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, ENGINE_DOWN) from error
    except EngineRequestError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, REFUSED) from error


def _date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise dsl.InvalidSearch(
            f"Ngày '{what}' không hợp lệ, cần dạng YYYY-MM-DD ({what}: invalid date)."
        ) from error


def search_params(
    q: Annotated[str, Query(description='Từ khoá; có/không dấu, "cụm từ", AND/OR/NOT')] = "",
    date_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD")] = None,
    outlet: Annotated[list[str] | None, Query()] = None,
    outlet_kind: str | None = None,
    province: str | None = None,
    complaint: str | None = None,
    crisis: bool = False,
    entity: str | None = None,
    sort: dsl.Sort = "relevance",
    size: Annotated[int, Query(ge=1, le=dsl.MAX_PAGE)] = 20,
    cursor: str | None = None,
) -> dsl.SearchParams:
    try:
        params = dsl.SearchParams(
            q=q,
            date_from=_date(date_from, "from"),
            date_to=_date(date_to, "to"),
            outlets=[o for o in outlet or [] if o],
            outlet_kind=outlet_kind or None,
            province=province or None,
            complaint=complaint or None,
            crisis=crisis,
            entity=entity or None,
            sort=sort,
            size=size,
            cursor=cursor or None,
        )
        params.check()
        if params.cursor:
            dsl.decode_cursor(params.cursor)
    except dsl.InvalidSearch as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    return params


@functools.wraps(search_params)
async def _search_params(*args: Any, **kwargs: Any) -> dsl.SearchParams:
    """`search_params` as the routes' dependency, without a worker thread (see `api.deps`)."""
    return search_params(*args, **kwargs)


ParamsDep = Annotated[dsl.SearchParams, Depends(_search_params)]


def _filters(
    engine: Engine, names: IndexNames, settings: Settings, params: dsl.SearchParams
) -> list[dict[str, Any]]:
    linked: list[str] | None = None
    if params.complaint is not None:
        found = engine.search(
            names.complaint_links,
            dsl.links_body(params.complaint),
            params={"ignore_unavailable": "true"},
        )
        linked = [hit["_source"]["article_id"] for hit in found["hits"]["hits"]]
    lexicon = _lexicon(settings.alerts.lexicon_file) if params.crisis else None
    return dsl.filters(params, ZoneInfo(settings.timezone), lexicon, linked)


def local_time(value: str | None, zone: ZoneInfo) -> str | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(zone).isoformat()


def _snippet(hit: dict[str, Any]) -> tuple[str, str]:
    """Title and snippet as HTML: the engine's escaped highlight, else our escaped text."""
    marks = hit.get("highlight", {})
    source = hit["_source"]
    title = (marks.get("title") or marks.get("title.folded") or [None])[0]
    fragments = (
        marks.get("body")
        or marks.get("body.folded")
        or marks.get("lead")
        or marks.get("lead.folded")
    )
    snippet = " … ".join(fragments) if fragments else str(escape((source.get("lead") or "")[:240]))
    return title or str(escape(source.get("title") or "")), snippet


# Ask every shard first whether it can match at all: the monthly indices outside a date
# filter are then skipped instead of searched (by default only from 128 shards on).
_SKIP_IDLE_SHARDS = {"pre_filter_shard_size": "1"}
# An item of an ``_msearch`` the engine was too busy for: "try again later", not "refused".
_BUSY = frozenset({429, 503})


def _msearch(engine: Engine, index: str, bodies: list[dict[str, Any]]) -> tuple[list[Any], int]:
    """Several searches of ``index`` in one round-trip: the answers and the engine's ``took``.

    ``request_cache`` also keeps the query phase of page requests (by default the engine only
    keeps ``size: 0`` ones): a repeated search (the next user, the back button, a dashboard)
    then costs the engine only fetching and highlighting the page. The cache of a shard is
    dropped at its next refresh, so results are never older than the index.
    """
    header = json.dumps({"index": index, "ignore_unavailable": True, "request_cache": True})
    lines = [line for body in bodies for line in (header, json.dumps(body))]
    found = engine.request(
        "POST", "/_msearch", body="\n".join(lines) + "\n", params=_SKIP_IDLE_SHARDS
    )
    answers: list[dict[str, Any]] = found["responses"]
    for answer in answers:
        if "error" in answer:
            kind, reason = _error_details(answer)
            status_code = int(answer.get("status", 400))
            if status_code in _BUSY:
                raise EngineUnavailable(f"{status_code} {kind}: {reason}")
            raise EngineRequestError(status_code, kind, reason)
    took = found.get("took", max((int(a.get("took", 0)) for a in answers), default=0))
    return answers, int(took)


def _error_details(answer: dict[str, Any]) -> tuple[str, str]:
    error = answer["error"]
    if not isinstance(error, dict):
        return "error", str(error)
    first = (error.get("root_cause") or [error])[0]
    return str(first.get("type", "error")), str(first.get("reason", ""))


def _carrier(hit: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """One republication's short record, from the doc values `dsl.carriers_body` asks for."""
    values = hit.get("fields", {})
    found = {name: values[name][0] for name in dsl.CARRIER_FIELDS if values.get(name)}
    published = values.get("published_at")
    found["published_at"] = local_time(published[0], zone) if published else None
    return found


def _carriers(
    engine: Engine, names: IndexNames, cluster_ids: list[str], zone: ZoneInfo
) -> tuple[dict[str, dict[str, Any]], int]:
    if not cluster_ids:
        return {}, 0
    found = engine.search(names.articles, dsl.carriers_body(cluster_ids))
    result: dict[str, dict[str, Any]] = {}
    for bucket in found["aggregations"]["clusters"]["buckets"]:
        inner = [_carrier(hit, zone) for hit in bucket["carriers"]["hits"]["hits"]]
        result[bucket["key"]] = {
            "articles": int(bucket["doc_count"]),
            "outlets": int(bucket["outlets"]["value"]),
            "original_id": inner[0]["id"] if inner else None,
            "carriers": inner,
        }
    return result, int(found.get("took", 0))


def run_search(
    engine: Engine, names: IndexNames, settings: Settings, params: dsl.SearchParams
) -> dict[str, Any]:
    """The answer of ``GET /api/search`` (the search page renders the same dict).

    ``took_ms`` is the engine's own time for the answer, so a slow search can be told apart
    from a slow web app.
    """
    zone = ZoneInfo(settings.timezone)
    clauses = _filters(engine, names, settings, params)
    (found, counted), took = _msearch(
        engine,
        names.articles,
        [dsl.search_body(params, clauses, zone), dsl.counts_body(params, clauses, zone)],
    )
    hits = found["hits"]["hits"]
    clusters = sorted(
        {h["_source"]["story_cluster_id"] for h in hits if h["_source"].get("story_cluster_id")}
    )
    carried, carriers_took = _carriers(engine, names, clusters, zone)
    results = []
    for hit in hits:
        source = hit["_source"]
        title_html, snippet_html = _snippet(hit)
        group = carried.get(source.get("story_cluster_id") or "", None)
        results.append(
            {
                **source,
                "published_at": local_time(source.get("published_at"), zone),
                "title_html": title_html,
                "snippet_html": snippet_html,
                "score": hit.get("_score"),
                "carried_by": group["outlets"] if group else 1,
                "cluster_articles": group["articles"] if group else 1,
                "carriers": group["carriers"] if group else [],
            }
        )
    aggs = counted.get("aggregations", {})
    facets = {
        name: [
            {"value": b["key"], "count": b["doc_count"]}
            for b in aggs.get(name, {}).get("buckets", [])
        ]
        for name in dsl.FACET_FIELDS
    }
    timeline = [
        {"at": b["key_as_string"], "count": b["doc_count"]}
        for b in aggs.get("timeline", {}).get("buckets", [])
    ]
    full_page = len(hits) == params.size
    return {
        "total": aggs["stories"]["doc_count"] if "stories" in aggs else 0,
        "results": results,
        "facets": facets,
        "top_outlets": facets["outlet"][:5],
        "timeline": timeline,
        "interval": dsl.histogram_interval(params),
        "next": dsl.encode_cursor(hits[-1]["sort"]) if hits and full_page else None,
        "took_ms": took + carriers_took,
    }


def cached_search(
    answers: SearchAnswers[dict[str, Any]],
    engine: Engine,
    names: IndexNames,
    settings: Settings,
    params: dsl.SearchParams,
) -> dict[str, Any]:
    """`run_search`'s answer, kept while the indices are unchanged (`api.search_cache`).

    ``reused`` tells whether the engine was spared: then ``took_ms`` is the engine's time when
    the answer was first computed.
    """
    computed = False

    def compute() -> dict[str, Any]:
        nonlocal computed
        computed = True
        return engine_call(run_search, engine, names, settings, params)

    answer = answers.get(dsl.cache_key(params), compute)
    return {**answer, "reused": not computed}


@router.get("/api/search", response_model=dict[str, Any])
def search(
    params: ParamsDep,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    answers: SearchAnswersDep,
    user: CurrentUser,
) -> Response:
    """Search stored coverage: text, filters, facets, timeline, republications grouped."""
    answer = cached_search(answers, engine, names, settings, params)
    return Response(json.dumps(answer, ensure_ascii=False), media_type="application/json")


# -- export ----------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    """Text for a spreadsheet cell; a leading = + - @ would run as a formula, so it is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(
    engine: Engine, names: IndexNames, settings: Settings, params: dsl.SearchParams
) -> list[list[str]]:
    zone = ZoneInfo(settings.timezone)
    clauses = _filters(engine, names, settings, params)
    rows: list[list[str]] = []
    after: list[Any] | None = None
    while len(rows) < dsl.EXPORT_LIMIT:
        page = min(1000, dsl.EXPORT_LIMIT - len(rows))
        found = engine.search(
            names.articles,
            dsl.export_body(params, clauses, page, after),
            params={"ignore_unavailable": "true"},
        )
        hits = found["hits"]["hits"]
        for hit in hits:
            source = {
                **hit["_source"],
                "published_at": local_time(hit["_source"].get("published_at"), zone),
            }
            rows.append([_cell(source.get(column)) for column in EXPORT_COLUMNS])
        if len(hits) < page:
            break
        after = hits[-1]["sort"]
    return rows


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Bai bao")
    sheet.append(list(EXPORT_HEADERS))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@router.get("/api/search/export")
def export(
    params: ParamsDep,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Up to 10,000 matching articles as CSV (UTF-8 with BOM, for Excel) or XLSX."""
    rows = engine_call(export_rows, engine, names, settings, params)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    if format == "xlsx":
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        content = _xlsx(rows)
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(EXPORT_HEADERS)
        writer.writerows(rows)
        media = "text/csv; charset=utf-8"
        content = ("\ufeff" + text.getvalue()).encode("utf-8")
    disposition = f'attachment; filename="diemnong-{stamp}.{format}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


# -- saved searches --------------------------------------------------------------------------
class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(default="", max_length=dsl.MAX_QUERY_CHARS)
    filters: dict[str, Any] = Field(default_factory=dict)
    alert: bool = False


def ensure_saved_searches_index(engine: Engine, names: IndexNames, settings: Settings) -> None:
    """Create the index from ``indexer/templates/saved_searches.json`` when it is missing."""
    index = saved_searches_index(names)
    if not engine.index_exists(index):
        body = load_template("saved_searches")
        body["settings"]["index"].update(
            {
                "number_of_shards": settings.index.shards,
                "number_of_replicas": settings.index.replicas,
            }
        )
        engine.create_index(index, body)


@router.post("/api/saved-searches", status_code=status.HTTP_201_CREATED)
def save_search(
    body: SavedSearchIn,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Keep a search under a name; ``alert: true`` asks the alert worker to watch it."""
    doc = {
        "id": uuid.uuid4().hex,
        "owner": user.username,
        **body.model_dump(),
        "created_at": datetime.now(UTC).isoformat(),
    }

    def write() -> None:
        ensure_saved_searches_index(engine, names, settings)
        engine.create(saved_searches_index(names), doc["id"], doc, refresh=True)

    engine_call(write)
    return doc


@router.get("/api/saved-searches")
def list_saved(engine: EngineDep, names: NamesDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Your saved searches, newest first."""
    found = engine_call(
        engine.search,
        saved_searches_index(names),
        dsl.saved_searches_body(user.username),
        params={"ignore_unavailable": "true"},
    )
    return [hit["_source"] for hit in found["hits"]["hits"]]


@router.delete("/api/saved-searches/{search_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved(search_id: str, engine: EngineDep, names: NamesDep, user: CurrentUser) -> Response:
    """Delete one of your saved searches."""
    index = saved_searches_index(names)
    if not search_id.isalnum():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Không có tìm kiếm đã lưu này.")
    try:
        doc = engine_call(engine.get, index, search_id)
    except HTTPException:
        doc = None
    if doc is None or doc.get("owner") != user.username:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Không có tìm kiếm đã lưu này.")
    engine_call(engine.delete, index, search_id, refresh=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
