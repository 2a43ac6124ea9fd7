"""The `diemnong` command. Settings are built here, once, and passed to every command."""

from __future__ import annotations

import typer

from diemnong.commands import alerts as alerts_commands
from diemnong.commands import backup as backup_commands
from diemnong.commands import complaints as complaints_commands
from diemnong.commands import crawl as crawl_commands
from diemnong.commands import demo as demo_commands
from diemnong.commands import engine as engine_commands
from diemnong.commands import serve as serve_commands
from diemnong.commands import setup as setup_commands
from diemnong.commands import sources as sources_commands
from diemnong.commands import users as users_commands
from diemnong.commands.context import CliContext

app = typer.Typer(
    name="diemnong",
    help="Theo dõi báo chí và truyền thông khủng hoảng — media monitoring for press offices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(engine_commands.app, name="engine")
app.add_typer(sources_commands.app, name="sources")
app.add_typer(complaints_commands.app, name="complaints")
app.add_typer(users_commands.app, name="users")
app.add_typer(alerts_commands.app, name="alerts")
app.add_typer(backup_commands.app, name="backup")
setup_commands.register(app)
setup_commands.register_settings(app)
serve_commands.register(app)
crawl_commands.register(app)
demo_commands.register(app)


@app.callback()
def _root(ctx: typer.Context) -> None:
    ctx.obj = CliContext.from_environment()


def main() -> None:
    app()
