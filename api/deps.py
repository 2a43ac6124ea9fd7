"""Dependencies injected into routes (overridden in tests).

They are ``async`` although they never wait: FastAPI runs a plain ``def`` dependency in a
worker thread, and that hop costs more than the lookup.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from api.search_cache import SearchAnswers
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_names(request: Request) -> IndexNames:
    names: IndexNames = request.app.state.names
    return names


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


async def get_search_answers(request: Request) -> SearchAnswers[dict[str, Any]]:
    answers: SearchAnswers[dict[str, Any]] = request.app.state.search_answers
    return answers


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NamesDep = Annotated[IndexNames, Depends(get_names)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SearchAnswersDep = Annotated[SearchAnswers[dict[str, Any]], Depends(get_search_answers)]
