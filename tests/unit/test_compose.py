"""docker-compose.yml: no Docker engine runs here, so the file is checked by reading it."""

from __future__ import annotations

import re

import typer
import yaml

from diemnong.cli import app
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text("utf-8"))
SERVICES = COMPOSE["services"]


def _is_command(words: list[str]) -> bool:
    """True when ``words`` names a real `diemnong` sub-command (options may follow)."""
    command = typer.main.get_command(app)
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        sub = command.commands.get(word)
        if sub is None:
            return False
        command = sub
    return not hasattr(command, "commands")


def test_every_diemnong_service_runs_a_real_command() -> None:
    diemnong_services = {n: s for n, s in SERVICES.items() if s.get("image") == "diemnong:latest"}
    assert {"api", "setup", "crawler", "feed-poller", "alerts-worker"} <= set(diemnong_services)
    for name, service in diemnong_services.items():
        assert _is_command(service["command"]), (
            f"{name}: {service['command']} is no diemnong command"
        )


def test_the_checker_rejects_a_made_up_command() -> None:
    assert not _is_command(["no-such-command"])
    assert not _is_command(["engine"])  # a group, not a command


def test_engines_have_healthchecks_and_dependents_wait_for_them() -> None:
    assert SERVICES["opensearch"]["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    assert "elasticsearch" in SERVICES["elasticsearch"]["profiles"]
    for name in ("opensearch", "elasticsearch", "api", "mailpit"):
        assert "healthcheck" in SERVICES[name], name
    assert SERVICES["api"]["depends_on"]["opensearch"]["condition"] == "service_healthy"
    assert any("opensearch-data" in v for v in SERVICES["opensearch"]["volumes"])


def test_secrets_are_required_variables() -> None:
    text = (REPO / "docker-compose.yml").read_text("utf-8")
    assert re.search(r"\$\{DIEMNONG_API__SECRET_KEY:\?[^}]+\}", text)
