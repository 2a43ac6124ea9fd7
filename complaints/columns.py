"""The columns of a complaint register spreadsheet and how each cell reads and writes.

Offices keep their registers in Excel with Vietnamese headers (domain.md §3) that vary in case,
diacritics and spacing ("SỐ HỒ SƠ", "So ho so", "Số hồ sơ (*)"), so a header is matched by its
folded form; each column also answers to an English alias (``case_number``). Values are
Vietnamese ("Tố cáo", "Có", 03/09/2025); a cell that cannot be read raises `CellError` with a
message in Vietnamese and English. How a row becomes a `Complaint` is in complaints.tabular.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from complaints.privacy import REDACTED, PersonalField
from indexer.models import Channel, ComplaintKind, ComplaintStatus
from indexer.vietnamese import fold, normalize

Cell = str | int | float | bool | date | datetime | None
Kind = Literal["text", "list", "people", "date", "bool", "int", "label"]
SEPARATOR = ";"


class CellError(ValueError):
    """A cell that cannot be read; ``vi`` and ``en`` say why."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.vi = vi
        self.en = en


def header_key(text: str) -> str:
    """ "Số hồ sơ (*)", "SO HO SO", "so_ho_so" -> "so ho so"."""
    return re.sub(r"[^0-9a-z]+", " ", fold(normalize(text))).strip()


@dataclass(frozen=True)
class Labels:
    """Coded values: (value, Vietnamese label written on export, other accepted spellings)."""

    entries: tuple[tuple[str, str, tuple[str, ...]], ...]
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for value, label, synonyms in self.entries:
            for spelling in (value, label, *synonyms):
                key = header_key(spelling)
                if lookup.get(key, value) != value:
                    raise ValueError(f"label {spelling!r} means two values")
                lookup[key] = value
        object.__setattr__(self, "_lookup", lookup)

    def parse(self, text: str) -> str:
        value = self._lookup.get(header_key(text))
        if value is None:
            accepted = ", ".join(label for _, label, _ in self.entries)
            raise CellError(
                f"giá trị không hợp lệ, dùng một trong: {accepted}",
                f"unknown value, use one of: {accepted}",
            )
        return value

    def label(self, value: str) -> str:
        for known, label, _ in self.entries:
            if known == value:
                return label
        return value


KINDS = Labels(
    (
        (ComplaintKind.COMPLAINT, "Khiếu nại", ("complaint", "KN")),
        (ComplaintKind.DENUNCIATION, "Tố cáo", ("denunciation", "TC")),
        (ComplaintKind.PETITION, "Kiến nghị", ("petition",)),
        (ComplaintKind.FEEDBACK, "Phản ánh", ("feedback",)),
    )
)
CHANNELS = Labels(
    (
        (Channel.IN_PERSON, "Trực tiếp", ("in_person", "tiếp công dân", "trực tiếp tại trụ sở")),
        (Channel.POST, "Bưu chính", ("post", "qua bưu điện", "bưu điện", "qua đường bưu chính")),
        (Channel.ONLINE, "Trực tuyến", ("online", "qua mạng", "email", "cổng dịch vụ công")),
        (Channel.PRESS, "Báo chí chuyển", ("press", "báo chí", "cơ quan báo chí chuyển")),
    )
)
STATUSES = Labels(
    (
        (ComplaintStatus.RECEIVED, "Đã tiếp nhận", ("tiếp nhận", "mới nhận", "chưa thụ lý")),
        (ComplaintStatus.ACCEPTED, "Đã thụ lý", ("thụ lý",)),
        (ComplaintStatus.VERIFYING, "Đang xác minh", ("xác minh", "đang giải quyết")),
        (ComplaintStatus.DECIDED, "Đã có quyết định", ("đã giải quyết", "đã ban hành quyết định")),
        (ComplaintStatus.APPEALED, "Khiếu nại tiếp", ("khiếu nại lần hai", "đang khiếu nại tiếp")),
        (ComplaintStatus.CLOSED, "Kết thúc", ("đã kết thúc", "đóng hồ sơ", "lưu hồ sơ")),
        (ComplaintStatus.WITHDRAWN, "Đã rút đơn", ("rút đơn",)),
        (ComplaintStatus.REFUSED, "Không thụ lý", ("từ chối thụ lý", "trả lại đơn")),
        (
            ComplaintStatus.FORWARDED,
            "Đã chuyển đơn",
            ("chuyển đơn", "chuyển cơ quan có thẩm quyền"),
        ),
    )
)
SUBJECTS = Labels(
    (
        ("land", "Đất đai", ("thu hồi đất", "bồi thường, hỗ trợ, tái định cư", "GPMB")),
        ("housing_planning", "Nhà ở, quy hoạch", ("nhà ở", "quy hoạch", "quy hoạch, xây dựng")),
        ("environment", "Môi trường", ("tài nguyên môi trường", "ô nhiễm môi trường")),
        ("social_policy", "Chính sách xã hội, người có công", ("chính sách", "người có công")),
        ("labour", "Lao động, tiền lương", ("lao động", "tiền lương", "bảo hiểm xã hội")),
        ("officials", "Cán bộ, công chức", ("cán bộ", "tham nhũng", "hành vi cán bộ")),
        ("justice", "Tư pháp, thi hành án", ("tư pháp", "thi hành án")),
        ("other", "Khác", ("lĩnh vực khác",)),
    )
)
COMPETENCE = Labels(
    (
        ("ours", "Thuộc thẩm quyền", ("có", "yes")),
        ("forwarded", "Không thuộc thẩm quyền", ("không", "no", "chuyển")),
    )
)
INSTANCES = Labels(
    (
        ("1", "Lần đầu", ("lần 1", "lần thứ nhất", "first")),
        ("2", "Lần hai", ("lần 2", "lần thứ hai", "second")),
    )
)
_YES = frozenset({"co", "c", "x", "yes", "y", "true", "1", "dung"})
_NO = frozenset({"khong", "k", "no", "n", "false", "0", "sai"})


