"""The searches the alert worker watches: the rule file's, and those web-app users marked.

A saved search from the web app holds the query text and filters exactly as the search page
sent them; the worker applies the text and the outlet, outlet-kind and province filters (a
date range makes no sense for a watch, it is always "from now on").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from alerts.rules import AlertRules
from indexer.adapter import Engine, EngineRequestError
from indexer.layout import IndexNames
from indexer.text_query import text_query

log = logging.getLogger(__name__)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_WATCHED = 500


@dataclass(frozen=True)
class WatchedSearch:
    name: str
    query: dict[str, Any]
    owner: str | None


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int) and str(v)]
    return []


def query_of(text: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The engine query of a saved search: its text, then its keyword filters."""
    clauses: list[dict[str, Any]] = []
    outlets = _as_list(filters.get("outlets") or filters.get("outlet"))
    if outlets:
        clauses.append({"terms": {"outlet": outlets}})
    for field in ("outlet_kind", "province"):
        values = _as_list(filters.get(field))
        if values:
            clauses.append({"terms": {field: values}})
    must = [text_query(text)] if text.strip() else [{"match_all": {}}]
    return {"bool": {"must": must, "filter": clauses}}


def watched_searches(engine: Engine, names: IndexNames, rules: AlertRules) -> list[WatchedSearch]:
    """Rule-file searches first, then web-app searches with ``alert: true``, by creation."""
    found = [WatchedSearch(s.name, query_of(s.query, {}), s.owner) for s in rules.saved_searches]
    try:
        hits = engine.search(
            names.saved_searches,
            {
                "query": {"term": {"alert": True}},
                "sort": [{"created_at": "asc"}],
                "size": MAX_WATCHED,
            },
            params={"ignore_unavailable": "true"},
        )["hits"]["hits"]
    except EngineRequestError as error:
        log.warning("saved searches unreadable, only the rule file's are watched: %s", error)
        return found
    for hit in hits:
        source = hit["_source"]
        owner = str(source.get("owner") or "")
        found.append(
            WatchedSearch(
                name=f"{source.get('name', '?')} ({owner})" if owner else source.get("name", "?"),
                query=query_of(str(source.get("query") or ""), source.get("filters") or {}),
                owner=owner if _EMAIL.match(owner) else None,
            )
        )
    return found
