"""`diemnong alerts run|test-email|list`: the alerts worker and its outbox from the command line.

`run` keeps checking and sending until SIGTERM or SIGINT, which end it after the email being
sent (never half-way through the claim → send → journal → mark-sent sequence of one email).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from alerts.delivery import CrashHook, no_crash
from alerts.email import Composer, alert_message_id
from alerts.model import OutboxAlert, StoryRef
from alerts.rules import RulesFileError, load_rules
from alerts.smtp import Mailer, SendFailure
from alerts.store import AlertStore
from alerts.worker import AlertWorker, WorkerBusy
from diemnong.commands.context import OPERATOR_ERRORS, context
from indexer.layout import IndexNames, apply_layout
from indexer.models import AlertKind, AlertState, OutletKind, Severity

app = typer.Typer(
    help="Cảnh báo qua thư điện tử — the alerts worker, a test email, the outbox.",
    no_args_is_help=True,
)

CRASH_EXIT = 75


class CrashPoint(StrEnum):
    STORED = "stored"
    CLAIMED = "claimed"
    ACCEPTED = "accepted"
    SENT = "sent"


def crash_hook(point: str | None) -> CrashHook:
    """Test hook: end the process abruptly (no cleanup, like a kill) at ``point``."""
    if not point:
        return no_crash

    def crash(reached: str) -> None:
        if reached == point:
            sys.stderr.write(f"alerts worker: simulated crash after {reached}\n")
            sys.stderr.flush()
            os._exit(CRASH_EXIT)

    return crash


@app.command()
def run(
    ctx: typer.Context,
    rules: Annotated[
        Path | None,
        typer.Option(help="An alert rule file instead of the packaged alerts/data/rules.yaml."),
    ] = None,
    crash_after: Annotated[
        CrashPoint | None,
        typer.Option(hidden=True, help="Test hook: die abruptly after this step."),
    ] = None,
) -> None:
    """Check for alerts and send them by email until stopped (SIGTERM/SIGINT stop cleanly)."""
    cli = context(ctx)
    settings = cli.settings
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    point = crash_after.value if crash_after else getattr(settings.alerts, "crash_after", None)
    rules_file: Path | None = rules or getattr(settings.alerts, "rules_file", None)
    try:
        loaded = load_rules(rules_file)
        engine = cli.engine()
        apply_layout(engine, IndexNames(settings.index.prefix), settings.index)
        worker = AlertWorker(engine, settings, rules=loaded, crash=crash_hook(point))
    except (*OPERATOR_ERRORS, RulesFileError) as error:
        raise cli.fail(error) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    cli.err.print(f"alerts worker: polling every {settings.alerts.poll_interval_s:g} s")
    try:
        worker.run(stop)
    except WorkerBusy as error:
        raise cli.fail(error) from None
    finally:
        engine.close()
    cli.err.print("alerts worker: stopped")


def _sample(now: datetime) -> OutboxAlert:
    return OutboxAlert(
        id=f"test-{now:%Y%m%d%H%M%S}",
        kind=AlertKind.COMPLAINT_TOUCHED,
        severity=Severity.INFO,
        title="Thư thử nghiệm của hệ thống cảnh báo",
        reason="Đây là thư thử nghiệm cấu hình máy chủ thư (SMTP); không có sự việc nào.",
        created_at=now,
        subject_key="test",
        rule="test-email",
        stories=[
            StoryRef(
                article_id="test",
                title="Bài báo mẫu",
                outlet="diemnong",
                outlet_kind=OutletKind.OTHER,
                published_at=now,
                snippet="Đoạn trích mẫu của bài báo.",
            )
        ],
    )


@app.command("test-email")
def test_email(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="Where to send the test email.")],
) -> None:
    """Send one test email through the configured SMTP server (nothing is stored)."""
    cli = context(ctx)
    settings = cli.settings
    smtp = settings.alerts.smtp
    alert = _sample(datetime.now(UTC))
    composer = Composer(settings.api.public_url, smtp.sender, settings.timezone)
    message = composer.alert(alert, address, alert_message_id(alert.id, address, smtp.sender))
    try:
        Mailer(smtp).send(message)
    except SendFailure as error:
        raise cli.fail(error) from None
    cli.console.print(f"sent to {address} via {smtp.host}:{smtp.port} ({smtp.security})")


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    state: Annotated[AlertState | None, typer.Option(help="Only this delivery state.")] = None,
    kind: Annotated[AlertKind | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """The newest alerts in the outbox with their delivery state."""
    cli = context(ctx)
    names = IndexNames(cli.settings.index.prefix)
    try:
        engine = cli.engine()
        if not engine.index_exists(names.alerts):
            raise cli.fail(ValueError("no alerts index yet: run 'diemnong setup'"))
        alerts = AlertStore(engine, names).list(state, kind, limit)
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None
    zone = ZoneInfo(cli.settings.timezone)
    table = Table(title=f"{len(alerts)} cảnh báo")
    for column in ("created", "kind", "severity", "delivery", "title", "recipients"):
        table.add_column(column)
    for alert in alerts:
        states = ", ".join(f"{d.recipient}: {d.state.value}" for d in alert.deliveries)
        table.add_row(
            f"{alert.created_at.astimezone(zone):%d/%m %H:%M}",
            alert.kind.value,
            alert.severity.value,
            alert.delivery.value,
            alert.title,
            states or "—",
        )
    cli.console.print(table)


def main() -> None:
    """`python -c 'from diemnong.commands.alerts import main; main()'` until the CLI wires it."""
    app()
