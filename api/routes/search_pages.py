"""The search page and the article page of the web app (server-rendered, in Vietnamese).

They ask the engine through the same functions as the JSON API in `api.routes.search`, kept
answers included, and render `search.html` and `article.html`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api import search_dsl as dsl
from api.auth.deps import CurrentUser
from api.deps import EngineDep, NamesDep, SearchAnswersDep, SettingsDep
from api.pages import render
from api.routes.search import cached_search, engine_call, local_time, search_params

router = APIRouter(tags=["search"])


def _page_link(request: Request, **changes: str | None) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    return "/?" + urlencode(items)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def search_page(
    request: Request,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    answers: SearchAnswersDep,
    user: CurrentUser,
) -> HTMLResponse:
    """The search page: one box, filters, results, facets and the timeline."""
    context: dict[str, Any] = {"args": request.query_params, "error": None, "answer": None}
    try:
        params = search_params(
            q=request.query_params.get("q", ""),
            date_from=request.query_params.get("from"),
            date_to=request.query_params.get("to"),
            outlet=request.query_params.getlist("outlet"),
            outlet_kind=request.query_params.get("outlet_kind"),
            province=request.query_params.get("province"),
            complaint=request.query_params.get("complaint"),
            crisis=request.query_params.get("crisis") in ("true", "1", "on"),
            entity=request.query_params.get("entity"),
            sort="date" if request.query_params.get("sort") == "date" else "relevance",
            size=20,
            cursor=request.query_params.get("cursor"),
        )
        answer = cached_search(answers, engine, names, settings, params)
    except HTTPException as error:
        context["error"] = str(error.detail)
        return render(
            request, "search.html", user, context, active="search", status_code=error.status_code
        )
    peak = max((b["count"] for b in answer["timeline"]), default=0)
    # The answer may be a kept one, shared with other requests: the page gets its own rows.
    # title_html and snippet_html come from _snippet: the engine's html-encoded highlight or
    # markupsafe.escape output.
    results = [
        {
            **result,
            "title_html": Markup(result["title_html"]),  # noqa: S704
            "snippet_html": Markup(result["snippet_html"]),  # noqa: S704
        }
        for result in answer["results"]
    ]
    context.update(
        answer=answer,
        results=results,
        peak=peak,
        next_link=_page_link(request, cursor=answer["next"]) if answer["next"] else None,
        facet_link=lambda name, value: _page_link(request, **{name: value, "cursor": None}),
        export_link=lambda fmt: (
            "/api/search/export?"
            + urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
                + [("format", fmt)]
            )
        ),
    )
    return render(request, "search.html", user, context, active="search")


@router.get("/articles/{article_id}", response_class=HTMLResponse, include_in_schema=False)
def article_page(
    article_id: str,
    request: Request,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> HTMLResponse:
    """One article as text (never its HTML), its entities and the complaints it touches."""
    zone = ZoneInfo(settings.timezone)
    found = engine_call(
        engine.search,
        names.articles,
        dsl.article_body(article_id),
        params={"ignore_unavailable": "true"},
    )
    hits = found["hits"]["hits"]
    if not hits:
        missing = {"title": "Không tìm thấy", "message": "Không có bài báo này."}
        return render(request, "auth/error.html", user, missing, status_code=404)
    article = hits[0]["_source"]
    links = engine_call(
        engine.search,
        names.complaint_links,
        dsl.article_links_body(article_id),
        params={"ignore_unavailable": "true"},
    )
    context: dict[str, Any] = {
        "article": article,
        "published": local_time(article.get("published_at"), zone),
        "paragraphs": [p.strip() for p in (article.get("body") or "").split("\n") if p.strip()],
        "cases": [hit["_source"] for hit in links["hits"]["hits"]],
    }
    return render(request, "article.html", user, context, active="search")
