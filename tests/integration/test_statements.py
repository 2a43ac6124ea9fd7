"""Statements over HTTP with the real engine: draft, versions, approve/issue by role, export,
the on-time KPI, and the complaint page (escaped article text)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import docx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.model import OutboxAlert
from alerts.store import AlertStore
from api.app import create_app
from api.auth.passwords import Passwords
from api.auth.users import UserStore
from api.routes import alerts, complaint_pages, statements
from complaints.factory import build_register
from complaints.links import ComplaintLink, store_links
from complaints.privacy import Role
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames, load_template
from indexer.models import (
    AlertKind,
    Complainant,
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    Severity,
)
from statements.store import kpi, statements_index

pytestmark = pytest.mark.engine
CASE = "20/2026/KN"
XSS_SUMMARY = "<script>alert('tom-tat')</script> dân khiếu nại giá bồi thường"
XSS_TITLE = "<img src=x onerror=alert('tieu-de')> Dân bức xúc vì bồi thường"


def build_app(settings: Settings, engine: Engine) -> FastAPI:
    """The app with this component's routers (statement pages before the case catch-all)."""
    app = create_app(settings, engine=engine)
    if "/api/alerts" not in {getattr(r, "path", "") for r in app.routes}:
        for router in (
            statements.router,
            statements.pages,
            alerts.router,
            alerts.pages,
            complaint_pages.router,
        ):
            app.include_router(router)
    return app


@pytest.fixture
def statement_index(engine: Engine, layout: IndexNames) -> Iterator[str]:
    name = statements_index(layout)
    engine.create_index(name, load_template("statements"))
    yield name
    engine.delete_index(name)


@pytest.fixture
def client(
    engine: Engine, settings: Settings, layout: IndexNames, statement_index: str
) -> Iterator[TestClient]:
    with TestClient(build_app(settings, engine)) as http:
        yield http


Tokens = dict[str, dict[str, str]]


def make_tokens(engine: Engine, layout: IndexNames) -> Tokens:
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


@pytest.fixture
def tokens(engine: Engine, layout: IndexNames) -> Tokens:
    return make_tokens(engine, layout)


def seed_case(engine: Engine, names: IndexNames, case: str = CASE, alert_age_h: float = 2) -> None:
    """A case with a phone and ID number, two linked stories and one alert."""
    complaint = Complaint(
        case_number=case,
        kind=ComplaintKind.COMPLAINT,
        received_date=date(2026, 3, 2),
        acceptance_date=date(2026, 3, 9),
        status=ComplaintStatus.ACCEPTED,
        complainants=[
            Complainant(name="Phạm Thị Hạnh", id_number="001190012345", phone="0912345678")
        ],
        respondent="UBND xã Tả Thanh Oai",
        summary=XSS_SUMMARY + " (bà Phạm Thị Hạnh, 0912345678)",
    )
    build_register(engine, names, 30).upsert(complaint, "seed", refresh=True)
    now = datetime.now(UTC)
    store_links(
        engine,
        names,
        [
            ComplaintLink(
                case_number=case,
                article_id=f"{case}-a1",
                outlet="Tuổi Trẻ",
                url="javascript:alert(1)",
                title=XSS_TITLE,
                published_at=now - timedelta(days=1),
                matched_clauses=["project"],
                snippets=["giá <em>bồi thường</em> thấp"],
                linked_at=now,
            ),
            ComplaintLink(
                case_number=case,
                article_id=f"{case}-a2",
                outlet="Thanh Niên",
                url="https://thanhnien.vn/a2.html",
                title="Thu hồi đất ở Tả Thanh Oai",
                published_at=now - timedelta(hours=5),
                matched_clauses=["place"],
                linked_at=now,
            ),
        ],
    )
    engine.refresh(names.complaint_links)
    AlertStore(engine, names).create(
        OutboxAlert(
            id=f"alert-{abs(hash(case))}",
            kind=AlertKind.COMPLAINT_TOUCHED,
            severity=Severity.HIGH,
            title=f"Báo chí đưa tin về hồ sơ {case}",
            reason="2 bài mới",
            created_at=now - timedelta(hours=alert_age_h),
            complaint_case=case,
            subject_key=case,
        )
    )


