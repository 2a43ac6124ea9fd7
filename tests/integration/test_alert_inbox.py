"""The alerts inbox with the real engine: list and filter, acknowledge, assign, resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from alerts.model import OutboxAlert
from alerts.store import AlertStore
from api.auth.users import UserStore
from complaints.privacy import Role
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import AlertKind, Severity
from tests.integration.test_auth import CHEAP, PASSWORD, login_form, session_csrf
from tests.integration.test_statements import Tokens, build_app, make_tokens

pytestmark = pytest.mark.engine


@pytest.fixture
def client(engine: Engine, settings: Settings, layout: IndexNames) -> Iterator[TestClient]:
    with TestClient(build_app(settings, engine)) as http:
        yield http


@pytest.fixture
def tokens(engine: Engine, layout: IndexNames) -> Tokens:
    return make_tokens(engine, layout)


@pytest.fixture
def stored(engine: Engine, layout: IndexNames) -> AlertStore:
    store = AlertStore(engine, layout)
    now = datetime.now(UTC)
    for index, kind in enumerate((AlertKind.COMPLAINT_TOUCHED, AlertKind.EMERGING_CRISIS)):
        store.create(
            OutboxAlert(
                id=f"a{index}",
                kind=kind,
                severity=Severity.HIGH,
                title=f"<b>Cảnh báo {index}</b>",
                reason="lý do",
                created_at=now - timedelta(minutes=index),
                subject_key=f"k{index}",
            )
        )
    return store


def test_list_and_filter(client: TestClient, tokens: Tokens, stored: AlertStore) -> None:
    everything = client.get("/api/alerts", headers=tokens["viewer"]).json()
    assert [a["id"] for a in everything] == ["a0", "a1"]
    crisis = client.get(
        "/api/alerts", params={"kind": "emerging_crisis"}, headers=tokens["viewer"]
    ).json()
    assert [a["id"] for a in crisis] == ["a1"]
    assert client.get("/api/alerts").status_code == 401


def test_ack_assign_resolve_keep_history(
    client: TestClient, tokens: Tokens, stored: AlertStore
) -> None:
    officer = tokens["press_officer"]
    assert client.post("/api/alerts/a0/ack", headers=tokens["viewer"]).status_code == 403
    assert client.post("/api/alerts/a0/ack", headers=officer).status_code == 200
    assigned = client.post(
        "/api/alerts/a0/assign", json={"to": "phat.ngon", "note": "gấp"}, headers=officer
    )
    assert assigned.status_code == 200
    assert client.post("/api/alerts/a0/resolve", headers=officer).status_code == 200
    alert = stored.get("a0")
    assert alert is not None
    assert alert.acknowledged_by == "u-press_officer" and alert.assigned_to == "phat.ngon"
    assert alert.resolved_at is not None and alert.resolved_by == "u-press_officer"
    assert [e.action for e in alert.history] == ["acknowledged", "assigned", "resolved"]
    still_open = client.get("/api/alerts", params={"open_only": "true"}, headers=officer).json()
    assert [a["id"] for a in still_open] == ["a1"]
    assert client.post("/api/alerts/nope/ack", headers=officer).status_code == 404
    assert (
        client.post("/api/alerts/a1/assign", json={"to": " "}, headers=officer).status_code == 422
    )


def test_inbox_page_forms_need_csrf(
    client: TestClient, tokens: Tokens, stored: AlertStore, engine: Engine, layout: IndexNames
) -> None:
    users = UserStore(engine, layout.users, CHEAP)
    users.add("can.bo", PASSWORD, Role.PRESS_OFFICER)
    form = {"username": "can.bo", "password": PASSWORD, "csrf_token": login_form(client)}
    assert client.post("/login", data=form, follow_redirects=False).status_code in (302, 303)
    page = client.get("/alerts")
    assert page.status_code == 200
    assert "&lt;b&gt;Cảnh báo 0&lt;/b&gt;" in page.text and "<b>Cảnh báo" not in page.text
    assert re.search(r'action="/alerts/a0/resolve"', page.text)
    assert 'name="csrf_token"' in page.text
    refused = client.post("/alerts/a1/ack", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert stored.get("a1").acknowledged_by is None  # type: ignore[union-attr]
    done = client.post(
        "/alerts/a1/assign",
        data={"to": "xem", "csrf_token": session_csrf(client)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/alerts"
    alert = stored.get("a1")
    assert alert is not None and alert.assigned_to == "xem"
    assert alert.history[-1].by == "can.bo"
    filtered = client.get("/alerts", params={"kind": "complaint_touched"}).text
    assert "Cảnh báo 0" in filtered and "Cảnh báo 1" not in filtered


@pytest.mark.parametrize("alert_id", ["%3F", "0%3F0", "a%23b", "%2E%2E", "x" * 600])
def test_hostile_alert_ids_are_404(
    client: TestClient, tokens: Tokens, stored: AlertStore, alert_id: str
) -> None:
    """An id with ``?`` once reached the engine as a query string (400 from it, then 500)."""
    for action in ("ack", "resolve"):
        response = client.post(f"/api/alerts/{alert_id}/{action}", headers=tokens["admin"])
        assert response.status_code == 404, response.text
    assigned = client.post(
        f"/api/alerts/{alert_id}/assign", json={"to": "phat.ngon"}, headers=tokens["admin"]
    )
    assert assigned.status_code == 404
    assert stored.get("a0") is not None
