"""`diemnong serve` (the web app) and `diemnong demo` (everything on one machine)."""

from __future__ import annotations

import typer
import uvicorn

from api.app import create_app
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout


def _serve(cli: CliContext) -> None:
    api = cli.settings.api
    app = create_app(cli.settings)
    uvicorn.run(app, host=api.host, port=api.port, log_level="info")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(ctx: typer.Context) -> None:
        """Run the web app and JSON API (needs a running, set-up engine)."""
        _serve(context(ctx))

    @app.command()
    def demo(ctx: typer.Context) -> None:
        """Start the embedded engine, set up the indices and serve the web app; Ctrl-C stops all."""
        cli = context(ctx)
        embedded = EmbeddedEngine(cli.settings)
        started_here = False
        try:
            if not cli.settings.engine.url:
                started_here = not embedded.status().running
                cli.console.print("Khởi động máy tìm kiếm (OpenSearch nhúng)…")
                cli.console.print(embedded.start().message)
            engine = cli.engine()
            created = apply_layout(
                engine, IndexNames(cli.settings.index.prefix), cli.settings.index
            )
            engine.close()
            cli.console.print(f"Chỉ mục: {', '.join(created) or 'đã có sẵn'}")
            cli.console.print(
                f"Mở trình duyệt: {cli.settings.api.public_url}/health  (Ctrl-C để dừng)"
            )
            _serve(cli)
        except OPERATOR_ERRORS as error:
            raise cli.fail(error) from None
        finally:
            if started_here:
                cli.console.print(f"Dừng máy tìm kiếm: {embedded.stop()}")
