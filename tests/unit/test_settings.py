"""The settings model: env prefix, nested sections, and the README listing every setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from diemnong.settings import Settings
from diemnong.settings_doc import settings_rows
from tests.conftest import REPO


def test_environment_overrides_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMNONG_ENGINE__URL", "http://127.0.0.1:9299")
    monkeypatch.setenv("DIEMNONG_INDEX__PREFIX", "demo-")
    monkeypatch.setenv("DIEMNONG_ALERTS__SMTP__PORT", "2525")
    monkeypatch.setenv("DIEMNONG_DATA_DIR", "/tmp/x")
    settings = Settings()
    assert settings.engine.url == "http://127.0.0.1:9299"
    assert settings.index.prefix == "demo-"
    assert settings.alerts.smtp.port == 2525
    assert settings.data_dir == Path("/tmp/x")


def test_secrets_have_no_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.api.secret_key is None
    assert settings.alerts.smtp.password is None


def test_bad_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMNONG_ALERTS__SMTP__SECURITY", "ssl3")
    with pytest.raises(ValueError, match="security"):
        Settings()


def test_readme_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    missing = [row.env for row in settings_rows() if f"`{row.env}`" not in readme]
    assert missing == []


def test_a_wrong_setting_ends_a_command_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from diemnong.cli import app

    monkeypatch.setenv("DIEMNONG_INDEX__ARTICLE_REFRESH_S", "0")
    monkeypatch.setenv("DIEMNONG_CRAWLER__PAGE_WORKERS", "many")
    result = CliRunner().invoke(app, ["sources", "list"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        "error: DIEMNONG_INDEX__ARTICLE_REFRESH_S='0': Input should be greater than 0",
        "error: DIEMNONG_CRAWLER__PAGE_WORKERS='many': Input should be a valid integer, "
        "unable to parse string as an integer",
    ]
    assert "Traceback" not in result.output
