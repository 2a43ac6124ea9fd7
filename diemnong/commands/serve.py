"""`diemnong serve`: the web app and JSON API."""

from __future__ import annotations

import typer
import uvicorn

from api.app import create_app
from api.auth import MissingSecretKey
from diemnong.commands.context import CliContext, context


def _serve(cli: CliContext) -> None:
    api = cli.settings.api
    try:
        app = create_app(cli.settings)
    except MissingSecretKey as error:
        raise cli.fail(error) from None
    uvicorn.run(app, host=api.host, port=api.port, log_level="info")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(ctx: typer.Context) -> None:
        """Run the web app and JSON API (needs a running, set-up engine)."""
        _serve(context(ctx))
