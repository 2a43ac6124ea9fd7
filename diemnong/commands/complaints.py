"""`diemnong complaints import|export|list|show`: the complaint register from the command line.

`import` checks the whole file first and writes nothing when any row is bad (exit 1 with a
per-row report); `--dry-run` only checks. `show` and `export` disclose personal data only as far
as `--role` allows, and record who read it in the audit index first. `list` never shows
personal data.
"""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from complaints.audit import AuditLog, AuditUnavailable, disclose, disclose_many
from complaints.columns import CHANNELS, KINDS, STATUSES, SUBJECTS
from complaints.deadlines import compute_deadlines
from complaints.factory import build_register
from complaints.privacy import Role, redact
from complaints.register import ComplaintRegister
from complaints.rules import RuleFileError, load_holidays, load_rules
from complaints.tabular import ImportReport, TableFileError, export_columns, export_file
from complaints.tabular import import_file as import_table
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Complaint, ComplaintKind, ComplaintStatus

app = typer.Typer(
    help="Sổ theo dõi đơn thư — the complaint register: import, export, list, show.",
    no_args_is_help=True,
)

ERRORS = (*OPERATOR_ERRORS, TableFileError, AuditUnavailable)
_SHOWN_ERRORS = 50


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


UserOption = Annotated[
    str | None, typer.Option("--user", help="Who is reading (default: the system user).")
]
RoleOption = Annotated[Role, typer.Option(help="Your role: decides which personal data shows.")]


def _open(cli: CliContext) -> tuple[Engine, IndexNames]:
    engine = cli.engine()
    names = cli.services_names()
    if not engine.index_exists(names.complaints):
        engine.close()
        raise cli.fail(ValueError("no complaint register yet: run 'diemnong setup'"))
    return engine, names


def _register(engine: Engine, names: IndexNames, cli: CliContext) -> ComplaintRegister:
    """The one place the CLI builds the register: with matching and re-search of coverage."""
    return build_register(engine, names, cli.settings.complaints.repercolate_days)


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV (UTF-8 or windows-1258) or XLSX register.")],
    dry_run: Annotated[
        bool, typer.Option(help="Check the file and report; write nothing.")
    ] = False,
    user: UserOption = None,
) -> None:
    """Import a register file: all rows or none, upserted by case number (Số hồ sơ)."""
    cli = context(ctx)
    try:
        engine, names = _open(cli)
        try:
            report = import_table(
                file,
                _register(engine, names, cli),
                user or getpass.getuser(),
                dry_run=dry_run,
                tz=cli.settings.timezone,
            )
        finally:
            engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    _print_report(cli, report)
    if not report.ok:
        raise typer.Exit(code=1)


def _print_report(cli: CliContext, report: ImportReport) -> None:
    source = f"{report.file} ({report.format}{', ' + report.encoding if report.encoding else ''})"
    if report.ignored_columns:
        ignored = ", ".join(report.ignored_columns)
        cli.console.print(f"cột bỏ qua / ignored columns: {ignored}", highlight=False)
    if report.errors:
        table = Table(title=f"{len(report.errors)} lỗi / errors in {source}", show_lines=True)
        for column in ("Dòng / Row", "Cột / Column", "Giá trị / Value", "Lỗi / Error"):
            table.add_column(column, overflow="fold")
        for error in report.errors[:_SHOWN_ERRORS]:
            table.add_row(str(error.row), error.column, error.value, f"{error.vi}\n{error.en}")
        cli.console.print(table)
        more = len(report.errors) - _SHOWN_ERRORS
        if more > 0:
            cli.console.print(f"... và {more} lỗi nữa / and {more} more")
        cli.console.print(
            "[bold red]không ghi gì[/] / nothing written: sửa các dòng trên rồi nhập lại "
            "/ fix the rows above and import again",
            highlight=False,
        )
        return
    counts = (
        f"{report.rows} dòng / rows: tạo mới / created {report.created}, cập nhật / updated "
        f"{report.updated}, không đổi / unchanged {report.unchanged}"
    )
    what = "kiểm tra thử, không ghi / dry run, nothing written" if report.dry_run else "đã ghi"
    cli.console.print(f"{source}: {counts} — {what}", highlight=False)


@app.command()
def export(
    ctx: typer.Context,
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format.")] = FileFormat.CSV,
    output: Annotated[Path | None, typer.Option(help="File to write.")] = None,
    role: RoleOption = Role.ADMIN,
    user: UserOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open cases.")] = False,
) -> None:
    """Export the register with the import's column headers (personal data as --role allows)."""
    cli = context(ctx)
    target = output or Path(f"so-theo-doi-don-{date.today():%Y%m%d}.{fmt.value}")
    try:
        engine, names = _open(cli)
        try:
            complaints = _register(engine, names, cli).list(open_only=open_only)
            audit = AuditLog(engine, names)
            shown = disclose_many(complaints, role, user or getpass.getuser(), audit)
        finally:
            engine.close()
        count = export_file(shown, target, fmt.value, export_columns(role))
    except (*ERRORS, OSError) as error:
        raise cli.fail(error) from None
    cli.console.print(f"{count} hồ sơ / cases -> {target}", highlight=False)


