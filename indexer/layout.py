"""Index names and the idempotent `diemnong setup` that creates them from the JSON templates.

The JSON files in ``indexer/templates/`` are the single source of the index layout; tests load
them through `index_bodies`, never a copy.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from diemnong.settings import IndexSettings
from indexer.adapter import Engine, EngineRequestError


def load_template(name: str) -> dict[str, Any]:
    text = resources.files("indexer.templates").joinpath(f"{name}.json").read_text("utf-8")
    body: dict[str, Any] = json.loads(text)
    body.pop("_comment", None)
    return body


@dataclass(frozen=True)
class IndexNames:
    """Every index and alias name, derived from one prefix (tests use their own)."""

    prefix: str = ""

    @property
    def articles(self) -> str:
        """The alias over all monthly article indices: search here."""
        return f"{self.prefix}articles"

    @property
    def article_pattern(self) -> str:
        return f"{self.prefix}articles-*"

    def article_index(self, when: datetime) -> str:
        """The monthly index an article published (or fetched) at ``when`` is written to."""
        return f"{self.prefix}articles-{when.astimezone(UTC):%Y.%m}"

    @property
    def complaints(self) -> str:
        return f"{self.prefix}complaints"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}alerts"

    @property
    def fetch_log(self) -> str:
        return f"{self.prefix}fetch-log"

    @property
    def audit(self) -> str:
        """Who read complainants' personal data, when, in which case."""
        return f"{self.prefix}audit"

    @property
    def complaint_links(self) -> str:
        """Stories linked to complaints, with why they matched."""
        return f"{self.prefix}complaint-links"

    @property
    def users(self) -> str:
        """People who sign in to the web app and their API tokens (api.auth)."""
        return f"{self.prefix}users"

    @property
    def statements(self) -> str:
        """Official statements: drafts, versions, approval and issue."""
        return f"{self.prefix}statements"

    @property
    def saved_searches(self) -> str:
        """Users' saved searches (api.routes.search); alert=true ones feed the alert worker."""
        return f"{self.prefix}saved-searches"

    @property
    def all_patterns(self) -> list[str]:
        return [
            self.article_pattern,
            self.complaints,
            self.alerts,
            self.fetch_log,
            self.audit,
            self.complaint_links,
            self.users,
            self.statements,
            self.saved_searches,
        ]


def _index_settings(settings: IndexSettings) -> dict[str, Any]:
    analysis = load_template("analysis")["analysis"]
    return {
        "number_of_shards": settings.shards,
        "number_of_replicas": settings.replicas,
        "analysis": analysis,
    }


def _seconds(value: float) -> str:
    return f"{round(value * 1000)}ms"


def index_bodies(names: IndexNames, settings: IndexSettings) -> dict[str, dict[str, Any]]:
    """The complete bodies: the article index template and the fixed indices."""
    article_fields = load_template("article_fields")["properties"]
    articles = load_template("articles")
    articles["index_patterns"] = [names.article_pattern]
    template = articles["template"]
    template["settings"]["index"].update(_index_settings(settings))
    template["settings"]["index"]["refresh_interval"] = _seconds(settings.article_refresh_s)
    template["mappings"]["properties"] = copy.deepcopy(article_fields)
    template["aliases"] = {names.articles: {}}

    complaints = load_template("complaints")
    complaints["settings"]["index"].update(_index_settings(settings))
    complaints["mappings"]["properties"].update(copy.deepcopy(article_fields))

    fixed = {"complaints": complaints}
    for name in (
        "alerts",
        "fetch_log",
        "audit",
        "complaint_links",
        "users",
        "statements",
        "saved_searches",
    ):
        body = load_template(name)
        body["settings"]["index"].update(_index_settings(settings))
        fixed[name] = body
    return {"articles_template": articles, **fixed}


def apply_layout(
    engine: Engine, names: IndexNames, settings: IndexSettings, now: datetime | None = None
) -> list[str]:
    """Create or update templates and indices; safe to run any number of times.

    Returns what it created (empty on a second run). Existing indices get their mappings
    re-applied, which the engine accepts only when they are compatible (additive).
    """
    bodies = index_bodies(names, settings)
    created: list[str] = []
    template_name = f"{names.prefix}articles"
    engine.put_index_template(template_name, bodies["articles_template"])
    fixed = (
        (names.complaints, bodies["complaints"]),
        (names.alerts, bodies["alerts"]),
        (names.fetch_log, bodies["fetch_log"]),
        (names.audit, bodies["audit"]),
        (names.complaint_links, bodies["complaint_links"]),
        (names.users, bodies["users"]),
        (names.statements, bodies["statements"]),
        (names.saved_searches, bodies["saved_searches"]),
    )
    for name, body in fixed:
        if engine.create_index(name, body):
            created.append(name)
        else:
            engine.request("PUT", f"/{name}/_mapping", body=body["mappings"])
    current = names.article_index(now or datetime.now(UTC))
    if engine.create_index(current):
        created.append(current)
    refresh = {"index": {"refresh_interval": _seconds(settings.article_refresh_s)}}
    engine.request("PUT", f"/{names.article_pattern}/_settings", body=refresh)
    engine.health(wait_for="yellow")
    return created


def drop_layout(engine: Engine, names: IndexNames) -> None:
    """Delete every index of this prefix (tests and `diemnong setup --reset`)."""
    for pattern in names.all_patterns:
        engine.delete_index(pattern)
    try:
        engine.request("DELETE", f"/_index_template/{names.prefix}articles")
    except EngineRequestError as error:
        if error.status != 404:
            raise
