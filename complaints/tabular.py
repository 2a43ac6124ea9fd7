"""Import and export of the complaint register as CSV or XLSX.

An import is all or nothing: every row is read, turned into a case and checked (cells, dates,
duplicate case numbers, status changes against what is stored) before anything is written; one
bad row and nothing is. Rows are upserted by case number, so re-importing a file changes nothing.
A file may hold only some columns: a missing column leaves the stored field as it is, an empty
cell clears a text, list, date or yes/no field but leaves a coded one (status, channel, ...).

Spreadsheets run formulas, so exported text that starts with = + - @ is neutralised (CSV: a
leading apostrophe, removed again on import; XLSX: a text cell with Excel's quote prefix), and a
formula cell in an imported workbook is refused.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from complaints.columns import (
    BY_KEY,
    COLUMNS,
    REQUIRED,
    STATUSES,
    Cell,
    Column,
    is_empty,
    match_header,
)
from complaints.privacy import Role, visible_fields
from complaints.register import ComplaintChange, ComplaintRegister, IllegalTransition
from complaints.rows import (
    FormulaCell,
    ParsedRow,
    RowError,
    build_complaint,
    complaint_cells,
    parse_row,
)
from indexer.models import Complaint, ComplaintKind

Format = Literal["csv", "xlsx"]
MAX_BYTES = 20 * 1024 * 1024
_HEADER_SCAN_ROWS = 10
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_VN_LETTERS = frozenset(
    unicodedata.normalize("NFC", base + tone)
    for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
    for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
) | frozenset("đĐ")
_PUNCTUATION = frozenset("–—‘’“”…•°€₫№\u00a0")


class TableFileError(ValueError):
    """A file that cannot be imported at all (format, encoding, header)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.vi = vi
        self.en = en


@dataclass
class Table:
    format: Format
    encoding: str | None
    rows: list[tuple[int, list[Cell]]]


@dataclass
class ImportReport:
    file: str
    format: Format
    encoding: str | None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


# -- reading files ---------------------------------------------------------------------------


