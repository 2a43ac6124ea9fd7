"""`diemnong backup create|list|restore`: snapshots of every diemnong index."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from diemnong.commands.context import OPERATOR_ERRORS, context
from indexer.layout import IndexNames
from indexer.snapshots import SnapshotError, create_snapshot, list_snapshots, restore_snapshot

app = typer.Typer(help="Back up and restore the indices (register, statements, articles…).")
ERRORS = (*OPERATOR_ERRORS, SnapshotError)


@app.command()
def create(ctx: typer.Context) -> None:
    """Snapshot every index now (incremental: only what changed since the last one is copied)."""
    cli = context(ctx)
    try:
        engine = cli.engine()
        snapshot = create_snapshot(engine, IndexNames(cli.settings.index.prefix))
    except ERRORS as error:
        raise cli.fail(error) from None
    cli.console.print(f"{snapshot.name}: {len(snapshot.indices)} indices, {snapshot.state}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """The snapshots of this installation, oldest first."""
    cli = context(ctx)
    try:
        snapshots = list_snapshots(cli.engine(), IndexNames(cli.settings.index.prefix))
    except ERRORS as error:
        raise cli.fail(error) from None
    table = Table("snapshot", "started (UTC)", "indices", "state")
    for snapshot in snapshots:
        started = f"{snapshot.started_at:%Y-%m-%d %H:%M}" if snapshot.started_at else "?"
        table.add_row(snapshot.name, started, str(len(snapshot.indices)), snapshot.state)
    cli.console.print(table)


@app.command()
def restore(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Snapshot name from 'diemnong backup list'.")],
    replace: Annotated[
        bool, typer.Option(help="Delete the current indices of the snapshot first (data loss).")
    ] = False,
) -> None:
    """Restore a snapshot; stop the crawler, alerts worker and web app first."""
    cli = context(ctx)
    try:
        restored = restore_snapshot(
            cli.engine(), IndexNames(cli.settings.index.prefix), name, replace=replace
        )
    except ERRORS as error:
        raise cli.fail(error) from None
    cli.console.print(f"restored {len(restored)} indices from {name}")
