"""The pieces of sign-in that need no engine: names, passwords, limiter, redirects, cookies."""

from __future__ import annotations

import unicodedata

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from api.app import create_app
from api.auth import MissingSecretKey, install_auth, security_headers
from api.auth.csrf import csrf_token, token_matches
from api.auth.errors import safe_next
from api.auth.passwords import Passwords, WeakPassword, check_strength
from api.auth.ratelimit import LoginLimiter, too_many_message
from api.auth.sessions import COOKIE, SessionCookies
from api.auth.users import InvalidUsername, normalize_username
from diemnong.settings import ApiSettings, Settings
from tests.support.clock import ManualClock

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
KEY = "k" * 40


# -- user names and passwords ----------------------------------------------------------------


def test_user_names_have_one_spelling() -> None:
    decomposed = unicodedata.normalize("NFD", "  Nguyễn.Văn.AN ")
    assert decomposed.strip() != "nguyễn.văn.an"
    assert normalize_username(decomposed) == "nguyễn.văn.an"
    assert normalize_username("Cb.PhatNgon@HaNoi") == "cb.phatngon@hanoi"


@pytest.mark.parametrize("raw", ["", "a", "có dấu cách", "user:x", "../admin", "_x", "a" * 65])
def test_odd_user_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidUsername):
        normalize_username(raw)


def test_password_policy() -> None:
    with pytest.raises(WeakPassword, match="ít nhất 10"):
        check_strength("ngan-qua")
    with pytest.raises(WeakPassword, match="trùng tên"):
        check_strength("Phat.Ngon.Vien", "phat.ngon.vien")
    with pytest.raises(WeakPassword, match="quá dài"):
        check_strength("x" * 1025)
    check_strength("mật khẩu đủ dài", "phat.ngon.vien")


def test_passwords_hash_verify_and_rehash() -> None:
    passwords = Passwords(CHEAP)
    stored = passwords.hash("mật khẩu đủ dài")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "mật khẩu đủ dài")
    assert not passwords.verify(stored, "mật khẩu sai rồi")
    assert not passwords.verify(None, "mật khẩu đủ dài")
    assert not passwords.verify("not-a-hash", "mật khẩu đủ dài")
    assert not passwords.needs_rehash(stored)
    assert Passwords(PasswordHasher(time_cost=2, memory_cost=2048)).needs_rehash(stored)


# -- the sign-in limiter ---------------------------------------------------------------------


def test_limiter_blocks_a_user_name_for_the_window() -> None:
    clock = ManualClock(1000.0)
    limiter = LoginLimiter(per_user=5, per_ip=100, window_s=300, clock=clock)
    for _ in range(4):
        limiter.record_failure("an", "10.0.0.1")
        clock.now += 10
    assert limiter.retry_after("an", "10.0.0.1") is None
    limiter.record_failure("an", "10.0.0.1")
    wait = limiter.retry_after("an", "10.0.0.2")
    assert wait is not None and wait == pytest.approx(300 - 40)
    assert limiter.retry_after("binh", "10.0.0.1") is None
    clock.now += wait
    assert limiter.retry_after("an", "10.0.0.1") is None


def test_limiter_blocks_an_address_trying_many_names() -> None:
    limiter = LoginLimiter(per_user=5, per_ip=3, window_s=60, clock=ManualClock(1000.0))
    for name in ("an", "binh", "cuong"):
        limiter.record_failure(name, "10.0.0.9")
    assert limiter.retry_after("dung", "10.0.0.9") == pytest.approx(60)
    assert limiter.retry_after("dung", "10.0.0.8") is None


def test_limiter_reset_and_memory_bound() -> None:
    limiter = LoginLimiter(
        per_user=1, per_ip=100, window_s=60, clock=ManualClock(1000.0), max_keys=3
    )
    limiter.record_failure("an", "ip1")
    limiter.reset("an")
    assert limiter.retry_after("an", "ip2") is None
    for name in ("b", "c", "d"):
        limiter.record_failure(name, "ip1")
    assert limiter.retry_after("b", "ip3") is None, "oldest key evicted beyond max_keys"
    assert limiter.retry_after("d", "ip3") is not None


def test_too_many_message_is_vietnamese_in_whole_minutes() -> None:
    assert "thử lại sau 5 phút" in too_many_message(241)
    assert "thử lại sau 1 phút" in too_many_message(3)


# -- redirects, CSRF, cookies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/bao-cao?tinh=ha-noi", "/bao-cao?tinh=ha-noi"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
    ],
)
def test_only_local_paths_are_followed(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_csrf_token_is_bound_to_session_and_key() -> None:
    token = csrf_token(KEY, "sid-1")
    assert token_matches(KEY, "sid-1", token)
    assert not token_matches(KEY, "sid-2", token)
    assert not token_matches("o" * 40, "sid-1", token)
    assert not token_matches(KEY, "sid-1", "")
    assert not token_matches(KEY, "sid-1", None)


def _request_with(cookie_header: str) -> Request:
    scope = {"type": "http", "headers": [(b"cookie", cookie_header.encode())]}
    return Request(scope)


def _cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def test_session_cookie_round_trip_and_flags() -> None:
    cookies = SessionCookies(KEY, secure=False)
    response = Response()
    session = cookies.new("nguyễn.văn.an")
    cookies.write(response, session)
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header
    assert "Max-Age=43200" in header
    value = _cookie_value(header)
    assert cookies.read(_request_with(f"{COOKIE}={value}")) == session
    assert cookies.read(_request_with(f"{COOKIE}={value[:-2]}xx")) is None
    assert SessionCookies("o" * 40, secure=False).read(_request_with(f"{COOKIE}={value}")) is None
    expired = SessionCookies(KEY, secure=False, max_age_s=-1)
    assert expired.read(_request_with(f"{COOKIE}={value}")) is None


def test_session_cookie_is_secure_behind_https() -> None:
    response = Response()
    SessionCookies(KEY, secure=True).write(response, SessionCookies.new())
    assert "Secure" in response.headers["set-cookie"]


def test_the_app_refuses_to_start_without_a_usable_secret_key() -> None:
    with pytest.raises(MissingSecretKey, match="DIEMNONG_API__SECRET_KEY is not set"):
        create_app(Settings(_env_file=None))
    short = Settings(api=ApiSettings(secret_key=SecretStr("short")), _env_file=None)
    with pytest.raises(MissingSecretKey, match="shorter than 32"):
        create_app(short)


def test_https_public_url_makes_cookies_secure() -> None:
    api = ApiSettings(secret_key=SecretStr(KEY), public_url="https://baochi.example.gov.vn")
    settings = Settings(api=api, _env_file=None)
    app = create_app(settings)
    install_auth(app, settings)
    assert app.state.auth.cookies.secure


def test_docs_pages_get_their_own_policy() -> None:
    app = FastAPI()
    security_headers(app)

    @app.get("/page")
    def page() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        strict = client.get("/page").headers["content-security-policy"]
        docs = client.get("/docs").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in strict and "'unsafe-inline'" not in strict
    assert "script-src 'self'" in strict
    assert "'unsafe-inline'" in docs and "cdn.jsdelivr.net" in docs
