"""The API under schemathesis against its own OpenAPI document: no input gives a 5xx.

Every operation of ``/openapi.json`` is called with generated requests (schema examples,
boundary and invalid values of the coverage phase, then fuzzing) through the ASGI transport,
once with an admin's token and once with a viewer's, so the 403 paths run too. Real data is
seeded first, and path parameters are sometimes swapped for the seeded ids, so the routes reach
the engine and the stores instead of stopping at "not found". Derandomized and bounded: the
same requests every run.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error

from alerts.model import OutboxAlert
from alerts.store import AlertStore
from api.app import create_app
from api.auth.passwords import Passwords
from api.auth.users import UserStore
from bench.matching import load_set
from complaints.factory import build_register
from complaints.links import ComplaintLink, store_links
from complaints.privacy import Role
from complaints.tabular import import_file
from diemnong.commands.demo import demo_register_file
from diemnong.settings import ApiSettings, EngineSettings, IndexSettings, Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames, apply_layout, drop_layout
from indexer.models import AlertKind, Severity
from indexer.writer import ArticleWriter

pytestmark = [pytest.mark.engine, pytest.mark.slow]
CASE = "112/2026/KN"
"""A case of the demo register: a mass land case, with stories, an alert and a statement."""
REGISTER = Path(__file__).resolve().parents[1] / "fixtures" / "register"
MAX_EXAMPLES = 12
"""Fuzzing examples per operation and role, on top of the examples and coverage phases."""


@dataclass
class Seeded:
    """The seeded ids, by the path parameter that takes them, and the run's credentials."""

    values: dict[str, list[str]] = field(default_factory=dict)
    bearer: dict[Role, dict[str, str]] = field(default_factory=dict)
    own_tokens: set[str] = field(default_factory=set)

    def clear(self) -> None:
        self.values.clear()
        self.bearer.clear()
        self.own_tokens.clear()


def _seed(
    engine: Engine, names: IndexNames, settings: Settings, http: TestClient
) -> dict[str, list[str]]:
    """Articles, the demo register, links, an alert, a statement draft and a saved search."""
    data = load_set()
    recent = datetime.now(UTC) - timedelta(days=2)
    articles = [a.model_copy(update={"published_at": recent}) for a in data.articles]
    ArticleWriter(engine, names).write(articles, refresh=True)
    register = build_register(engine, names, settings.complaints.repercolate_days)
    report = import_file(demo_register_file(), register, "seed", tz=settings.timezone)
    assert report.ok, report
    now = datetime.now(UTC)
    store_links(
        engine,
        names,
        [
            ComplaintLink(
                case_number=CASE,
                article_id=article.id,
                story_cluster_id=article.story_cluster_id,
                outlet=article.outlet,
                url=article.url,
                title=article.title,
                published_at=recent,
                matched_clauses=["project"],
                linked_at=now,
            )
            for article in articles[:2]
        ],
    )
    engine.refresh(names.complaint_links)
    alert = OutboxAlert(
        id="canh-bao-seed",
        kind=AlertKind.COMPLAINT_TOUCHED,
        severity=Severity.HIGH,
        title=f"Báo chí đưa tin về hồ sơ {CASE}",
        reason="2 bài mới",
        created_at=now - timedelta(hours=2),
        complaint_case=CASE,
        subject_key=CASE,
    )
    AlertStore(engine, names).create(alert)
    admin = _token(engine, names, "seed-admin", Role.ADMIN)
    headers = {"Authorization": f"Bearer {admin[0]}"}
    drafted = http.post(
        f"/api/complaints/{CASE}/statements",
        json={"story_ids": [a.id for a in articles[:2]], "agency": {"name": "UBND tỉnh"}},
        headers=headers,
    )
    assert drafted.status_code == 201, drafted.text
    saved = http.post(
        "/api/saved-searches", json={"name": "đất đai", "query": "thu hồi đất"}, headers=headers
    )
    assert saved.status_code == 201, saved.text
    return {
        "case": sorted({CASE, *(row.case_number for row in register.list(limit=4))}),
        "statement_id": [drafted.json()["id"]],
        "alert_id": [alert.id],
        "search_id": [saved.json()["id"]],
        "token_id": [admin[1]],
    }


