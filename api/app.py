"""The web app factory: `create_app(settings)` builds the app and its engine client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.auth import install_auth, security_headers
from api.routes import (
    alerts,
    complaint_pages,
    complaints,
    health,
    search,
    search_pages,
    statements,
)
from api.search_cache import AnswerCache, ContentGeneration, SearchAnswers
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.connection import open_engine
from indexer.layout import IndexNames


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """One app per process; ``engine`` is injected by tests, else opened in the lifespan."""

    names = IndexNames(settings.index.prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        app.state.engine = engine or open_engine(settings)
        app.state.search_answers = SearchAnswers[dict[str, Any]](
            AnswerCache(settings.api.search_cache_s),
            ContentGeneration(app.state.engine, [names.articles, names.complaint_links]),
        )
        try:
            yield
        finally:
            if owned:
                app.state.engine.close()

    app = FastAPI(
        title="diemnong",
        description="Theo dõi báo chí, đơn thư và truyền thông khủng hoảng cho cơ quan nhà nước.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.names = names
    app.state.templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    install_auth(app, settings)
    security_headers(app)
    app.include_router(health.router)
    app.include_router(complaints.router)
    app.include_router(complaints.audit_router)
    app.include_router(search.router)
    app.include_router(search_pages.router)
    app.include_router(statements.router)
    app.include_router(statements.pages)
    app.include_router(alerts.router)
    app.include_router(alerts.pages)
    app.include_router(complaint_pages.router)  # last: /complaints/{case:path} catches all
    return app
