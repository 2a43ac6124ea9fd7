"""Sign-in, roles, sessions, CSRF, API tokens and sign-in rate limiting for the web app.

`install_auth(app, settings)` wires it into an app built by `api.app.create_app`; routes then
declare who may call them with `CurrentUser`, `OptionalUser`, `require_role(...)` or
`require_at_least(...)`. `security_headers(app)` adds the CSP and related headers.

Errors: `MissingSecretKey` at start-up; `NotSignedIn` (401), `NotAllowed` (403) and
`CsrfFailed` (403) at request time, answered as JSON under ``/api/`` and as Vietnamese pages
(or a redirect to ``/login``) elsewhere.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from api.auth.deps import (
    AuthState,
    CurrentIdentity,
    CurrentUser,
    Identity,
    OptionalIdentity,
    OptionalUser,
    UserStoreDep,
    require_at_least,
    require_role,
)
from api.auth.errors import AuthError, CsrfFailed, NotAllowed, NotSignedIn, handle_auth_error
from api.auth.headers import security_headers
from api.auth.passwords import Passwords, WeakPassword
from api.auth.ratelimit import LoginLimiter
from api.auth.routes import router
from api.auth.sessions import SessionCookies
from api.auth.users import User, UserStore
from diemnong.settings import Settings

MIN_SECRET_LENGTH = 32

__all__ = [
    "AuthError",
    "CsrfFailed",
    "CurrentIdentity",
    "CurrentUser",
    "Identity",
    "LoginLimiter",
    "MissingSecretKey",
    "NotAllowed",
    "NotSignedIn",
    "OptionalIdentity",
    "OptionalUser",
    "Passwords",
    "User",
    "UserStore",
    "UserStoreDep",
    "WeakPassword",
    "install_auth",
    "require_at_least",
    "require_role",
    "security_headers",
]


class MissingSecretKey(RuntimeError):
    """The web app cannot sign session cookies without ``DIEMNONG_API__SECRET_KEY``."""


def secret_key(settings: Settings) -> str:
    """The session signing key, or a clear error telling the operator how to set one."""
    value = settings.api.secret_key.get_secret_value() if settings.api.secret_key else ""
    if len(value) < MIN_SECRET_LENGTH:
        problem = "is not set" if not value else f"is shorter than {MIN_SECRET_LENGTH} characters"
        raise MissingSecretKey(
            f"DIEMNONG_API__SECRET_KEY {problem}: the web app signs session cookies with it. "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value


def install_auth(
    app: FastAPI,
    settings: Settings,
    *,
    limiter: LoginLimiter | None = None,
    passwords: Passwords | None = None,
) -> None:
    """Add sign-in to ``app``: state, routes, error handlers, the template's CSRF helper.

    Raises `MissingSecretKey` before anything is changed when the key is missing or short.
    """
    key = secret_key(settings)
    cookies = SessionCookies(key, secure=settings.api.public_url.lower().startswith("https://"))
    app.state.auth = AuthState(
        secret_key=key,
        cookies=cookies,
        limiter=limiter or LoginLimiter(),
        passwords=passwords or Passwords(),
    )
    app.include_router(router)
    app.add_exception_handler(AuthError, handle_auth_error)
    templates: Jinja2Templates = app.state.templates

    def csrf_token(request: Request) -> str:
        """For forms of other pages: ``<input type="hidden" name="csrf_token" value="...">``."""
        session = cookies.read(request)
        return cookies.csrf_token(session) if session else ""

    templates.env.globals["csrf_token"] = csrf_token
