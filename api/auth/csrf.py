"""CSRF tokens bound to the session id (the synchroniser-token pattern without server state).

The token is an HMAC of the session id under the secret key, so it needs no storage and dies
with the session. It is required on every unsafe request authenticated by the session cookie,
sent as the ``X-CSRF-Token`` header or the ``csrf_token`` form field. Requests carrying an API
token are exempt: a browser never adds an ``Authorization`` header on its own, so a forged
cross-site request cannot carry one.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token(secret_key: str, sid: str) -> str:
    message = f"diemnong.csrf|{sid}".encode()
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def token_matches(secret_key: str, sid: str, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(secret_key, sid), presented)


async def presented_token(request: Request) -> str | None:
    """The token the request carries: the header first, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORMS):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else None
    return None
