"""Sign-in, sessions, CSRF, API tokens, roles and the users CLI against the real engine.

The app is built the way `create_app` does it in production: `create_app(settings, engine)`,
then `install_auth` and `security_headers`, plus a few dummy routes guarded by the
dependencies other routes will use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from api.app import create_app
from api.auth import (
    CurrentUser,
    Passwords,
    User,
    require_at_least,
    require_role,
)
from api.auth.users import UserStore, ensure_users_index, users_index
from complaints.privacy import Role
from diemnong.commands.users import app as users_app
from diemnong.settings import ApiSettings, Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames

pytestmark = pytest.mark.engine

PASSWORD = "mật-khẩu-đủ-dài-2026"
CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
Admin = Annotated[User, Depends(require_role(Role.ADMIN))]
CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"api": ApiSettings(secret_key=SecretStr("s" * 48))})


@pytest.fixture
def store(engine: Engine, names: IndexNames, auth_settings: Settings) -> Iterator[UserStore]:
    index = users_index(names)
    ensure_users_index(engine, index, auth_settings.index)
    users = UserStore(engine, index, CHEAP)
    users.add("quan.tri", PASSWORD, Role.ADMIN, display_name="Quản trị")
    users.add("Phát.Ngôn", PASSWORD, Role.SPOKESPERSON)
    users.add("xem", PASSWORD, Role.VIEWER)
    yield users
    engine.delete_index(index)


def build_app(settings: Settings, engine: Engine) -> FastAPI:
    """The production app plus dummy routes guarded by the auth dependencies."""
    app = create_app(settings, engine=engine)
    app.state.auth.passwords = CHEAP  # the users below were hashed cheaply: no slow rehash

    @app.get("/api/admin-only")
    def admin_only(user: Admin) -> dict[str, str]:
        return {"user": user.username}

    @app.post("/api/notes", dependencies=[Depends(require_at_least(Role.SPOKESPERSON))])
    def add_note(user: CurrentUser) -> dict[str, str]:
        return {"by": user.username}

    @app.get("/reports", response_class=HTMLResponse)
    def reports(user: CurrentUser, request: Request) -> str:
        form = app.state.templates.env.from_string(
            '<form method="post"><input name="csrf_token" value="{{ csrf_token(request) }}">'
        )
        return f"<h1>Báo cáo của {user.username}</h1>" + str(form.render(request=request))

    @app.get("/settings-page", response_class=HTMLResponse)
    def settings_page(_: Admin) -> str:
        return "<h1>Cài đặt</h1>"

    return app


@pytest.fixture
def client(auth_settings: Settings, engine: Engine, store: UserStore) -> Iterator[TestClient]:
    with TestClient(build_app(auth_settings, engine), follow_redirects=False) as test_client:
        yield test_client


def login_form(client: TestClient, next_: str = "/") -> str:
    page = client.get("/login", params={"next": next_})
    assert page.status_code == 200, page.text
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/") -> Any:
    token = login_form(client, next_)
    form = {"username": username, "password": password, "csrf_token": token, "next": next_}
    return client.post("/login", data=form)


def session_csrf(client: TestClient) -> str:
    me = client.get("/api/me")
    assert me.status_code == 200, me.text
    token = me.json()["csrf_token"]
    assert isinstance(token, str)
    return token


# -- signing in ------------------------------------------------------------------------------


def test_sign_in_sets_a_safe_session_cookie(client: TestClient) -> None:
    page = client.get("/login")
    assert "Đăng nhập" in page.text and 'lang="vi"' in page.text
    assert "<script" not in page.text
    done = sign_in(client, "PHÁT.NGÔN", next_="/reports?tuan=12")
    assert done.status_code == 303
    assert done.headers["location"] == "/reports?tuan=12"
    cookie = done.headers["set-cookie"]
    assert "diemnong_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    me = client.get("/api/me").json()
    assert me["username"] == "phát.ngôn" and me["role"] == "spokesperson"
    assert me["auth"] == "session"
    assert client.get("/reports?tuan=12").status_code == 200


def test_wrong_password_then_rate_limit(client: TestClient) -> None:
    for _ in range(5):
        failed = sign_in(client, "xem", "mật khẩu sai hoàn toàn")
        assert failed.status_code == 401
        assert "không đúng" in failed.text
        assert "diemnong_session" not in client.get("/api/me").text
    blocked = sign_in(client, "xem", PASSWORD)
    assert blocked.status_code == 429
    assert "quá nhiều lần" in blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 300
    assert client.get("/api/me").status_code == 401
    assert sign_in(client, "quan.tri").status_code == 303, "other users are not locked out"


def test_unknown_user_fails_like_a_wrong_password(client: TestClient) -> None:
    failed = sign_in(client, "khong.ton.tai")
    assert failed.status_code == 401 and "không đúng" in failed.text


def test_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    login_form(client)
    forged = client.post(
        "/login", data={"username": "quan.tri", "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert "hết hạn" in forged.text
    assert client.get("/api/me").status_code == 401


def test_open_redirects_are_refused(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        done = sign_in(client, "xem", next_=target)
        assert done.status_code == 303
        assert done.headers["location"] == "/"
    again = client.get("/login", params={"next": "//evil.example"})
    assert again.status_code == 303 and again.headers["location"] == "/"


def test_sign_out_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    sign_in(client, "xem")
    assert client.post("/logout").status_code == 403
    assert client.get("/api/me").status_code == 200
    out = client.post("/logout", data={"csrf_token": session_csrf(client)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/api/me").status_code == 401


# -- CSRF, tokens, disabled users ------------------------------------------------------------


def test_csrf_is_required_with_a_session_and_not_with_a_token(
    client: TestClient, store: UserStore
) -> None:
    sign_in(client, "phát.ngôn")
    missing = client.post("/api/notes")
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["detail"]
    token = session_csrf(client)
    assert client.post("/api/notes", headers={"X-CSRF-Token": token}).status_code == 200
    page = client.get("/reports")
    form_token = CSRF_INPUT.search(page.text)
    assert form_token and form_token.group(1) == token
    assert client.post("/api/notes", data={"csrf_token": token}).json() == {"by": "phát.ngôn"}

    secret = store.create_token("phát.ngôn", "báo cáo").secret
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/notes", headers=bearer).json() == {"by": "phát.ngôn"}


def test_tokens_create_use_revoke(client: TestClient, store: UserStore) -> None:
    sign_in(client, "quan.tri")
    csrf = {"X-CSRF-Token": session_csrf(client)}
    created = client.post("/api/tokens", json={"name": "máy báo cáo"}, headers=csrf)
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["token"]
    assert secret.startswith(f"dn_{body['id']}_")
    assert created.headers["cache-control"] == "no-store"

    listed = client.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert secret not in client.get("/api/tokens").text

    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/me", headers=bearer).json()
    assert me["auth"] == "token" and me["csrf_token"] is None
    again = client.post("/api/tokens", json={}, headers=bearer)
    assert again.status_code == 403, "a token cannot mint tokens"

    other = store.create_token("xem").token.id
    assert client.delete(f"/api/tokens/{other}", headers=bearer).status_code == 204, "admin"
    xem_secret = store.create_token("xem").secret
    xem = {"Authorization": f"Bearer {xem_secret}"}
    assert client.delete(f"/api/tokens/{body['id']}", headers=xem).status_code == 404

    assert client.delete(f"/api/tokens/{body['id']}", headers=bearer).status_code == 204
    revoked = client.get("/api/me", headers=bearer)
    assert revoked.status_code == 401
    assert "thu hồi" in revoked.json()["detail"]
    tampered = {"Authorization": f"Bearer {xem_secret[:-4]}AAAA"}
    assert client.get("/api/me", headers=tampered).status_code == 401
    assert client.get("/api/me", headers=xem).status_code == 200


def test_disabled_user_loses_sessions_tokens_and_sign_in(
    client: TestClient, store: UserStore
) -> None:
    secret = store.create_token("xem").secret
    sign_in(client, "xem")
    assert client.get("/api/me").status_code == 200
    store.disable("xem")
    assert client.get("/api/me").status_code == 401
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/me", headers=bearer).status_code == 401
    client.cookies.clear()
    assert sign_in(client, "xem").status_code == 401
    store.disable("xem", disabled=False)
    assert client.get("/api/me", headers=bearer).status_code == 200


# -- roles, errors, headers ------------------------------------------------------------------


def test_roles_answer_401_403_200(client: TestClient, store: UserStore) -> None:
    anonymous = client.get("/api/admin-only")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"].startswith("Bạn chưa đăng nhập")
    assert anonymous.headers["www-authenticate"] == "Bearer"

    sign_in(client, "xem")
    denied = client.get("/api/admin-only")
    assert denied.status_code == 403 and "không có quyền" in denied.json()["detail"]
    page = client.get("/settings-page")
    assert page.status_code == 403
    assert "Không có quyền truy cập" in page.text and "text/html" in page.headers["content-type"]
    csrf = {"X-CSRF-Token": session_csrf(client)}
    assert client.post("/api/notes", headers=csrf).status_code == 403

    store.set_role("xem", Role.ADMIN)
    assert client.get("/api/admin-only").json() == {"user": "xem"}
    assert client.post("/api/notes", headers=csrf).status_code == 200


def test_html_routes_send_strangers_to_sign_in(client: TestClient) -> None:
    page = client.get("/reports?tinh=ha-noi&tuan=12")
    assert page.status_code == 303
    target = urlsplit(page.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query) == {"next": ["/reports?tinh=ha-noi&tuan=12"]}
    done = sign_in(client, "xem", next_=parse_qs(target.query)["next"][0])
    assert done.headers["location"] == "/reports?tinh=ha-noi&tuan=12"


def test_health_stays_public_and_headers_are_set(client: TestClient) -> None:
    for path in ("/api/health", "/health"):
        response = client.get(path)
        assert response.status_code in (200, 503)
        assert "location" not in response.headers
    headers = client.get("/login").headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


# -- the command line ------------------------------------------------------------------------


def test_cli_users_add_list_token_disable(
    engine: Engine, names: IndexNames, auth_settings: Settings
) -> None:
    env = {
        "DIEMNONG_ENGINE__URL": str(auth_settings.engine.url),
        "DIEMNONG_INDEX__PREFIX": names.prefix,
        "COLUMNS": "200",
    }
    runner = CliRunner()
    try:
        added = runner.invoke(
            users_app,
            ["add", "Trần.Bình", "--role", "press_officer", "--password-stdin"],
            input=f"{PASSWORD}\n",
            env=env,
        )
        assert added.exit_code == 0, added.output
        assert "trần.bình" in added.output
        weak = runner.invoke(
            users_app, ["add", "ngan", "--role", "viewer"], input="ngan\nngan\n", env=env
        )
        assert weak.exit_code == 1 and "ít nhất 10" in weak.output
        mismatch = f"{PASSWORD}\nkhác-hẳn-mật-khẩu\n{PASSWORD}\n{PASSWORD}\n"
        prompted = runner.invoke(
            users_app, ["add", "lan", "--role", "admin"], input=mismatch, env=env
        )
        assert prompted.exit_code == 0, prompted.output
        twice = runner.invoke(
            users_app,
            ["add", "lan", "--role", "admin", "--password-stdin"],
            input=f"{PASSWORD}\n",
            env=env,
        )
        assert twice.exit_code == 1 and "đã tồn tại" in twice.output

        store = UserStore(engine, users_index(names), CHEAP)
        user = store.verify("TRẦN.BÌNH", PASSWORD)
        assert user is not None and user.role is Role.PRESS_OFFICER
        listed = runner.invoke(users_app, ["list"], env=env)
        assert "trần.bình" in listed.output and "lan" in listed.output

        made = runner.invoke(users_app, ["token", "trần.bình", "--name", "ci"], env=env)
        assert made.exit_code == 0, made.output
        secret = made.stdout.strip().splitlines()[-1]
        found = store.user_for_token(secret)
        assert found is not None and found[0].username == "trần.bình"

        assert runner.invoke(users_app, ["set-role", "lan", "viewer"], env=env).exit_code == 0
        assert runner.invoke(users_app, ["disable", "trần.bình"], env=env).exit_code == 0
        assert store.user_for_token(secret) is None
        assert store.verify("trần.bình", PASSWORD) is None
        lan = store.get("lan")
        assert lan is not None and lan.role is Role.VIEWER
        missing = runner.invoke(users_app, ["disable", "khong.co"], env=env)
        assert missing.exit_code == 1 and "không có người dùng" in missing.output
    finally:
        engine.delete_index(users_index(names))