@dataclass(frozen=True)
class Column:
    """One column: ``key`` is its English alias and names it in code; ``header`` is written."""

    key: str
    header: str
    kind: Kind = "text"
    aliases: tuple[str, ...] = ()
    required: bool = False
    labels: Labels | None = None
    bounds: tuple[int, int] | None = None
    personal: PersonalField | None = None


COLUMNS: tuple[Column, ...] = (
    Column("case_number", "Số hồ sơ", aliases=("Số đơn", "Mã hồ sơ"), required=True),
    Column("kind", "Loại đơn", "label", ("Phân loại đơn",), True, labels=KINDS),
    Column("received_date", "Ngày nhận", "date", ("Ngày nhận đơn", "Ngày tiếp nhận"), True),
    Column("channel", "Nguồn đơn", "label", ("Hình thức nhận",), labels=CHANNELS),
    Column(
        "complainant",
        "Người đứng đơn",
        "people",
        ("Họ tên", "Người khiếu nại"),
        personal=PersonalField.NAME,
    ),
    Column(
        "address", "Địa chỉ", "people", ("Địa chỉ người đứng đơn",), personal=PersonalField.ADDRESS
    ),
    Column(
        "id_number",
        "Số CCCD",
        "people",
        ("Số CCCD/CMND", "CCCD", "Số định danh"),
        personal=PersonalField.ID_NUMBER,
    ),
    Column("phone", "Số điện thoại", "people", ("Điện thoại", "SĐT"), personal=PersonalField.PHONE),
    Column("people_count", "Số người", "int", ("Số người đứng đơn",), bounds=(1, 100_000)),
    Column("representative", "Người đại diện", "people", personal=PersonalField.NAME),
    Column(
        "respondent",
        "Đối tượng bị khiếu nại",
        aliases=("Đối tượng bị khiếu nại, tố cáo", "Người bị khiếu nại", "Bị khiếu nại"),
    ),
    Column("summary", "Nội dung", aliases=("Tóm tắt nội dung", "Nội dung đơn")),
    Column("request", "Yêu cầu", aliases=("Yêu cầu của người đứng đơn",)),
    Column("subject_field", "Lĩnh vực", "label", labels=SUBJECTS),
    Column("location", "Địa bàn", aliases=("Địa điểm", "Nơi xảy ra vụ việc")),
    Column("competence", "Thẩm quyền", "label", ("Thuộc thẩm quyền",), labels=COMPETENCE),
    Column("forwarded_to", "Chuyển đến", aliases=("Cơ quan chuyển đến", "Nơi chuyển đơn")),
    Column("acceptance_date", "Ngày thụ lý", "date"),
    Column("instance", "Lần giải quyết", "label", ("Lần khiếu nại",), labels=INSTANCES),
    Column("is_complex", "Phức tạp", "bool", ("Vụ việc phức tạp",)),
    Column("is_remote_area", "Vùng sâu vùng xa", "bool", ("Vùng sâu, vùng xa",)),
    Column("extensions", "Gia hạn", "int", ("Số lần gia hạn",), bounds=(0, 2)),
    Column("status", "Trạng thái", "label", ("Tình trạng", "Tiến độ"), labels=STATUSES),
    Column("decision_date", "Ngày quyết định", "date", ("Ngày ban hành quyết định",)),
    Column("outcome", "Kết quả", aliases=("Kết quả giải quyết",)),
    Column("officer", "Cán bộ thụ lý", aliases=("Cán bộ xử lý", "Người thụ lý")),
    Column("is_mass_case", "Đông người", "bool", ("Đơn đông người",)),
    Column("is_hot_spot", "Điểm nóng", "bool", ("Vụ việc điểm nóng",)),
    Column("projects", "Dự án", "list", ("Công trình, dự án",)),
    Column("keywords", "Từ khóa", "list"),
    Column("aliases", "Tên gọi khác", "list", ("Tên khác",)),
    Column("notes", "Ghi chú"),
)
BY_KEY: Mapping[str, Column] = {column.key: column for column in COLUMNS}
REQUIRED = tuple(column for column in COLUMNS if column.required)


