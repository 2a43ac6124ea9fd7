"""Backups of every diemnong index as engine snapshots in a shared-filesystem repository.

The repository lives under the engine's own ``path.repo`` (the embedded engine sets it to
``<data_dir>/engine/snapshots``; docker-compose mounts a volume there), so diemnong never needs
to know where that is on disk: it asks the engine. Snapshots are incremental, consistent per
index, and hold the register, its audit trail, statements, users, alerts and the articles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from indexer.adapter import Engine, EngineRequestError
from indexer.layout import IndexNames

REPOSITORY = "diemnong-backups"


class SnapshotError(RuntimeError):
    """A backup or restore that cannot be done; the message says what to do."""


@dataclass(frozen=True)
class Snapshot:
    name: str
    state: str
    started_at: datetime | None
    indices: list[str]
    failures: int


def repository_root(engine: Engine) -> str:
    """The first ``path.repo`` of the engine's nodes: where snapshots may be written."""
    info = engine.request(
        "GET", "/_nodes/settings", params={"filter_path": "nodes.*.settings.path.repo"}
    )
    for node in info.get("nodes", {}).values():
        repo = node.get("settings", {}).get("path", {}).get("repo")
        if repo:
            return str(repo[0] if isinstance(repo, list) else repo)
    raise SnapshotError(
        "the engine has no snapshot folder: set path.repo on it (the embedded engine and "
        "docker-compose.yml do), then restart it"
    )


def ensure_repository(engine: Engine) -> str:
    """Register the shared-filesystem repository once; returns its folder on the engine."""
    location = f"{repository_root(engine).rstrip('/')}/{REPOSITORY}"
    engine.request(
        "PUT",
        f"/_snapshot/{REPOSITORY}",
        body={"type": "fs", "settings": {"location": location, "compress": True}},
    )
    return location


def _snapshot_prefix(names: IndexNames) -> str:
    return f"{names.prefix or 'diemnong-'}backup-"


def create_snapshot(engine: Engine, names: IndexNames, now: datetime | None = None) -> Snapshot:
    """Snapshot every index of the layout (with their aliases) and wait until it is done."""
    ensure_repository(engine)
    when = (now or datetime.now(UTC)).astimezone(UTC)
    name = f"{_snapshot_prefix(names)}{when:%Y%m%d-%H%M%S}"
    answer = engine.request(
        "PUT",
        f"/_snapshot/{REPOSITORY}/{name}",
        body={
            "indices": ",".join(names.all_patterns),
            "ignore_unavailable": True,
            "include_global_state": False,
        },
        params={"wait_for_completion": "true"},
    )
    snapshot = _parse(answer["snapshot"])
    if snapshot.state != "SUCCESS":
        raise SnapshotError(f"snapshot {name} ended {snapshot.state}: see the engine's log")
    return snapshot


def list_snapshots(engine: Engine, names: IndexNames) -> list[Snapshot]:
    """This layout's snapshots, oldest first."""
    ensure_repository(engine)
    answer = engine.request("GET", f"/_snapshot/{REPOSITORY}/_all")
    ours = [
        s for s in answer.get("snapshots", []) if s["snapshot"].startswith(_snapshot_prefix(names))
    ]
    return sorted((_parse(s) for s in ours), key=lambda s: s.name)


def restore_snapshot(
    engine: Engine, names: IndexNames, name: str, replace: bool = False
) -> list[str]:
    """Restore snapshot ``name``; with ``replace`` the current indices it holds are deleted first.

    Without ``replace`` an existing index blocks the restore (the engine refuses to overwrite
    an open index), so a restore never destroys data by accident.
    """
    ensure_repository(engine)
    try:
        info = engine.request("GET", f"/_snapshot/{REPOSITORY}/{name}")
    except EngineRequestError as error:
        if error.status == 404:
            raise SnapshotError(f"no snapshot named {name}: see 'diemnong backup list'") from None
        raise
    indices: list[str] = info["snapshots"][0]["indices"]
    existing = [i for i in indices if _exists(engine, i)]
    if existing and not replace:
        raise SnapshotError(
            f"{len(existing)} indices of this snapshot exist ({', '.join(sorted(existing)[:3])}"
            f"{'…' if len(existing) > 3 else ''}): restore with --replace to overwrite them"
        )
    for index in existing:
        engine.request("DELETE", f"/{index}")
    engine.request(
        "POST",
        f"/_snapshot/{REPOSITORY}/{name}/_restore",
        body={"indices": ",".join(indices), "include_aliases": True, "include_global_state": False},
        params={"wait_for_completion": "true"},
    )
    return sorted(indices)


def _exists(engine: Engine, index: str) -> bool:
    try:
        engine.request(
            "GET", f"/{index}/_settings", params={"filter_path": "*.settings.index.uuid"}
        )
    except EngineRequestError as error:
        if error.status == 404:
            return False
        raise
    return True


def _parse(raw: dict[str, Any]) -> Snapshot:
    started = raw.get("start_time_in_millis")
    return Snapshot(
        name=raw["snapshot"],
        state=raw.get("state", "?"),
        started_at=datetime.fromtimestamp(started / 1000, UTC) if started else None,
        indices=sorted(raw.get("indices", [])),
        failures=len(raw.get("failures", [])),
    )
