"""FastAPI dependencies: who is asking (session cookie or bearer token) and may they.

``CurrentUser`` for routes that need a signed-in user, ``OptionalUser`` for pages that adapt,
``require_role(*roles)`` / ``require_at_least(role)`` for role checks. Whenever the session
cookie authenticates an unsafe request, its CSRF token is checked here, so no route can forget.
Dependencies that only look something up are ``async``: FastAPI runs a plain ``def`` one in a
worker thread, a hop that costs more than the lookup; `_identify` blocks on the engine, so it
stays a ``def``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request

from api.auth.csrf import SAFE_METHODS, presented_token, token_matches
from api.auth.errors import INVALID_API_KEY, CsrfFailed, NotAllowed, NotSignedIn
from api.auth.passwords import Passwords
from api.auth.ratelimit import LoginLimiter
from api.auth.sessions import Session, SessionCookies
from api.auth.users import User, UserStore, users_index
from api.deps import EngineDep, NamesDep
from complaints.privacy import Role
from indexer.adapter import EngineUnavailable

ROLE_ORDER = (Role.VIEWER, Role.PRESS_OFFICER, Role.SPOKESPERSON, Role.ADMIN)
ENGINE_DOWN = "Máy tìm kiếm không phản hồi, chưa kiểm tra được đăng nhập. Vui lòng thử lại sau."


@dataclass
class AuthState:
    """What `install_auth` keeps in ``app.state.auth``: one of each per app."""

    secret_key: str
    cookies: SessionCookies
    limiter: LoginLimiter
    passwords: Passwords


@dataclass(frozen=True)
class Identity:
    """A signed-in user and how they proved it."""

    user: User
    via: Literal["session", "token"]
    session: Session | None = None
    token_id: str | None = None


async def get_auth(request: Request) -> AuthState:
    state: AuthState = request.app.state.auth
    return state


AuthDep = Annotated[AuthState, Depends(get_auth)]


async def get_user_store(engine: EngineDep, names: NamesDep, auth: AuthDep) -> UserStore:
    return UserStore(engine, users_index(names), auth.passwords)


UserStoreDep = Annotated[UserStore, Depends(get_user_store)]


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _identify(request: Request, auth: AuthDep, store: UserStoreDep) -> Identity | None:
    """Sync on purpose: FastAPI runs it in a worker thread, the engine calls block."""
    token = _bearer(request)
    try:
        if token is not None:
            found = store.user_for_token(token)
            if found is None:
                raise NotSignedIn(INVALID_API_KEY)
            return Identity(user=found[0], via="token", token_id=found[1].id)
        session = auth.cookies.read(request)
        if session is None or session.username is None:
            return None
        user = store.get(session.username)
    except EngineUnavailable as error:
        raise HTTPException(503, ENGINE_DOWN) from error
    if user is None or user.disabled:
        return None
    return Identity(user=user, via="session", session=session)


async def optional_identity(
    request: Request, auth: AuthDep, identity: Annotated[Identity | None, Depends(_identify)]
) -> Identity | None:
    if identity is not None and identity.session is not None and request.method not in SAFE_METHODS:
        presented = await presented_token(request)
        if not token_matches(auth.secret_key, identity.session.sid, presented):
            raise CsrfFailed()
    return identity


OptionalIdentity = Annotated[Identity | None, Depends(optional_identity)]


async def current_identity(identity: OptionalIdentity) -> Identity:
    if identity is None:
        raise NotSignedIn()
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


async def optional_user(identity: OptionalIdentity) -> User | None:
    return identity.user if identity else None


async def current_user(identity: CurrentIdentity) -> User:
    return identity.user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: Role) -> Callable[..., Awaitable[User]]:
    """A dependency: 401 when not signed in, 403 unless the user's role is one of ``roles``."""
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise NotAllowed()
        return user

    return dependency


def require_at_least(role: Role) -> Callable[..., Awaitable[User]]:
    """``require_role`` for ``role`` and every role above it (viewer < … < admin)."""
    return require_role(*ROLE_ORDER[ROLE_ORDER.index(role) :])
