"""The signed session cookie: who is signed in, and the session id the CSRF token is bound to.

The cookie holds no secrets, only ``{"u": username or None, "s": session id}`` signed with
itsdangerous (timestamped, so it expires server-side too). The user's role and whether they are
disabled are read from the users index on every request, so changes apply at once. Every
visitor of the sign-in page gets an anonymous session first: the sign-in form is CSRF-protected
as well, and signing in issues a fresh session id (no session fixation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

from api.auth.csrf import csrf_token

COOKIE = "diemnong_session"
MAX_AGE_S = 12 * 3600


@dataclass(frozen=True)
class Session:
    sid: str
    username: str | None = None


class SessionCookies:
    """Reads and writes the session cookie; one per app."""

    def __init__(self, secret_key: str, secure: bool, max_age_s: int = MAX_AGE_S) -> None:
        self._secret = secret_key
        self._serializer = URLSafeTimedSerializer(secret_key, salt="diemnong.session")
        self.secure = secure
        self.max_age_s = max_age_s

    @staticmethod
    def new(username: str | None = None) -> Session:
        return Session(sid=secrets.token_urlsafe(24), username=username)

    def read(self, connection: HTTPConnection) -> Session | None:
        value = connection.cookies.get(COOKIE)
        if not value:
            return None
        try:
            data: Any = self._serializer.loads(value, max_age=self.max_age_s)
        except BadData:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("s"), str):
            return None
        user = data.get("u")
        return Session(sid=data["s"], username=user if isinstance(user, str) else None)

    def write(self, response: Response, session: Session) -> None:
        value = self._serializer.dumps({"u": session.username, "s": session.sid})
        response.set_cookie(
            COOKIE,
            value,
            max_age=self.max_age_s,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure)

    def csrf_token(self, session: Session) -> str:
        return csrf_token(self._secret, session.sid)
