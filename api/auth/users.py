"""The people who use diemnong and their API tokens, stored in the ``users`` index.

A user document's id is ``user:<username>`` and a token's ``token:<token id>``, so sign-in and
token checks are real-time GETs (no refresh, no search). A token is ``dn_<id>_<secret>``: it is
shown once and only its SHA-256 is stored; the id part finds the document, the hash is compared
in constant time. A disabled user cannot sign in and none of their tokens work.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from api.auth.passwords import Passwords, check_strength
from complaints.privacy import Role
from diemnong.settings import IndexSettings
from indexer.adapter import Engine, EngineRequestError
from indexer.layout import IndexNames, load_template

_USERNAME = re.compile(r"[^\W_][\w.@-]{1,63}")
_TOKEN = re.compile(r"dn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_MAX_LISTED = 10_000


class InvalidUsername(ValueError):
    """Not a usable user name."""


class UserExists(ValueError):
    """A user with that name exists already."""


class UnknownUser(LookupError):
    """No user with that name."""


class User(BaseModel):
    """What the app knows about a signed-in person (never the password hash)."""

    model_config = ConfigDict(frozen=True)

    username: str
    role: Role
    display_name: str | None = None
    disabled: bool = False
    created_at: datetime


class ApiToken(BaseModel):
    """An API token as listed: its id and label, never the secret."""

    model_config = ConfigDict(frozen=True)

    id: str
    username: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


class NewToken(BaseModel):
    """A freshly created token: ``secret`` is shown once and cannot be recovered."""

    token: ApiToken
    secret: str


def normalize_username(raw: str) -> str:
    """One spelling per user name: trimmed, NFC, lowercase; refuses anything unusual."""
    name = unicodedata.normalize("NFC", unicodedata.normalize("NFC", raw.strip()).lower())
    if not _USERNAME.fullmatch(name):
        raise InvalidUsername(
            f"tên đăng nhập không hợp lệ: {raw!r} (2–64 chữ, số hoặc . _ @ -, bắt đầu bằng chữ/số)"
        )
    return name


def users_index(names: IndexNames) -> str:
    return names.users


def ensure_users_index(engine: Engine, index: str, settings: IndexSettings) -> bool:
    """Create the users index from ``indexer/templates/users.json`` if missing (idempotent)."""
    body = load_template("users")
    body["settings"]["index"].update(
        {"number_of_shards": settings.shards, "number_of_replicas": settings.replicas}
    )
    return engine.create_index(index, body)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


class UserStore:
    """Users and tokens over the engine. Cheap to build: one per request is fine."""

    def __init__(self, engine: Engine, index: str, passwords: Passwords | None = None) -> None:
        self.engine = engine
        self.index = index
        self.passwords = passwords or Passwords()

    # -- documents ---------------------------------------------------------------------------
    def _get(self, doc_id: str) -> dict[str, Any] | None:
        return self.engine.get(self.index, quote(doc_id, safe=""))

    def _update(self, doc_id: str, fields: dict[str, Any]) -> None:
        path = f"/{self.index}/_update/{quote(doc_id, safe='')}"
        body = {"doc": {**fields, "updated_at": _now()}}
        self.engine.request("POST", path, body=body, params={"refresh": "true"})

    def _user_doc(self, username: str) -> dict[str, Any] | None:
        try:
            name = normalize_username(username)
        except InvalidUsername:
            return None
        doc = self._get(f"user:{name}")
        return doc if doc and doc.get("kind") == "user" else None

    @staticmethod
    def _user(doc: dict[str, Any]) -> User:
        return User.model_validate(doc)

    # -- users -------------------------------------------------------------------------------
    def add(
        self, username: str, password: str, role: Role, display_name: str | None = None
    ) -> User:
        name = normalize_username(username)
        check_strength(password, name)
        now = _now()
        doc = {
            "kind": "user",
            "username": name,
            "display_name": display_name,
            "role": role.value,
            "password_hash": self.passwords.hash(password),
            "disabled": False,
            "created_at": now,
            "updated_at": now,
        }
        if not self.engine.create(self.index, quote(f"user:{name}", safe=""), doc, refresh=True):
            raise UserExists(f"người dùng {name!r} đã tồn tại")
        return self._user(doc)

    def get(self, username: str) -> User | None:
        doc = self._user_doc(username)
        return self._user(doc) if doc else None

    def list_users(self) -> list[User]:
        body = {
            "query": {"term": {"kind": "user"}},
            "sort": [{"username": "asc"}],
            "size": _MAX_LISTED,
        }
        hits = self.engine.search(self.index, body)["hits"]["hits"]
        return [self._user(hit["_source"]) for hit in hits]

    def verify(self, username: str, password: str) -> User | None:
        """The active user whose password this is, else None (same cost either way)."""
        doc = self._user_doc(username)
        stored = doc.get("password_hash") if doc else None
        if not self.passwords.verify(stored, password) or doc is None or doc.get("disabled"):
            return None
        if stored and self.passwords.needs_rehash(stored):
            self._update(
                f"user:{doc['username']}", {"password_hash": self.passwords.hash(password)}
            )
        return self._user(doc)

    def _change(self, username: str, fields: dict[str, Any]) -> User:
        doc = self._user_doc(username)
        if doc is None:
            raise UnknownUser(f"không có người dùng {username!r}")
        self._update(f"user:{doc['username']}", fields)
        return self._user({**doc, **fields})

    def set_role(self, username: str, role: Role) -> User:
        return self._change(username, {"role": role.value})

    def set_password(self, username: str, password: str) -> User:
        check_strength(password, normalize_username(username))
        return self._change(username, {"password_hash": self.passwords.hash(password)})

    def disable(self, username: str, disabled: bool = True) -> User:
        """Disable (or re-enable) a user: sessions and tokens stop working at once."""
        return self._change(username, {"disabled": disabled})

    # -- API tokens --------------------------------------------------------------------------
    def create_token(self, username: str, name: str = "") -> NewToken:
        user = self.get(username)
        if user is None:
            raise UnknownUser(f"không có người dùng {username!r}")
        token_id = secrets.token_hex(8)
        secret = f"dn_{token_id}_{secrets.token_urlsafe(32)}"
        doc = {
            "kind": "token",
            "token_id": token_id,
            "username": user.username,
            "token_name": name.strip()[:200],
            "token_hash": _token_hash(secret),
            "created_at": _now(),
        }
        self.engine.create(self.index, quote(f"token:{token_id}", safe=""), doc, refresh=True)
        return NewToken(token=self._token(doc), secret=secret)

    @staticmethod
    def _token(doc: dict[str, Any]) -> ApiToken:
        return ApiToken(
            id=doc["token_id"],
            username=doc["username"],
            name=doc.get("token_name") or "",
            created_at=doc["created_at"],
            revoked_at=doc.get("revoked_at"),
        )

    def get_token(self, token_id: str) -> ApiToken | None:
        if not re.fullmatch(r"[0-9a-f]{16}", token_id):
            return None
        doc = self._get(f"token:{token_id}")
        return self._token(doc) if doc and doc.get("kind") == "token" else None

    def tokens(self, username: str) -> list[ApiToken]:
        """The user's tokens that still work, newest first."""
        query = {
            "bool": {
                "filter": [{"term": {"kind": "token"}}, {"term": {"username": username}}],
                "must_not": [{"exists": {"field": "revoked_at"}}],
            }
        }
        body = {"query": query, "sort": [{"created_at": "desc"}], "size": _MAX_LISTED}
        hits = self.engine.search(self.index, body)["hits"]["hits"]
        return [self._token(hit["_source"]) for hit in hits]

    def revoke_token(self, token_id: str) -> bool:
        """Revoke a token for good; False when there is no such (working) token."""
        token = self.get_token(token_id)
        if token is None or token.revoked_at is not None:
            return False
        try:
            self._update(f"token:{token_id}", {"revoked_at": _now()})
        except EngineRequestError as error:
            if error.status == 404:
                return False
            raise
        return True

    def user_for_token(self, secret: str) -> tuple[User, ApiToken] | None:
        """The active user a presented token belongs to, with the token; else None."""
        match = _TOKEN.fullmatch(secret)
        if match is None:
            return None
        doc = self._get(f"token:{match.group(1)}")
        if not doc or doc.get("kind") != "token" or doc.get("revoked_at"):
            return None
        if not hmac.compare_digest(str(doc.get("token_hash", "")), _token_hash(secret)):
            return None
        user = self.get(doc["username"])
        if user is None or user.disabled:
            return None
        return user, self._token(doc)
