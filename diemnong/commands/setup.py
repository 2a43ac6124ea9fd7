"""`diemnong setup`: create the index templates and indices (idempotent)."""

from __future__ import annotations

import typer

from diemnong.commands.context import OPERATOR_ERRORS, context
from indexer.layout import IndexNames, apply_layout, drop_layout


def register(app: typer.Typer) -> None:
    @app.command()
    def setup(
        ctx: typer.Context,
        reset: bool = typer.Option(False, help="Delete every diemnong index first (data loss)."),
    ) -> None:
        """Create or update the index layout from indexer/templates (safe to repeat)."""
        cli = context(ctx)
        names = IndexNames(cli.settings.index.prefix)
        try:
            engine = cli.engine()
            if reset:
                drop_layout(engine, names)
            created = apply_layout(engine, names, cli.settings.index)
        except OPERATOR_ERRORS as error:
            raise cli.fail(error) from None
        what = ", ".join(created) if created else "nothing new (already set up)"
        cli.console.print(f"{engine.flavour} {'.'.join(map(str, engine.version))}: created {what}")


def register_settings(app: typer.Typer) -> None:
    @app.command("settings")
    def show_settings(ctx: typer.Context) -> None:
        """List every setting with its environment variable and default (Markdown)."""
        from diemnong.settings_doc import markdown_table

        context(ctx).console.print(markdown_table(), highlight=False, soft_wrap=True)
