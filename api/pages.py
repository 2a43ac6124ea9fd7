"""Rendering server-side pages with what every page shows: the user and the header counts."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.auth.users import User
from indexer.adapter import EngineRequestError, EngineUnavailable


def header_counts(request: Request) -> dict[str, int]:
    """Open (unresolved) alerts for the badge in the header; 0 when the engine cannot say."""
    engine = request.app.state.engine
    names = request.app.state.names
    try:
        open_alerts = engine.count(
            names.alerts, {"bool": {"must_not": {"exists": {"field": "resolved_at"}}}}
        )
    except (EngineUnavailable, EngineRequestError):
        open_alerts = 0
    return {"open_alerts": open_alerts}


def render(
    request: Request,
    name: str,
    user: User | None,
    context: dict[str, Any] | None = None,
    active: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    templates = request.app.state.templates
    full = {
        "user": user,
        "active": active,
        "header_counts": header_counts(request) if user else {},
        **(context or {}),
    }
    response: HTMLResponse = templates.TemplateResponse(
        request, name, full, status_code=status_code
    )
    return response