@app.command("list")
def list_complaints(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open cases.")] = False,
    status: Annotated[ComplaintStatus | None, typer.Option(help="Only this status.")] = None,
    kind: Annotated[ComplaintKind | None, typer.Option(help="Only this kind.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
) -> None:
    """The cases of the register, by case number (no personal data)."""
    cli = context(ctx)
    try:
        engine, names = _open(cli)
        try:
            found = _register(engine, names, cli).list(
                open_only=open_only, kind=kind, status=status
            )
        finally:
            engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    cases = [redact(complaint, Role.VIEWER) for complaint in found]
    if as_json:
        payload = [
            complaint.model_dump(mode="json", exclude={"complainants"}) for complaint in cases
        ]
        cli.console.print_json(json.dumps(payload, ensure_ascii=False))
        return
    table = Table(title=f"{len(cases)} hồ sơ / cases")
    for column in ("Số hồ sơ", "Loại đơn", "Ngày nhận", "Trạng thái", "Lĩnh vực", "Đối tượng"):
        table.add_column(column, overflow="fold")
    table.add_column("Địa bàn", overflow="fold")
    for complaint in cases:
        table.add_row(
            complaint.case_number,
            KINDS.label(complaint.kind),
            f"{complaint.received_date:%d/%m/%Y}",
            STATUSES.label(complaint.status),
            SUBJECTS.label(complaint.subject_field),
            complaint.respondent,
            complaint.location.address_text,
        )
    cli.console.print(table)


@app.command()
def show(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="The case number (Số hồ sơ).")],
    role: RoleOption = Role.VIEWER,
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One case with its history and deadlines; personal data as --role allows (audited)."""
    cli = context(ctx)
    try:
        engine, names = _open(cli)
        try:
            stored = _register(engine, names, cli).get(case)
            if stored is None:
                raise cli.fail(ValueError(f"no case {case!r} in the register"))
            complaint = disclose(stored, role, user or getpass.getuser(), AuditLog(engine, names))
        finally:
            engine.close()
    except ERRORS as error:
        raise cli.fail(error) from None
    if as_json:
        cli.console.print_json(complaint.model_dump_json())
        return
    _print_case(cli, complaint)


def _print_case(cli: CliContext, complaint: Complaint) -> None:
    table = Table(title=f"Hồ sơ {complaint.case_number}", show_header=False, show_lines=True)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    people = "\n".join(
        "; ".join(
            part
            for part in (p.name, p.address, p.id_number, p.phone, "đại diện" * p.is_representative)
            if part
        )
        for p in complaint.complainants
    )
    rows = (
        ("Loại đơn", KINDS.label(complaint.kind)),
        ("Ngày nhận", f"{complaint.received_date:%d/%m/%Y}"),
        ("Nguồn đơn", CHANNELS.label(complaint.channel)),
        ("Người đứng đơn", people or "-"),
        ("Số người", str(complaint.people_count) + (" (đông người)" * complaint.is_mass_case)),
        ("Đối tượng bị khiếu nại", complaint.respondent),
        ("Nội dung", complaint.summary),
        ("Yêu cầu", complaint.request),
        ("Lĩnh vực", SUBJECTS.label(complaint.subject_field)),
        ("Địa bàn", complaint.location.address_text),
        ("Trạng thái", STATUSES.label(complaint.status)),
        ("Kết quả", complaint.outcome or "-"),
        ("Cán bộ thụ lý", complaint.officer or "-"),
        ("Ghi chú", complaint.notes),
    )
    for name, value in rows:
        table.add_row(name, value)
    cli.console.print(table)
    tz = ZoneInfo(cli.settings.timezone)
    for change in complaint.history:
        when = change.at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
        label = STATUSES.label(change.status)
        cli.console.print(f"  {when}  {label}  {change.by or '-'}  {change.note or ''}")
    _print_deadlines(cli, complaint)


def _print_deadlines(cli: CliContext, complaint: Complaint) -> None:
    try:
        rules = load_rules(cli.settings.complaints.rules_file)
        holidays = load_holidays(cli.settings.complaints.holidays_file)
    except RuleFileError as error:
        cli.err.print(f"deadlines not shown: {error}", highlight=False)
        return
    for deadline in compute_deadlines(complaint, rules, holidays):
        due = deadline.due
        shown = due.strftime("%d/%m/%Y %H:%M") if isinstance(due, datetime) else f"{due:%d/%m/%Y}"
        mark = " (tạm tính / provisional)" if deadline.provisional else ""
        cli.console.print(f"  hạn / due {shown}{mark}: {deadline.name} ({deadline.legal_basis})")
