"""Health: is the engine reachable, is the layout there, how much is indexed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import EngineDep, NamesDep, TemplatesDep
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.layout import IndexNames

router = APIRouter(tags=["health"])


def _health(engine: Engine, names: IndexNames) -> tuple[int, dict[str, Any]]:
    report: dict[str, Any] = {
        "engine": {"flavour": engine.flavour, "version": ".".join(map(str, engine.version))}
    }
    try:
        cluster = engine.health()
        report["engine"]["cluster_status"] = cluster.get("status")
        report["indices"] = {
            "articles": engine.count(names.articles),
            "complaints": engine.count(names.complaints),
            "alerts": engine.count(names.alerts),
        }
    except EngineUnavailable as error:
        report.update(status="unavailable", error=str(error))
        return 503, report
    except EngineRequestError as error:
        report.update(status="not_set_up", error=f"{error} — run 'diemnong setup'")
        return 503, report
    report["status"] = "ok" if cluster.get("status") in ("green", "yellow") else "degraded"
    return (200 if report["status"] == "ok" else 503), report


@router.get("/api/health")
def api_health(engine: EngineDep, names: NamesDep) -> JSONResponse:
    """Engine status and document counts; 503 when the engine or the layout is missing."""
    code, report = _health(engine, names)
    return JSONResponse(report, status_code=code)


@router.get("/health", response_class=HTMLResponse, include_in_schema=False)
def health_page(
    request: Request, engine: EngineDep, names: NamesDep, templates: TemplatesDep
) -> HTMLResponse:
    code, report = _health(engine, names)
    return templates.TemplateResponse(request, "health.html", {"report": report}, status_code=code)
