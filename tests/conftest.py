"""Shared fixtures: settings built explicitly (no environment), and the real engine.

The engine is the one `scripts/test.sh` started (its URL in DIEMNONG_TEST_ENGINE_URL); when
pytest runs alone, the session starts an embedded engine of its own and stops it at the end.
Each test gets its own index prefix, so tests never see each other's documents.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from diemnong.settings import ApiSettings, EngineSettings, IndexSettings, Settings
from indexer.adapter import Engine
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout, drop_layout

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _no_diemnong_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in tests come from code, never from the developer's environment or .env."""
    for key in list(os.environ):
        if key.startswith("DIEMNONG_") and key != "DIEMNONG_TEST_ENGINE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


@pytest.fixture(scope="session")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("DIEMNONG_TEST_ENGINE_URL")
    if url:
        yield url
        return
    data_dir = tmp_path_factory.mktemp("engine")
    embedded = EmbeddedEngine(Settings(data_dir=data_dir, _env_file=None))
    status = embedded.start()
    assert status.state is not None
    try:
        yield status.state.url
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def engine(engine_url: str) -> Iterator[Engine]:
    client = Engine.connect(engine_url, EngineSettings())
    yield client
    client.close()


@pytest.fixture
def settings(engine_url: str, tmp_path: Path) -> Settings:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    return Settings(
        data_dir=tmp_path / "data",
        engine=EngineSettings(url=engine_url),
        index=IndexSettings(prefix=prefix),
        api=ApiSettings(secret_key=SecretStr("test-secret-" + "x" * 40)),
        _env_file=None,
    )


@pytest.fixture
def names(settings: Settings) -> IndexNames:
    return IndexNames(settings.index.prefix)


@pytest.fixture
def layout(engine: Engine, settings: Settings, names: IndexNames) -> Iterator[IndexNames]:
    """The real index layout under the test's own prefix, removed afterwards."""
    apply_layout(engine, names, settings.index)
    yield names
    drop_layout(engine, names)
