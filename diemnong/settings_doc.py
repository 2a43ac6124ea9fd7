"""Every setting as (environment variable, default, description), for the README and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, SecretStr

from diemnong.settings import Settings


@dataclass(frozen=True)
class SettingRow:
    env: str
    default: str
    description: str


def _render(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Path) and value.is_absolute() and str(value).startswith(str(Path.home())):
        return "~/" + str(value.relative_to(Path.home()))
    return str(value)


def _walk(model: type[BaseModel], prefix: str) -> list[SettingRow]:
    rows: list[SettingRow] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        env = f"{prefix}{name.upper()}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_walk(annotation, f"{env}__"))
            continue
        default = field.get_default(call_default_factory=True)
        description = " ".join((field.description or "").split())  # one table row per setting
        rows.append(SettingRow(env, _render(default), description))
    return rows


def settings_rows() -> list[SettingRow]:
    return _walk(Settings, "DIEMNONG_")


def markdown_table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for row in settings_rows():
        lines.append(f"| `{row.env}` | `{row.default}` | {row.description} |")
    return "\n".join(lines)
