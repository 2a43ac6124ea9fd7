"""The complaint API with the real engine: roles, redaction, audit, deadlines, coverage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.passwords import Passwords
from api.auth.users import UserStore
from bench.matching import load_set
from complaints.privacy import REDACTED, Role
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.writer import ArticleWriter

pytestmark = pytest.mark.engine
DATA = load_set()


@pytest.fixture
def client(engine: Engine, settings, layout: IndexNames) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as http:
        yield http


@pytest.fixture
def tokens(engine: Engine, layout: IndexNames) -> dict[str, dict[str, str]]:
    """A bearer token per role (bearer requests need no CSRF token)."""
    from argon2 import PasswordHasher

    store = UserStore(
        engine, layout.users, Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    )
    found = {}
    for role in Role:
        name = f"u-{role.value}"
        store.add(name, "mat-khau-du-dai-123", role)
        found[role.value] = {"Authorization": f"Bearer {store.create_token(name).secret}"}
    return found


def _complaint_json(index: int = 0) -> dict:
    return DATA.complaints[index].model_dump(mode="json")


def test_anonymous_is_refused(client: TestClient) -> None:
    assert client.get("/api/complaints").status_code == 401
    assert client.post("/api/complaints", json=_complaint_json()).status_code == 401


def test_roles_create_read_and_redaction(client: TestClient, tokens, engine, layout) -> None:
    body = _complaint_json()
    case = body["case_number"]
    body["complainants"] = [
        {"name": "Nguyễn Thị Hoa", "id_number": "001190012345", "phone": "0912345678"}
    ]
    assert client.post("/api/complaints", json=body, headers=tokens["viewer"]).status_code == 403
    created = client.post("/api/complaints", json=body, headers=tokens["press_officer"])
    assert created.status_code == 201, created.text
    again = client.post("/api/complaints", json=body, headers=tokens["press_officer"])
    assert again.status_code == 409

    as_viewer = client.get(f"/api/complaints/{case}", headers=tokens["viewer"]).json()
    assert as_viewer["complainants"][0]["name"] == REDACTED
    as_officer = client.get(f"/api/complaints/{case}", headers=tokens["press_officer"]).json()
    assert as_officer["complainants"][0]["name"] == "Nguyễn Thị Hoa"
    assert as_officer["complainants"][0]["id_number"] in (None, REDACTED)
    as_admin = client.get(f"/api/complaints/{case}", headers=tokens["admin"]).json()
    assert as_admin["complainants"][0]["id_number"] == "001190012345"

    assert client.get("/api/audit", headers=tokens["press_officer"]).status_code == 403
    engine.refresh(layout.audit)
    entries = client.get(f"/api/audit?case={case}", headers=tokens["admin"]).json()
    assert {e["user"] for e in entries} == {"u-press_officer", "u-admin"}


def test_validation_errors_name_the_field(client: TestClient, tokens) -> None:
    body = _complaint_json()
    body["kind"] = "no_such_kind"
    body["received_date"] = "31/02/2025"
    response = client.post("/api/complaints", json=body, headers=tokens["admin"])
    assert response.status_code == 422
    fields = {tuple(error["loc"])[-1] for error in response.json()["detail"]}
    assert {"kind", "received_date"} <= fields


def test_deadlines_carry_their_rule(client: TestClient, tokens) -> None:
    body = _complaint_json()
    body["received_date"] = date(2026, 6, 30).isoformat()
    client.post("/api/complaints", json=body, headers=tokens["admin"])
    found = client.get(f"/api/complaints/{body['case_number']}/deadlines", headers=tokens["viewer"])
    assert found.status_code == 200
    deadlines = found.json()
    assert deadlines
    assert all(d["rule_id"] and d["legal_basis"] for d in deadlines)


def test_earlier_coverage_is_found_and_closing_stops_matching(
    client: TestClient, tokens, engine: Engine, layout: IndexNames
) -> None:
    case = DATA.complaints[0].case_number
    article_ids = {a for a, c in DATA.positives if c == case}
    recent = datetime.now(UTC) - timedelta(days=3)  # inside the re-search window
    articles = [
        a.model_copy(update={"published_at": recent}) for a in DATA.articles if a.id in article_ids
    ]
    assert articles
    ArticleWriter(engine, layout).write(articles, refresh=True)
    client.post("/api/complaints", json=_complaint_json(), headers=tokens["admin"])
    engine.refresh(layout.complaint_links)
    groups = client.get(f"/api/complaints/{case}/coverage", headers=tokens["viewer"]).json()
    linked = {link["article_id"] for group in groups for link in group["links"]}
    assert linked == article_ids
    assert all(link["matched_clauses"] for group in groups for link in group["links"])

    early = client.post(f"/api/complaints/{case}/close", headers=tokens["admin"])
    assert early.status_code == 409  # an accepted case is decided before it is closed
    decided = {**_complaint_json(), "status": "decided", "decision_date": "2026-11-01"}
    assert client.put(f"/api/complaints/{case}", json=decided, headers=tokens["admin"]).is_success
    closed = client.post(f"/api/complaints/{case}/close", headers=tokens["admin"])
    assert closed.status_code == 200, closed.text
    stored = engine.get(layout.complaints, _doc_id(case))
    assert stored is not None and "query" not in stored


def _doc_id(case: str) -> str:
    from complaints.register import doc_id

    return doc_id(case)


def test_unknown_case_is_404(client: TestClient, tokens) -> None:
    response = client.get("/api/complaints/99/2099/KN", headers=tokens["viewer"])
    assert response.status_code == 404


def test_hostile_case_numbers_are_4xx(client: TestClient, tokens) -> None:
    """An empty case number once addressed the engine's index instead of a document (500)."""
    for number in ("", "9" * 101):
        body = {**_complaint_json(), "case_number": number}
        created = client.post("/api/complaints", json=body, headers=tokens["admin"])
        assert created.status_code == 422, created.text
        assert created.json()["detail"][0]["loc"][-1] == "case_number"
    for method, path in (
        ("GET", "/api/complaints/"),
        ("GET", "/api/complaints//deadlines"),
        ("GET", "/api/complaints//coverage"),
        ("POST", "/api/complaints//close"),
        ("GET", "/api/complaints/" + "9" * 600),
        ("GET", "/api/complaints/a%3Fb%23c"),
    ):
        response = client.request(method, path, headers=tokens["admin"])
        assert response.status_code == 404, (method, path, response.text)


def test_import_ignores_the_uploaded_file_name(client: TestClient, tokens) -> None:
    """A 300-character suffix once made the temporary file impossible to create (500)."""
    good = Path(__file__).resolve().parents[1] / "fixtures" / "register" / "good.csv"
    for name in ("x." + "a" * 300, "../../etc/passwd", "sổ đơn.CSV"):
        response = client.post(
            "/api/complaints/import",
            params={"dry_run": "true"},
            files={"file": (name, good.read_bytes())},
            headers=tokens["admin"],
        )
        assert response.status_code == 200, (name, response.text)
    broken = client.post(
        "/api/complaints/import",
        files={"file": ("so-don.xlsx", b"not a workbook")},
        headers=tokens["admin"],
    )
    assert broken.status_code == 400 and "XLSX" in broken.json()["detail"]