def _plausible_vietnamese(text: str) -> bool:
    """Decoded text whose non-ASCII characters are all Vietnamese letters or common marks
    (a TCVN3, VNI or other file read as windows-1258 shows "¸", "ø", "ñ" ...)."""
    return all(ord(char) < 128 or char in _VN_LETTERS or char in _PUNCTUATION for char in set(text))


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding of a CSV: UTF-8 (with or without BOM) or windows-1258."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableFileError(
            "tệp mã UTF-16: hãy lưu lại dạng 'CSV UTF-8'",
            "the file is UTF-16: save it again as 'CSV UTF-8'",
        )
    if b"\x00" in data:
        raise TableFileError("không phải tệp văn bản CSV", "not a CSV text file (binary data)")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise TableFileError(
                f"tệp có BOM UTF-8 nhưng lỗi mã ở byte {exc.start}",
                f"the file starts with a UTF-8 BOM but byte {exc.start} is not UTF-8",
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        text = ""
    if text and _plausible_vietnamese(text):
        return text, "windows-1258"
    raise TableFileError(
        "không nhận ra bảng mã (chỉ nhận UTF-8 hoặc Windows-1258; TCVN3/VNI cần chuyển mã); "
        f"dòng {line} không phải UTF-8",
        "unknown encoding: only UTF-8 and windows-1258 are accepted "
        f"(convert TCVN3/VNI files to Unicode first); line {line} is not UTF-8",
    )


def _unquote(value: str) -> str:
    if value.startswith("'") and value[1:2] in _DANGEROUS and len(value) > 1:
        return value[1:]
    return value


def _read_csv(data: bytes) -> Table:
    text, encoding = decode(data)
    if not text.strip():
        raise TableFileError("tệp rỗng", "the file is empty")
    best: list[list[str]] | None = None
    best_score = -1
    for delimiter in (",", ";", "\t"):
        try:
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise TableFileError(f"tệp CSV lỗi: {exc}", f"malformed CSV: {exc}") from None
        score = max(
            (
                sum(match_header(cell) is not None for cell in record)
                for record in records[:_HEADER_SCAN_ROWS]
            ),
            default=0,
        )
        if score > best_score:
            best, best_score = records, score
    assert best is not None
    rows: list[tuple[int, list[Cell]]] = [
        (number, [_unquote(cell) for cell in record]) for number, record in enumerate(best, start=1)
    ]
    return Table("csv", encoding, rows)


def _xlsx_cell(cell: Any) -> Cell:
    value = cell.value
    if cell.data_type == "f":
        return FormulaCell(str(value))
    if isinstance(value, time | timedelta):
        return str(value)
    return value  # type: ignore[no-any-return]


def _read_xlsx(path: Path) -> Table:
    try:
        workbook = load_workbook(path, data_only=False)
    except Exception as exc:  # a broken package raises anything from KeyError to lxml errors
        raise TableFileError(
            f"không đọc được tệp XLSX: {exc}", f"cannot read the XLSX file: {exc}"
        ) from None
    chosen = None
    for sheet in sorted(workbook.worksheets, key=lambda sheet: sheet is not workbook.active):
        rows = [
            (number, [_xlsx_cell(cell) for cell in row])
            for number, row in enumerate(sheet.iter_rows(min_row=1), start=1)
        ]
        if chosen is None:
            chosen = rows
        if any(_has_case_column(cells) for _, cells in rows[:_HEADER_SCAN_ROWS]):
            chosen = rows
            break
    return Table("xlsx", None, chosen or [])


def _has_case_column(cells: Sequence[Cell]) -> bool:
    return any(match_header(cell) is BY_KEY["case_number"] for cell in cells)


def read_table(path: Path) -> Table:
    """The rows of a CSV or XLSX file (recognised by content, not by name)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise TableFileError(f"không mở được tệp: {exc}", f"cannot open the file: {exc}") from None
    if size == 0:
        raise TableFileError("tệp rỗng", "the file is empty")
    if size > MAX_BYTES:
        raise TableFileError(
            f"tệp quá lớn (tối đa {MAX_BYTES // 2**20} MB)",
            f"the file is too large (at most {MAX_BYTES // 2**20} MB)",
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableFileError(
            "tệp Excel 97-2003 (.xls) hoặc có mật khẩu: hãy lưu lại dạng .xlsx",
            "an Excel 97-2003 (.xls) or password-protected file: save it as .xlsx",
        )
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise TableFileError("tệp không phải XLSX", "the file is not an XLSX workbook")
    return _read_csv(path.read_bytes())


# -- the header ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    row: int
    columns: dict[int, Column]
    titles: dict[str, str]
    ignored: list[str]


def find_header(table: Table) -> Header:
    """The header row: of the first rows, the one naming the most known columns (a register
    often starts with a title line)."""
    best: tuple[int, list[Cell]] | None = None
    best_count = 0
    for number, cells in table.rows[:_HEADER_SCAN_ROWS]:
        count = sum(match_header(cell) is not None for cell in cells)
        if count > best_count:
            best, best_count = (number, cells), count
    expected = ", ".join(column.header for column in REQUIRED)
    if best is None:
        raise TableFileError(
            f"không tìm thấy dòng tiêu đề; cần các cột: {expected}",
            f"no header row found; required columns: {expected}",
        )
    number, cells = best
    columns: dict[int, Column] = {}
    titles: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        column = match_header(cell)
        if column is None:
            if not is_empty(cell):
                ignored.append(str(cell).strip())
            continue
        if column.key in titles:
            raise TableFileError(
                f"cột '{column.header}' xuất hiện hai lần ('{titles[column.key]}', '{cell}')",
                f"column '{column.key}' appears twice ('{titles[column.key]}', '{cell}')",
            )
        columns[index] = column
        titles[column.key] = str(cell).strip()
    missing = [column for column in REQUIRED if column.key not in titles]
    if missing:
        names = ", ".join(f"{column.header} ({column.key})" for column in missing)
        raise TableFileError(f"thiếu cột bắt buộc: {names}", f"missing required columns: {names}")
    orphans = [key for key in ("address", "id_number", "phone", "representative") if key in titles]
    if orphans and "complainant" not in titles:
        raise TableFileError(
            f"các cột {', '.join(titles[k] for k in orphans)} cần cột 'Người đứng đơn'",
            f"columns {', '.join(orphans)} need the 'Người đứng đơn' (complainant) column",
        )
    return Header(number, columns, titles, ignored)


# -- import ----------------------------------------------------------------------------------


def _today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def import_file(
    path: Path,
    register: ComplaintRegister,
    by: str,
    *,
    dry_run: bool = False,
    today: date | None = None,
    tz: str = "Asia/Ho_Chi_Minh",
) -> ImportReport:
    """Check every row of ``path``, then (unless ``dry_run`` or any row is bad) upsert them all.

    Raises `TableFileError` when the file as a whole cannot be read.
    """
    table = read_table(path)
    header = find_header(table)
    report = ImportReport(path.name, table.format, table.encoding, dry_run=dry_run)
    report.ignored_columns = header.ignored
    rows: list[ParsedRow] = []
    first_row: dict[str, int] = {}
    for number, cells in table.rows:
        if number <= header.row or all(is_empty(cell) for cell in cells):
            continue
        row, errors = parse_row(number, cells, header.columns, header.titles)
        report.rows += 1
        report.errors += errors
        case = row.case_number
        if case and case in first_row:
            report.errors.append(
                RowError(
                    number,
                    header.titles["case_number"],
                    case,
                    f"trùng số hồ sơ với dòng {first_row[case]}",
                    f"duplicate case number (also on row {first_row[case]})",
                )
            )
        elif case:
            first_row[case] = number
        if not errors:
            rows.append(row)
    if report.rows == 0:
        raise TableFileError("tệp không có dòng dữ liệu", "the file has no data rows")
    changes = _plan(rows, header, register, by, today or _today(tz), path.name, report)
    if report.errors:
        report.errors.sort(key=lambda error: error.row)
        return report
    for change in changes:
        setattr(report, change.action, getattr(report, change.action) + 1)
    if dry_run:
        return report
    for change in changes:
        register.commit(change)
    register.refresh()
    report.written = True
    return report


def _plan(
    rows: list[ParsedRow],
    header: Header,
    register: ComplaintRegister,
    by: str,
    today: date,
    source: str,
    report: ImportReport,
) -> list[ComplaintChange]:
    changes: list[ComplaintChange] = []
    for row in rows:
        existing = register.get(row.case_number)
        complaint, errors = build_complaint(row, header.titles, existing, today)
        report.errors += errors
        if complaint is None or errors:
            continue
        try:
            changes.append(
                register.plan(complaint, by, existing=existing, note=f"nhập từ tệp {source}")
            )
        except IllegalTransition as exc:
            report.errors.append(
                RowError(
                    row.row,
                    header.titles.get("status", "status"),
                    str(row.raw.get("status") or ""),
                    f"không được chuyển trạng thái từ '{STATUSES.label(exc.old)}' sang "
                    f"'{STATUSES.label(exc.new)}'",
                    f"illegal status change from {exc.old.value!r} to {exc.new.value!r}",
                )
            )
    return changes


# -- export ----------------------------------------------------------------------------------


def export_columns(role: Role = Role.ADMIN) -> tuple[Column, ...]:
    """The columns a role's export holds: personal columns it never sees are left out."""
    visible = visible_fields(role, ComplaintKind.COMPLAINT)
    return tuple(c for c in COLUMNS if c.personal is None or c.personal in visible)


def _neutral(value: str) -> str:
    return "'" + value if value.startswith(_DANGEROUS) else value


def write_csv(complaints: Iterable[Complaint], path: Path, columns: tuple[Column, ...]) -> int:
    """UTF-8 with BOM (Excel then reads the Vietnamese right); returns the rows written."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([column.header for column in columns])
        for complaint in complaints:
            cells = complaint_cells(complaint, columns)
            writer.writerow([_csv_text(cell) for cell in cells])
            count += 1
    return count


def _csv_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime | date):
        return f"{cell:%d/%m/%Y}"
    return _neutral(str(cell))


def write_xlsx(complaints: Iterable[Complaint], path: Path, columns: tuple[Column, ...]) -> int:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sổ theo dõi đơn"
    sheet.append([column.header for column in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    count = 0
    for number, complaint in enumerate(complaints, start=2):
        for index, value in enumerate(complaint_cells(complaint, columns), start=1):
            cell = sheet.cell(row=number, column=index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
                cell.quotePrefix = value.startswith(_DANGEROUS)
            elif isinstance(value, date):
                cell.number_format = "DD/MM/YYYY"
        count += 1
    for index, column in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.header) + 4))
    workbook.save(path)
    return count


def export_file(
    complaints: Iterable[Complaint],
    path: Path,
    fmt: Format,
    columns: tuple[Column, ...] = COLUMNS,
) -> int:
    """Write ``complaints`` (already redacted for the reader, see complaints.audit) to ``path``."""
    writer = write_xlsx if fmt == "xlsx" else write_csv
    return writer(complaints, path, columns)
