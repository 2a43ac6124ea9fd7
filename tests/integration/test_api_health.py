"""The health page and JSON, with the app built by create_app and the real engine injected."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from indexer.adapter import Engine

pytestmark = pytest.mark.engine


def test_health_reports_counts_when_set_up(engine: Engine, settings, layout) -> None:
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/api/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["engine"]["flavour"] == "opensearch"
        assert body["indices"] == {"articles": 0, "complaints": 0, "alerts": 0}
        page = client.get("/health")
        assert page.status_code == 200
        assert "Hệ thống hoạt động bình thường" in page.text


def test_health_says_setup_is_missing(engine: Engine, settings) -> None:
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/api/health")
        assert response.status_code == 503
        assert "diemnong setup" in response.json()["error"]