def _header_table(columns: Iterable[Column]) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for column in columns:
        for spelling in (column.key, column.header, *column.aliases):
            key = header_key(spelling)
            if table.get(key, column) is not column:
                raise ValueError(f"header {spelling!r} names two columns")
            table[key] = column
    return table


_HEADERS = _header_table(COLUMNS)


def match_header(text: Cell) -> Column | None:
    """The column a header cell names, or None (row numbers "STT", unknown columns)."""
    if not isinstance(text, str) or not text.strip():
        return None
    return _HEADERS.get(header_key(text))


# -- reading cells ---------------------------------------------------------------------------


def _text(raw: Cell) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime | date):
        raise CellError("ô chứa ngày tháng, cần văn bản", "cell holds a date, text expected")
    text = normalize(str(raw))
    if REDACTED in text:
        raise CellError(
            f"ô chứa dữ liệu đã ẩn {REDACTED}, không thể nhập lại",
            f"cell holds the redaction mark {REDACTED}; redacted exports cannot be imported",
        )
    return text


_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _date(raw: Cell) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = _text(raw)
    found = _DMY.fullmatch(text)
    parts = (found.group(3), found.group(2), found.group(1)) if found else None
    iso = _ISO.fullmatch(text)
    if iso:
        parts = (iso.group(1), iso.group(2), iso.group(3))
    if parts is None:
        raise CellError("ngày không hợp lệ, dùng dd/mm/yyyy", "not a date, use dd/mm/yyyy")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise CellError("ngày không tồn tại", "no such date") from None


def _int(raw: Cell, bounds: tuple[int, int] | None) -> int:
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        text = header_key(raw)
        value = 0 if text in _NO else int(text) if text.isdigit() else None
    if value is None:
        raise CellError("cần một số nguyên", "a whole number is expected")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        low, high = bounds
        raise CellError(f"cần số từ {low} đến {high}", f"expected a number from {low} to {high}")
    return value


def _bool(raw: Cell) -> bool:
    if isinstance(raw, bool):
        return raw
    text = header_key(str(raw))
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellError("cần Có hoặc Không", "expected Có (yes) or Không (no)")


def _id_number(raw: Cell) -> str:
    digits = re.sub(r"[\s.\-]", "", raw if isinstance(raw, str) else str(_int(raw, None)))
    if not isinstance(raw, str) and len(digits) in (10, 11):
        digits = digits.zfill(12)  # a numeric Excel cell lost the leading zeros of a CCCD
    if not re.fullmatch(r"\d{9}|\d{12}", digits):
        raise CellError(
            "số CCCD cần 12 chữ số (CMND cũ: 9)", "an ID number has 12 digits (old ID card: 9)"
        )
    return digits


def _phone(raw: Cell) -> str:
    digits = re.sub(r"[\s.\-()]", "", raw if isinstance(raw, str) else str(_int(raw, None)))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif not isinstance(raw, str) and not digits.startswith("0"):
        digits = "0" + digits  # a numeric Excel cell lost the leading zero
    if not re.fullmatch(r"0\d{9,10}", digits):
        raise CellError(
            "số điện thoại cần 10 hoặc 11 chữ số, bắt đầu bằng 0",
            "a phone number has 10 or 11 digits and starts with 0",
        )
    return digits


def _people(column: Column, raw: Cell) -> list[str | None]:
    if isinstance(raw, str):
        parts: list[Cell] = [part.strip() for part in raw.split(SEPARATOR)]
    else:
        parts = [raw]
    values: list[str | None] = []
    for part in parts:
        if part in ("", None):
            values.append(None)
        elif column.personal is PersonalField.ID_NUMBER:
            values.append(_id_number(part))
        elif column.personal is PersonalField.PHONE:
            values.append(_phone(part))
        else:
            values.append(_text(part))
    if column.personal is PersonalField.NAME and None in values:
        raise CellError(
            f"có tên trống giữa các dấu '{SEPARATOR}'", f"an empty name between '{SEPARATOR}'"
        )
    return values


def parse_cell(column: Column, raw: Cell) -> Any:
    """The value of a non-empty cell, or `CellError`."""
    if column.kind == "date":
        return _date(raw)
    if column.kind == "int":
        return _int(raw, column.bounds)
    if column.kind == "bool":
        return _bool(raw)
    if column.kind == "people":
        return _people(column, raw)
    if column.kind == "list":
        return [item.strip() for item in _text(raw).split(SEPARATOR) if item.strip()]
    text = _text(raw)
    if column.labels is not None:
        return column.labels.parse(text)
    return text


def is_empty(raw: Cell) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


# -- writing cells ---------------------------------------------------------------------------


def format_cell(column: Column, value: Any) -> Cell:
    """What an exported cell holds: Vietnamese labels, Có/Không, lists joined by "; "."""
    if value is None:
        return None
    if column.kind == "bool":
        return "Có" if value else "Không"
    if column.kind in ("list", "people"):
        return f"{SEPARATOR} ".join(item or "" for item in value) or None
    if column.labels is not None:
        return column.labels.label(str(value))
    if isinstance(value, str):
        return value or None
    cell: Cell = value
    return cell