def _token(engine: Engine, names: IndexNames, username: str, role: Role) -> tuple[str, str]:
    """A user with ``role`` and one API token: (secret, token id)."""
    passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    store = UserStore(engine, names.users, passwords)
    store.add(username, "mat-khau-du-dai-123", role)
    created = store.create_token(username)
    return created.secret, created.token.id


SEEDED = Seeded()
"""Filled by the `seeded_app` fixture: the hooks below are registered at import, before it runs."""


def _document() -> dict[str, Any]:
    """The app's own OpenAPI document (settings built in code, no engine is opened)."""
    key = SecretStr("schema-only-" + "x" * 40)
    return create_app(Settings.model_construct(api=ApiSettings(secret_key=key))).openapi()


schema = schemathesis.openapi.from_dict(_document())


@schema.hook("flatmap_path_parameters")
def seeded_ids(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    """Path parameters take a seeded id about half the time, so routes find real data."""
    if not path_parameters:
        return st.just(path_parameters)
    choices = {
        name: st.sampled_from([value, *SEEDED.values[name]])
        if SEEDED.values.get(name)
        else st.just(value)
        for name, value in path_parameters.items()
    }
    return st.fixed_dictionaries(choices)


@schema.hook("filter_path_parameters")
def keep_own_tokens(context: Any, path_parameters: dict[str, Any] | None) -> bool:
    """The run's own tokens are never revoked: the rest of the run would be 401s."""
    return not path_parameters or path_parameters.get("token_id") not in SEEDED.own_tokens


@functools.cache
def _register_files() -> list[bytes]:
    """Real register files: the demo's, and valid, mixed, bad, Windows-1258 and XLSX ones."""
    names = ("good.csv", "mixed.csv", "bad.csv", "good-windows-1258.csv", "good.xlsx")
    return [demo_register_file().read_bytes()] + [(REGISTER / n).read_bytes() for n in names]


@schema.hook("flatmap_body")
def register_files(context: Any, body: Any) -> st.SearchStrategy[Any]:
    """The import sometimes gets a real register file instead of generated bytes."""
    if context.operation.path != "/api/complaints/import" or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body] + [{**body, "file": data} for data in _register_files()])


def errors_are_json(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A refusal is a JSON ``{"detail": ...}`` the client can show, never a page or a trace."""
    if response.status_code < 400:
        return None
    kind = (response.headers.get("content-type") or [""])[0]
    assert kind.startswith("application/json"), f"{response.status_code} answered as {kind!r}"
    assert "detail" in response.json(), f"{response.status_code} without detail: {response.text}"
    return None


@pytest.fixture(scope="module")
def seeded_app(
    engine: Engine, engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """One seeded app for the whole module, under its own index prefix, removed afterwards."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("schemathesis"),
        engine=EngineSettings(url=engine_url),
        index=IndexSettings(prefix=f"t{uuid.uuid4().hex[:10]}-"),
        api=ApiSettings(secret_key=SecretStr("test-secret-" + "x" * 40)),
        _env_file=None,
    )
    names = IndexNames(settings.index.prefix)
    apply_layout(engine, names, settings.index)
    app = create_app(settings, engine=engine)
    try:
        with TestClient(app) as http:
            SEEDED.values = _seed(engine, names, settings, http)
        for role in (Role.ADMIN, Role.VIEWER):
            secret, token_id = _token(engine, names, f"fuzz-{role.value}", role)
            SEEDED.bearer[role] = {"Authorization": f"Bearer {secret}"}
            SEEDED.own_tokens.add(token_id)
        yield app
    finally:
        SEEDED.clear()
        drop_layout(engine, names)


@pytest.fixture(params=[Role.ADMIN, Role.VIEWER], ids=lambda role: role.value)
def bearer(request: pytest.FixtureRequest, seeded_app: FastAPI) -> dict[str, str]:
    """The run's token of an admin, then of a viewer (who must get 403 on every change)."""
    role: Role = request.param
    return SEEDED.bearer[role]


@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_no_server_error(case: Case[Any], seeded_app: FastAPI, bearer: dict[str, str]) -> None:
    """Every operation, every generated request: a 2xx, or a 4xx with a JSON message."""
    case.call_and_validate(
        app=seeded_app, headers=dict(bearer), checks=[not_a_server_error, errors_are_json]
    )


def test_the_document_is_the_served_one(seeded_app: FastAPI) -> None:
    """The document generated from is exactly the one the running app serves."""
    with TestClient(seeded_app) as http:
        assert http.get("/openapi.json").json() == schema.raw_schema
