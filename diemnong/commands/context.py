"""What every command receives: the settings, built once, and a console."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from pydantic import ValidationError
from rich.console import Console

from diemnong.settings import Settings
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.connection import open_engine
from indexer.engine.embedded import EngineError
from indexer.engine.java import JavaNotFound
from indexer.engine.maven import MavenError
from indexer.layout import IndexNames

OPERATOR_ERRORS = (EngineError, EngineUnavailable, EngineRequestError, JavaNotFound, MavenError)


@dataclass
class CliContext:
    settings: Settings
    console: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    @classmethod
    def from_environment(cls) -> CliContext:
        """The settings from DIEMNONG_* and .env; a wrong value ends the command with one
        line per setting (its variable and what is wrong), not a traceback."""
        try:
            return cls(settings=Settings())
        except ValidationError as error:
            err = Console(stderr=True)
            for problem in error.errors():
                where = "__".join(str(part) for part in problem["loc"]).upper()
                err.print(
                    f"[bold red]error:[/] DIEMNONG_{where}={problem.get('input')!r}: "
                    f"{problem['msg']}",
                    highlight=False,
                    soft_wrap=True,
                )
            raise typer.Exit(code=2) from None

    def engine(self) -> Engine:
        return open_engine(self.settings)

    def services_names(self) -> IndexNames:
        return IndexNames(self.settings.index.prefix)

    def fail(self, error: Exception) -> typer.Exit:
        """Print a one-line error (never a traceback) and return the exit to raise."""
        self.err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return typer.Exit(code=1)


def context(ctx: typer.Context) -> CliContext:
    obj = ctx.obj
    if not isinstance(obj, CliContext):
        obj = CliContext.from_environment()
        ctx.obj = obj
    return obj
