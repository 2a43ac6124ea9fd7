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
