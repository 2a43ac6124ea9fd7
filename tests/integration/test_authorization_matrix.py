"""The role × route matrix, route by route, read from the app's own OpenAPI document.

A new route that forgets its auth dependency fails here: every /api route except the public
ones answers 401 without credentials, and the matrix below says which roles may call the
routes that change things (403 for the others).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.passwords import Passwords
from api.auth.users import UserStore
from complaints.privacy import Role
from indexer.adapter import Engine
from indexer.layout import IndexNames

pytestmark = pytest.mark.engine

PUBLIC = {("get", "/api/health")}
EVERY_SIGNED_IN = set(Role)
EDITORS = {Role.PRESS_OFFICER, Role.SPOKESPERSON, Role.ADMIN}
APPROVERS = {Role.SPOKESPERSON, Role.ADMIN}
# Who may call each route that changes or discloses beyond reading (others must get 403).
MATRIX: dict[tuple[str, str], set[Role]] = {
    ("post", "/api/complaints"): EDITORS,
    ("post", "/api/complaints/import"): EDITORS,
    ("post", "/api/complaints/{case}/close"): EDITORS,
    ("put", "/api/complaints/{case}"): EDITORS,
    ("post", "/api/complaints/{case}/statements"): EDITORS,
    ("put", "/api/statements/{statement_id}"): EDITORS,
    ("post", "/api/statements/{statement_id}/approve"): APPROVERS,
    ("post", "/api/statements/{statement_id}/issue"): APPROVERS,
    ("post", "/api/alerts/{alert_id}/ack"): EDITORS,
    ("post", "/api/alerts/{alert_id}/assign"): EDITORS,
    ("post", "/api/alerts/{alert_id}/resolve"): EDITORS,
    ("get", "/api/audit"): {Role.ADMIN},
}


@pytest.fixture
def client(engine: Engine, settings, layout: IndexNames) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as http:
        yield http


@pytest.fixture
def tokens(engine: Engine, layout: IndexNames) -> dict[Role, dict[str, str]]:
    store = UserStore(engine, layout.users, Passwords(PasswordHasher(time_cost=1, memory_cost=64)))
    found = {}
    for role in Role:
        store.add(f"ma-tran-{role.value.replace('_', '-')}", "mat-khau-ma-tran-1", role)
        secret = store.create_token(f"ma-tran-{role.value.replace('_', '-')}").secret
        found[role] = {"Authorization": f"Bearer {secret}"}
    return found


def _routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.app.openapi()["paths"]
    return sorted((method, path) for path, ops in paths.items() for method in ops)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    concrete = re.sub(r"\{[^}]+\}", "x-1", path)
    kwargs: dict = {"headers": headers}
    if method in ("post", "put"):
        kwargs["json"] = {}
    return client.request(method.upper(), concrete, **kwargs).status_code


def test_every_route_is_in_view(client: TestClient) -> None:
    routes = set(_routes(client))
    assert set(MATRIX) <= routes, "the matrix names a route the app no longer has"
    assert len(routes) >= 25


def test_no_route_answers_without_credentials(client: TestClient) -> None:
    for method, path in _routes(client):
        if (method, path) in PUBLIC or not path.startswith("/api/"):
            continue
        assert _call(client, method, path, {}) == 401, f"{method.upper()} {path}"


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_matrix(client: TestClient, tokens, role: Role) -> None:
    for (method, path), allowed in MATRIX.items():
        status = _call(client, method, path, tokens[role])
        if role in allowed:
            assert status != 403, f"{role.value} refused on {method.upper()} {path}"
            assert status < 500, f"{method.upper()} {path} -> {status}"
        else:
            assert status == 403, f"{role.value} allowed on {method.upper()} {path} ({status})"


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_reads_are_open_to_every_role_and_never_fail(client: TestClient, tokens, role) -> None:
    for method, path in _routes(client):
        if method != "get" or (method, path) in MATRIX or not path.startswith("/api/"):
            continue
        status = _call(client, method, path, tokens[role])
        assert status != 403, f"{role.value} refused on GET {path}"
        assert status < 500, f"GET {path} -> {status}"
