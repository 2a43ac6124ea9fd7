"""Where the engine is: the external URL from settings, else the running embedded engine."""

from __future__ import annotations

from diemnong.settings import Settings
from indexer.adapter import Engine, EngineUnavailable
from indexer.engine.embedded import EmbeddedEngine


def engine_url(settings: Settings) -> str:
    if settings.engine.url:
        return settings.engine.url.rstrip("/")
    status = EmbeddedEngine(settings).status()
    if status.running and status.state is not None:
        return ",".join(status.state.urls)
    raise EngineUnavailable(
        "no search engine: run 'diemnong engine start' for the embedded one, "
        "or set DIEMNONG_ENGINE__URL to an OpenSearch/Elasticsearch URL"
    )


def open_engine(settings: Settings) -> Engine:
    """The process's one engine client; call once at the entry point and pass it down."""
    return Engine.connect(engine_url(settings), settings.engine)
