"""Searching coverage on the real engine: text, filters, facets, republications, paging, export."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from api.auth.passwords import Passwords
from api.auth.users import UserStore
from api.routes import search as search_routes
from bench.common import ArticleFactory
from complaints.privacy import Role
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames, load_template
from indexer.models import Article, Entities, EntityLocation, OutletKind
from indexer.writer import ArticleWriter

pytestmark = pytest.mark.engine
VN = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2025, 9, 10, 9, 0, tzinfo=VN)
XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)>"
CASE = "12/2026/KN"
BACKGROUND = 22


def _article(key: str, title: str, body: str, **extra: object) -> Article:
    url = f"https://test.vn/{key}.html"
    fields: dict[str, object] = {
        "outlet": "Báo Thử",
        "outlet_kind": OutletKind.NATIONAL_DAILY,
        "published_at": DAY,
        "fetched_at": DAY + timedelta(minutes=5),
        "lead": "",
        **extra,
    }
    return Article(id=article_id(url), url=url, canonical_url=url, title=title, body=body, **fields)  # type: ignore[arg-type]


ARTICLES = {
    "manh": _article("manh", "Ông Mạnh trả lời cử tri về quy hoạch", "Ông Mạnh nói rõ lộ trình."),
    "manh2": _article("manh2", "Ông Mành trả lời cử tri về quy hoạch", "Ông Mành nói rõ lộ trình."),
    "phrase": _article(
        "phrase",
        "Dân phản đối nhà máy xử lý rác Sóc Sơn",
        "Người dân lo ngại nhà máy xử lý rác gây mùi.",
        outlet="Tin Sóc Sơn",
        outlet_kind=OutletKind.PROVINCIAL_PAPER,
        province="Hà Nội",
        published_at=DAY + timedelta(days=2),
    ),
    "scattered": _article(
        "scattered",
        "Rác thải ùn ứ ở chợ",
        "Nhà máy nước cũng phải xử lý sự cố, rác chất đống.",
        published_at=DAY + timedelta(days=3),
    ),
    "crisis": _article(
        "crisis",
        "Cưỡng chế thu hồi đất tại phường Hòa Khánh",
        "Lực lượng chức năng tổ chức cưỡng chế, nhiều hộ dân bức xúc.",
        outlet="Báo Đà Nẵng",
        outlet_kind=OutletKind.PROVINCIAL_PAPER,
        province="Đà Nẵng",
        entities=Entities(
            persons=["Nguyễn Văn Lâm"],
            locations=[EntityLocation(text="Hòa Khánh", province_code="48")],
        ),
    ),
    "xss": _article("xss", f"Tin giả mạo {XSS}", f"Đoạn đầu.\n\n{XSS} đoạn hai bảo tồn."),
    "formula": _article("formula", '=HYPERLINK("http://x") tiêu đề công thức', "Thân bài."),
}
CLUSTER = [
    _article(
        f"cluster{n}",
        "Khánh thành cầu vượt biển Lạch Huyện mới",
        "Cầu vượt biển Lạch Huyện được khánh thành sáng nay.",
        outlet=outlet,
        published_at=DAY + timedelta(hours=n),
        story_cluster_id="cum-lach-huyen",
        is_original=n == 0,
    )
    for n, outlet in enumerate(("Báo Hải Phòng", "Tuổi Trẻ", "Thanh Niên"))
]


@pytest.fixture
def indexed(engine: Engine, layout: IndexNames) -> IndexNames:
    background = list(ArticleFactory(seed=7).articles(BACKGROUND))
    result = ArticleWriter(engine, layout).write(
        [*ARTICLES.values(), *CLUSTER, *background], refresh=True
    )
    assert result.created == len(ARTICLES) + len(CLUSTER) + BACKGROUND
    link = {"case_number": CASE, "article_id": ARTICLES["phrase"].id, "matched_clauses": ["place"]}
    engine.put(layout.complaint_links, "l1", link, refresh=True)
    body = load_template("saved_searches")
    engine.create_index(search_routes.saved_searches_index(layout), body)
    return layout


@pytest.fixture
def client(engine: Engine, settings: Settings, indexed: IndexNames) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine)
    if not any(getattr(r, "path", "") == "/api/search" for r in app.routes):
        app.include_router(search_routes.router)
    with TestClient(app) as http:
        yield http


@pytest.fixture
def auth(engine: Engine, indexed: IndexNames) -> dict[str, str]:
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    store = UserStore(engine, indexed.users, Passwords(hasher))
    store.add("u-viewer", "mat-khau-du-dai-123", Role.VIEWER)
    return {"Authorization": f"Bearer {store.create_token('u-viewer').secret}"}


def _ids(client: TestClient, auth: dict[str, str], **params: Any) -> list[str]:
    response = client.get("/api/search", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_api_needs_sign_in(client: TestClient) -> None:
    assert client.get("/api/search", params={"q": "rác"}).status_code == 401
    assert client.get("/api/search/export").status_code == 401
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_diacritics_optional_and_exact_first(client: TestClient, auth: dict[str, str]) -> None:
    with_marks = _ids(client, auth, q="cưỡng chế Hòa Khánh")
    without = _ids(client, auth, q="cuong che hoa khanh")
    assert with_marks[0] == without[0] == ARTICLES["crisis"].id
    exact = _ids(client, auth, q="Mạnh")
    assert exact[0] == ARTICLES["manh"].id and ARTICLES["manh2"].id in exact
    assert _ids(client, auth, q="Mành")[0] == ARTICLES["manh2"].id


def test_phrase_and_not(client: TestClient, auth: dict[str, str]) -> None:
    loose = _ids(client, auth, q="nhà máy xử lý rác")
    assert {ARTICLES["phrase"].id, ARTICLES["scattered"].id} <= set(loose)
    assert _ids(client, auth, q='"nhà máy xử lý rác"') == [ARTICLES["phrase"].id]
    assert _ids(client, auth, q="rác NOT Sơn") == [ARTICLES["scattered"].id]
    assert _ids(client, auth, q="rác -son") == [ARTICLES["scattered"].id]
    either = _ids(client, auth, q="Mạnh OR Lạch")
    assert {ARTICLES["manh"].id, CLUSTER[0].id} <= set(either)


def test_filters(client: TestClient, auth: dict[str, str]) -> None:
    phrase, crisis = ARTICLES["phrase"].id, ARTICLES["crisis"].id
    assert _ids(client, auth, outlet="Tin Sóc Sơn") == [phrase]
    assert set(_ids(client, auth, outlet=["Tin Sóc Sơn", "Báo Đà Nẵng"])) == {phrase, crisis}
    assert _ids(client, auth, province="Đà Nẵng") == [crisis]
    kinds = _ids(client, auth, outlet_kind="provincial_paper", **{"from": "2025-09-10"})
    assert phrase in kinds and crisis in kinds
    # 2025-09-12 09:00 Vietnam time is still 2025-09-12 although it is 02:00 UTC
    assert _ids(client, auth, q="rác", **{"from": "2025-09-12", "to": "2025-09-12"}) == [phrase]
    assert _ids(client, auth, complaint=CASE) == [phrase]
    assert _ids(client, auth, complaint="99/2099/KN") == []
    assert _ids(client, auth, entity="nguyen van lam") == [crisis]
    assert crisis in _ids(client, auth, crisis="true", size=100)
    assert ARTICLES["manh"].id not in _ids(client, auth, crisis="true", size=100)


def test_facets_timeline_and_highlight(client: TestClient, auth: dict[str, str]) -> None:
    body = client.get("/api/search", params={"q": "cưỡng chế"}, headers=auth).json()
    outlets = {f["value"]: f["count"] for f in body["facets"]["outlet"]}
    assert outlets.get("Báo Đà Nẵng") == 1
    assert {"value": "Hòa Khánh", "count": 1} in body["facets"]["location"]
    assert sum(b["count"] for b in body["timeline"]) == body["total"]
    first = body["results"][0]
    assert "<mark>" in first["title_html"] and "<mark>" in first["snippet_html"]
    everything = client.get("/api/search", params={"size": 1}, headers=auth).json()
    kinds = {f["value"]: f["count"] for f in everything["facets"]["outlet_kind"]}
    assert sum(kinds.values()) == len(ARTICLES) + len(CLUSTER) + BACKGROUND


def test_republications_are_collapsed_under_the_original(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = client.get("/api/search", params={"q": "Lạch Huyện"}, headers=auth).json()
    assert [r["id"] for r in body["results"]] == [CLUSTER[0].id]
    story = body["results"][0]
    assert story["carried_by"] == 3 and story["cluster_articles"] == 3
    assert [c["id"] for c in story["carriers"]] == [a.id for a in CLUSTER]
    first = story["carriers"][0]
    assert (first["outlet"], first["url"], first["is_original"]) == (
        CLUSTER[0].outlet,
        CLUSTER[0].url,
        True,
    )
    assert datetime.fromisoformat(first["published_at"]) == CLUSTER[0].published_at
    assert first["published_at"].endswith("+07:00")
    assert sum(f["count"] for f in body["facets"]["outlet"]) == 3


def test_search_after_pages_are_disjoint(client: TestClient, auth: dict[str, str]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"size": 7, "sort": "date"}
    for _ in range(20):
        body = client.get("/api/search", params=params, headers=auth).json()
        seen.extend(r["id"] for r in body["results"])
        if not body["next"]:
            break
        params["cursor"] = body["next"]
    stories = len(ARTICLES) + 1 + BACKGROUND
    assert len(seen) == len(set(seen)) == stories


def test_export_csv_and_xlsx(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/api/search/export", params={"format": "csv"}, headers=auth)
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(ARTICLES) + len(CLUSTER) + BACKGROUND
    titles = {row[0] for row in rows[1:]}
    assert any(t.startswith("'=HYPERLINK") for t in titles)
    assert not any(t[:1] in "=+-@" for t in titles)
    crisis = next(row for row in rows if row[0].startswith("Cưỡng chế"))
    assert crisis[1] == "Báo Đà Nẵng" and crisis[2].startswith("2025-09-10T09:00:00+07:00")

    xlsx = client.get(
        "/api/search/export", params={"format": "xlsx", "q": "Lạch Huyện"}, headers=auth
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Tiêu đề" and len(values) == 1 + len(CLUSTER)
    assert {v[6] for v in values[1:]} == {"cum-lach-huyen"}


@pytest.mark.parametrize(
    "query",
    [
        '"nhà máy',
        "*:*",
        "title:/.*/",
        "/.*a.*/",
        "((((",
        "a~999 b^99 c*",
        "<script>alert(1)</script>",
        '{"script": {"source": "1"}}',
        "\x00\x01 -",
        "NOT",
        "x" * 500,
        "|".join(f"{chr(97 + n % 26)}{n // 26}" for n in range(166)),
        " ".join(f"{chr(97 + n % 26)}{n // 26}*" for n in range(125)),
    ],
)
def test_hostile_queries_never_fail(client: TestClient, auth: dict[str, str], query: str) -> None:
    api = client.get("/api/search", params={"q": query}, headers=auth)
    assert api.status_code in (200, 422), api.text
    if api.status_code == 422:
        assert "không chấp nhận" in api.json()["detail"]
    assert client.get("/", params={"q": query}, headers=auth).status_code == api.status_code


def test_bad_input_is_422_with_a_message(client: TestClient, auth: dict[str, str]) -> None:
    for params in (
        {"q": "x" * 501},
        {"size": 101},
        {"from": "31/02/2025"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W3siYSI6MX1d"},
        {"sort": "random"},
    ):
        response = client.get("/api/search", params=params, headers=auth)
        assert response.status_code == 422, params
    long = client.get("/api/search", params={"q": "x" * 501}, headers=auth).json()
    assert "500" in long["detail"] and "ký tự" in long["detail"]
    assert client.get("/", params={"q": "x" * 501}, headers=auth).status_code == 422


def test_xss_payload_is_escaped_on_pages(client: TestClient, auth: dict[str, str]) -> None:
    for params in ({"q": "giả mạo"}, {"q": "bảo tồn"}, {"outlet": "Báo Thử"}):
        page = client.get("/", params=params, headers=auth)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)" in page.text
    hit = client.get("/", params={"q": "giả mạo"}, headers=auth).text
    assert "<mark>" in hit
    article = client.get(f"/articles/{ARTICLES['xss'].id}", headers=auth)
    assert article.status_code == 200
    assert "<script>alert(1)" not in article.text and "<img src=x" not in article.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in article.text
    linked = client.get(f"/articles/{ARTICLES['phrase'].id}", headers=auth).text
    assert CASE in linked
    assert client.get("/articles/nope", headers=auth).status_code == 404


def test_search_page_shows_republications_and_next_link(
    client: TestClient, auth: dict[str, str]
) -> None:
    page = client.get("/", params={"q": "Lạch Huyện"}, headers=auth).text
    assert "đăng lại bởi 2 báo" in page
    assert "<meter" in page and "style=" not in page
    everything = client.get("/", headers=auth).text
    assert 'rel="next"' in everything


def test_saved_searches(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    body = {"name": "Sóc Sơn", "query": "rác", "filters": {"province": "Hà Nội"}, "alert": True}
    created = client.post("/api/saved-searches", json=body, headers=auth)
    assert created.status_code == 201, created.text
    saved = client.get("/api/saved-searches", headers=auth).json()
    assert [(s["name"], s["alert"], s["owner"]) for s in saved] == [("Sóc Sơn", True, "u-viewer")]
    assert client.post("/api/saved-searches", json=body).status_code == 401
    gone = client.delete(f"/api/saved-searches/{saved[0]['id']}", headers=auth)
    assert gone.status_code == 204
    assert client.get("/api/saved-searches", headers=auth).json() == []
    assert client.delete(f"/api/saved-searches/{saved[0]['id']}", headers=auth).status_code == 404


def test_dates_out_of_range_are_422_not_500(client: TestClient, auth: dict[str, str]) -> None:
    """``to=9999-12-31`` once overflowed (the day after it does not exist) into a 500."""
    for params in ({"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "1899-12-31"}):
        for path in ("/api/search", "/api/search/export"):
            response = client.get(path, params=params, headers=auth)
            assert response.status_code == 422, (path, params, response.text)
            assert "1900" in response.json()["detail"]
    assert client.get("/", params={"to": "9999-12-31"}, headers=auth).status_code == 422


def test_answers_are_reused_until_new_articles_become_searchable(
    engine: Engine, settings: Settings, indexed: IndexNames, auth: dict[str, str]
) -> None:
    """The kept answer of a search ends when an article index refreshes with news."""
    app = create_app(settings, engine=engine)
    if not any(getattr(r, "path", "") == "/api/search" for r in app.routes):
        app.include_router(search_routes.router)
    fresh = _article("cang", "Cảng cá Nghi Sơn mở rộng", "Cảng cá Nghi Sơn mở rộng bến.")
    with TestClient(app) as http:
        kept = app.state.search_answers.cache.stats
        assert _ids(http, auth, q="cang ca nghi son") == []
        again = http.get("/api/search", params={"q": "cang ca nghi son"}, headers=auth).json()
        assert again["reused"] is True and again["results"] == []
        assert (kept.misses, kept.hits) == (1, 1)
        ArticleWriter(engine, indexed).write([fresh], refresh=True)
        time.sleep(1.2)  # the generation is asked of the engine at most once a second
        assert _ids(http, auth, q="cang ca nghi son") == [fresh.id]
        assert _ids(http, auth, q="cảng cá Nghi Sơn") == [fresh.id]
        assert kept.misses == 3