def _draft(
    client: TestClient, tokens: Tokens, case: str = CASE, ids: list[str] | None = None
) -> dict[str, Any]:
    body = {
        "story_ids": ids if ids is not None else [f"{case}-a1", f"{case}-a2"],
        "agency": {"name": "UBND huyện Thanh Trì", "place": "Hà Nội"},
        "spokesperson": {"name": "Lê Minh Tâm", "title": "Chánh Văn phòng"},
    }
    response = client.post(
        f"/api/complaints/{case}/statements", json=body, headers=tokens["press_officer"]
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_draft_from_case_and_chosen_stories(
    client: TestClient, tokens: Tokens, engine: Engine, layout: IndexNames
) -> None:
    seed_case(engine, layout)
    statement = _draft(client, tokens)
    text = statement["versions"][0]["text"]
    assert "Tuổi Trẻ" in text and "Thu hồi đất ở Tả Thanh Oai" in text
    assert "09/03/2026" in text and "Lê Minh Tâm" in text
    assert "0912345678" not in re.sub(r"\D", "", text) and "Hạnh" not in text
    assert "001190012345" not in re.sub(r"\D", "", text)
    assert statement["status"] == "draft" and statement["created_by"] == "u-press_officer"
    unknown = client.post(
        f"/api/complaints/{CASE}/statements",
        json={"story_ids": ["nope"]},
        headers=tokens["press_officer"],
    )
    assert unknown.status_code == 422
    viewer = client.post(f"/api/complaints/{CASE}/statements", json={}, headers=tokens["viewer"])
    assert viewer.status_code == 403
    missing = client.post("/api/complaints/KHONG-CO/statements", json={}, headers=tokens["admin"])
    assert missing.status_code == 404


def test_versions_and_approval_by_role(
    client: TestClient, tokens: Tokens, engine: Engine, layout: IndexNames
) -> None:
    seed_case(engine, layout)
    sid = _draft(client, tokens)["id"]
    edited = client.put(
        f"/api/statements/{sid}",
        json={"text": "Nội dung đã sửa", "note": "sửa"},
        headers=tokens["press_officer"],
    )
    assert edited.status_code == 200
    versions = client.get(f"/api/statements/{sid}", headers=tokens["viewer"]).json()["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["by"] == "u-press_officer" and versions[1]["text"] == "Nội dung đã sửa"

    assert (
        client.post(f"/api/statements/{sid}/approve", headers=tokens["press_officer"]).status_code
        == 403
    )
    assert (
        client.post(f"/api/statements/{sid}/issue", headers=tokens["spokesperson"]).status_code
        == 409
    )  # not approved yet
    approved = client.post(f"/api/statements/{sid}/approve", headers=tokens["spokesperson"])
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_by"] == "u-spokesperson"
    assert (
        client.post(f"/api/statements/{sid}/issue", headers=tokens["press_officer"]).status_code
        == 403
    )
    issued = client.post(f"/api/statements/{sid}/issue", headers=tokens["admin"]).json()
    assert issued["status"] == "issued" and issued["issued_by"] == "u-admin"
    assert issued["on_time"] is True and issued["first_alert_at"]
    again = client.put(
        f"/api/statements/{sid}", json={"text": "muộn"}, headers=tokens["press_officer"]
    )
    assert again.status_code == 409


def test_on_time_kpi(
    client: TestClient, tokens: Tokens, engine: Engine, layout: IndexNames
) -> None:
    seed_case(engine, layout, "KN-SOM", alert_age_h=3)
    seed_case(engine, layout, "KN-MUON", alert_age_h=30)
    for case in ("KN-SOM", "KN-MUON"):
        sid = _draft(client, tokens, case)["id"]
        client.post(f"/api/statements/{sid}/approve", headers=tokens["spokesperson"])
        issued = client.post(f"/api/statements/{sid}/issue", headers=tokens["spokesperson"])
        assert issued.json()["on_time"] is (case == "KN-SOM")
    since = datetime.now(UTC) - timedelta(days=1)
    assert kpi(engine, layout, since) == {"issued": 2, "issued_on_time": 1, "without_alert": 0}


def test_exports_open(
    client: TestClient, tokens: Tokens, engine: Engine, layout: IndexNames
) -> None:
    seed_case(engine, layout)
    sid = _draft(client, tokens)["id"]
    word = client.get(f"/api/statements/{sid}.docx", headers=tokens["viewer"])
    assert word.status_code == 200
    document = docx.Document(io.BytesIO(word.content))
    assert "THÔNG CÁO BÁO CHÍ" in [p.text for p in document.paragraphs]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in document.tables[0].rows[0].cells[1].text
    markdown = client.get(f"/api/statements/{sid}.md", headers=tokens["viewer"])
    assert markdown.status_code == 200 and "## Sự việc" in markdown.text


def test_complaint_page_escapes_article_text(
    client: TestClient, tokens: Tokens, engine: Engine, layout: IndexNames
) -> None:
    seed_case(engine, layout)
    page = client.get(f"/complaints/{CASE}", headers=tokens["press_officer"])
    assert page.status_code == 200, page.text
    html = page.text
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;img src=x onerror=" in html
    assert 'href="javascript:' not in html
    assert "Luật Khiếu nại 2011" in html and "khieu-nai." in html  # deadline, rule, basis
    assert 'name="story_ids"' in html and 'name="csrf_token"' in html
    assert "Báo chí đưa tin về hồ sơ" in html  # alerts of the case
    as_viewer = client.get(f"/complaints/{CASE}", headers=tokens["viewer"]).text
    assert "Phạm Thị Hạnh" not in as_viewer and "0912345678" not in as_viewer
    listing = client.get("/complaints", headers=tokens["viewer"])
    assert listing.status_code == 200 and CASE in listing.text
    assert "<script>alert(" not in listing.text


def test_statement_pages_form_flow(
    client: TestClient, tokens: Tokens, engine: Engine, layout: IndexNames
) -> None:
    seed_case(engine, layout)
    created = client.post(
        f"/complaints/{CASE}/statement",
        headers=tokens["press_officer"],
        data={"story_ids": [f"{CASE}-a2"], "agency_name": "UBND huyện"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    target = created.headers["location"]
    sid = target.rsplit("/", 1)[1]
    page = client.get(target, headers=tokens["press_officer"])
    assert page.status_code == 200 and "<textarea" in page.text and "Duyệt" not in page.text
    assert (
        client.get(
            f"/complaints/{CASE}/statement", headers=tokens["viewer"], follow_redirects=False
        ).headers["location"]
        == target
    )
    saved = client.post(
        f"{target}/edit",
        data={"text": "<b>sửa</b>"},
        headers=tokens["press_officer"],
        follow_redirects=False,
    )
    assert saved.status_code == 303
    signer_page = client.get(target, headers=tokens["spokesperson"]).text
    assert "Duyệt" in signer_page and "&lt;b&gt;sửa&lt;/b&gt;" in signer_page
    denied = client.post(f"{target}/approve", headers=tokens["press_officer"])
    assert denied.status_code == 403
    client.post(f"{target}/approve", headers=tokens["spokesperson"], follow_redirects=False)
    stored = client.get(f"/api/statements/{sid}", headers=tokens["viewer"]).json()
    assert stored["status"] == "approved" and len(stored["versions"]) == 2


@pytest.mark.parametrize("statement_id", ["%3F", "a%3Fb", "a%23b", "%2E%2E", "x" * 600])
def test_hostile_statement_ids_are_404(
    client: TestClient, tokens: Tokens, statement_id: str
) -> None:
    """An id with ``?`` or ``#`` reached the engine unescaped, as a query string or fragment."""
    viewer, admin = tokens["viewer"], tokens["admin"]
    for suffix in ("", ".md", ".docx"):
        found = client.get(f"/api/statements/{statement_id}{suffix}", headers=viewer)
        assert found.status_code == 404, found.text
    edited = client.put(f"/api/statements/{statement_id}", json={"text": "x"}, headers=admin)
    assert edited.status_code == 404
    for step in ("approve", "issue"):
        assert (
            client.post(f"/api/statements/{statement_id}/{step}", headers=admin).status_code == 404
        )
