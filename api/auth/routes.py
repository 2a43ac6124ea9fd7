"""Sign-in and sign-out pages, who am I, and API tokens for oneself."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal, ParamSpec, TypeVar

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from api.auth.csrf import token_matches
from api.auth.deps import (
    ENGINE_DOWN,
    AuthDep,
    CurrentIdentity,
    CurrentUser,
    OptionalIdentity,
    UserStoreDep,
)
from api.auth.errors import NotAllowed, safe_next
from api.auth.ratelimit import too_many_message
from api.auth.sessions import Session
from api.auth.users import ApiToken, InvalidUsername, normalize_username
from complaints.privacy import Role
from indexer.adapter import EngineUnavailable

router = APIRouter(tags=["auth"])
P = ParamSpec("P")
T = TypeVar("T")

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đã bị khoá."
FORM_EXPIRED = "Biểu mẫu đăng nhập đã hết hạn. Vui lòng nhập lại."
NO_STORE = {"Cache-Control": "no-store"}


def _login_page(
    request: Request,
    auth: AuthDep,
    next_: str,
    *,
    error: str | None = None,
    username: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The form, bound to the visitor's (possibly new, anonymous) session."""
    session = auth.cookies.read(request)
    fresh = session is None or session.username is not None
    if session is None or fresh:
        session = auth.cookies.new()
    context = {
        "csrf_token": auth.cookies.csrf_token(session),
        "next": safe_next(next_),
        "error": error,
        "username": username,
    }
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "auth/login.html",
        context,
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )
    if fresh:
        auth.cookies.write(response, session)
    return response


@router.get("/login", include_in_schema=False)
def login_form(
    request: Request, auth: AuthDep, identity: OptionalIdentity, next: str = "/"
) -> Response:
    if identity is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, auth, next)


def _limit_key(username: str) -> str:
    try:
        return normalize_username(username)
    except InvalidUsername:
        return username.strip().lower()[:64]


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request,
    auth: AuthDep,
    store: UserStoreDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    session = auth.cookies.read(request)
    if session is None or not token_matches(auth.secret_key, session.sid, csrf_token):
        return _login_page(request, auth, next_, error=FORM_EXPIRED, username=username, status=403)
    key = _limit_key(username)
    client = request.client.host if request.client else "unknown"
    wait = auth.limiter.retry_after(key, client)
    if wait is not None:
        retry = {"Retry-After": str(math.ceil(wait))}
        message = too_many_message(wait)
        return _login_page(request, auth, next_, error=message, status=429, headers=retry)
    try:
        user = store.verify(username, password)
    except EngineUnavailable:
        return _login_page(request, auth, next_, error=ENGINE_DOWN, status=503)
    if user is None:
        auth.limiter.record_failure(key, client)
        return _login_page(request, auth, next_, error=LOGIN_FAILED, username=username, status=401)
    auth.limiter.reset(key)
    response = RedirectResponse(safe_next(next_), status_code=303)
    auth.cookies.write(response, Session(sid=auth.cookies.new().sid, username=user.username))
    return response


@router.post("/logout", include_in_schema=False)
def logout(auth: AuthDep, identity: OptionalIdentity) -> Response:
    """Sign out (the CSRF token is checked when a session is signed in)."""
    response = RedirectResponse("/login", status_code=303)
    auth.cookies.clear(response)
    return response


class Me(BaseModel):
    username: str
    role: Role
    display_name: str | None
    auth: Literal["session", "token"]
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on unsafe requests of this session (null for tokens)."
    )


@router.get("/api/me")
def me(identity: CurrentIdentity, auth: AuthDep, response: Response) -> Me:
    """Who is signed in, with which role, how, and the session's CSRF token."""
    response.headers.update(NO_STORE)
    user = identity.user
    session = identity.session
    return Me(
        username=user.username,
        role=user.role,
        display_name=user.display_name,
        auth=identity.via,
        csrf_token=auth.cookies.csrf_token(session) if session else None,
    )


class TokenRequest(BaseModel):
    name: str = Field(default="", max_length=200, description="A label, e.g. 'máy chủ báo cáo'.")


class CreatedToken(BaseModel):
    id: str
    name: str
    created_at: datetime
    token: str = Field(description="Shown once: store it now, it cannot be shown again.")


@router.get("/api/tokens")
def list_tokens(user: CurrentUser, store: UserStoreDep) -> list[ApiToken]:
    """Your API tokens that still work (never their secrets)."""
    return _engine_call(store.tokens, user.username)


@router.post("/api/tokens", status_code=201)
def create_token(
    identity: CurrentIdentity,
    store: UserStoreDep,
    response: Response,
    body: TokenRequest | None = None,
) -> CreatedToken:
    """Create an API token for yourself; needs a password sign-in, not another token."""
    if identity.via != "session":
        raise NotAllowed("Chỉ tạo được mã truy cập API khi đăng nhập bằng mật khẩu.")
    response.headers.update(NO_STORE)
    created = _engine_call(
        store.create_token, identity.user.username, (body or TokenRequest()).name
    )
    token = created.token
    return CreatedToken(
        id=token.id, name=token.name, created_at=token.created_at, token=created.secret
    )


@router.delete("/api/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, user: CurrentUser, store: UserStoreDep) -> Response:
    """Revoke one of your tokens (an admin may revoke anyone's)."""
    token = _engine_call(store.get_token, token_id)
    mine = token is not None and (token.username == user.username or user.role is Role.ADMIN)
    if token is None or not mine or not _engine_call(store.revoke_token, token_id):
        raise HTTPException(404, "Không có mã truy cập này.")
    return Response(status_code=204)


def _engine_call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return function(*args, **kwargs)
    except EngineUnavailable as error:
        raise HTTPException(503, ENGINE_DOWN) from error
