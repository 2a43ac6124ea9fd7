"""Register files without an engine: headers, cells, encodings, malformed files, export."""

from __future__ import annotations

import csv
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from complaints.columns import (
    BY_KEY,
    COLUMNS,
    CellError,
    format_cell,
    header_key,
    match_header,
    parse_cell,
)
from complaints.privacy import REDACTED, Role
from complaints.rows import build_complaint, case_key, complaint_cells, parse_row
from complaints.tabular import (
    Table,
    TableFileError,
    decode,
    export_columns,
    export_file,
    find_header,
    read_table,
)
from indexer.models import (
    Channel,
    Complainant,
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    Location,
)
from tests.conftest import FIXTURES

REGISTER = FIXTURES / "register"
TODAY = date(2025, 12, 31)


def complaints_of(table: Table) -> list[Complaint]:
    """Every row of a good file as a new case (what an import into an empty register makes)."""
    header = find_header(table)
    found = []
    for number, cells in table.rows:
        if number <= header.row or all(c in (None, "") for c in cells):
            continue
        row, errors = parse_row(number, cells, header.columns, header.titles)
        assert errors == []
        complaint, errors = build_complaint(row, header.titles, None, TODAY)
        assert errors == [] and complaint is not None
        found.append(complaint)
    return found


# -- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Số hồ sơ",
        "SỐ HỒ SƠ",
        "so ho so",
        "  Số   hồ sơ (*) ",
        unicodedata.normalize("NFD", "Số hồ sơ"),
        "case_number",
        "Case Number",
    ],
)
def test_headers_match_whatever_the_case_diacritics_and_spacing(text: str) -> None:
    assert match_header(text) is BY_KEY["case_number"]


def test_every_column_has_a_vietnamese_header_and_an_english_alias() -> None:
    for column in COLUMNS:
        assert match_header(column.header) is column
        assert match_header(column.key) is column
        for alias in column.aliases:
            assert match_header(alias) is column


def test_synonyms_and_unknown_headers() -> None:
    assert match_header("Hình thức nhận") is BY_KEY["channel"]
    assert match_header("Từ khoá") is BY_KEY["keywords"]
    assert match_header("STT") is None
    assert match_header(None) is None
    assert header_key("Đối tượng bị khiếu nại, tố cáo") == "doi tuong bi khieu nai to cao"


# -- cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03/09/2025", date(2025, 9, 3)),
        ("3/9/2025", date(2025, 9, 3)),
        ("03-09-2025", date(2025, 9, 3)),
        ("2025-09-03", date(2025, 9, 3)),
        (datetime(2025, 9, 3, 0, 0), date(2025, 9, 3)),
    ],
)
def test_dates_read_day_first(raw: object, expected: date) -> None:
    assert parse_cell(BY_KEY["received_date"], raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["31/02/2025", "2025/13/01", "09/03/25", "hôm qua", 45000])
def test_bad_dates_are_refused(raw: object) -> None:
    with pytest.raises(CellError):
        parse_cell(BY_KEY["received_date"], raw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("kind", "TỐ CÁO", ComplaintKind.DENUNCIATION),
        ("kind", "khieu nai", ComplaintKind.COMPLAINT),
        ("kind", "petition", ComplaintKind.PETITION),
        ("channel", "Qua bưu điện", Channel.POST),
        ("status", "Đang xác minh", ComplaintStatus.VERIFYING),
        ("subject_field", "Đất đai", "land"),
        ("instance", "Lần hai", "2"),
        ("is_complex", "Có", True),
        ("is_complex", "không", False),
        ("is_complex", "x", True),
        ("people_count", 27, 27),
        ("people_count", "27", 27),
        ("extensions", "Không", 0),
        ("keywords", "thu hồi đất; bồi thường;", ["thu hồi đất", "bồi thường"]),
        ("complainant", "Lê Văn Thành; Phạm Thị Lan", ["Lê Văn Thành", "Phạm Thị Lan"]),
        ("address", "xóm 2; ", ["xóm 2", None]),
        ("id_number", "001 068 004 512", ["001068004512"]),
        ("id_number", 1068004512, ["001068004512"]),
        ("phone", "+84 912 345 678", ["0912345678"]),
        ("phone", "0912.345.678; 0243 8251 234", ["0912345678", "02438251234"]),
        ("phone", 912345678, ["0912345678"]),
        ("summary", "hoà  giải", "hòa giải"),
    ],
)
def test_cells_read_vietnamese_values(key: str, raw: object, expected: object) -> None:
    assert parse_cell(BY_KEY[key], raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("kind", "Khiếu kiện"),
        ("is_complex", "Có lẽ"),
        ("extensions", 3),
        ("people_count", "nhiều"),
        ("id_number", "0010750123"),
        ("phone", "12345"),
        ("complainant", "Lê Văn Thành;; Phạm Thị Lan"),
        ("summary", f"Ông {REDACTED} khiếu nại"),
    ],
)
def test_bad_cells_say_why_in_both_languages(key: str, raw: object) -> None:
    with pytest.raises(CellError) as caught:
        parse_cell(BY_KEY[key], raw)  # type: ignore[arg-type]
    assert caught.value.vi and caught.value.en and caught.value.vi != caught.value.en


def test_export_cells_are_vietnamese() -> None:
    assert format_cell(BY_KEY["kind"], ComplaintKind.DENUNCIATION) == "Tố cáo"
    assert format_cell(BY_KEY["is_remote_area"], False) == "Không"
    assert format_cell(BY_KEY["status"], ComplaintStatus.CLOSED) == "Kết thúc"
    assert format_cell(BY_KEY["address"], ["xóm 2", None]) == "xóm 2; "


# -- files -----------------------------------------------------------------------------------


def test_the_good_files_hold_the_same_cases_in_every_format_and_encoding() -> None:
    from_csv = complaints_of(read_table(REGISTER / "good.csv"))
    assert len(from_csv) == 7
    assert complaints_of(read_table(REGISTER / "good.xlsx")) == from_csv
    assert complaints_of(read_table(REGISTER / "good-windows-1258.csv")) == from_csv


def test_a_good_row_becomes_the_case_it_describes() -> None:
    table = read_table(REGISTER / "good.csv")
    assert table.encoding == "utf-8-sig"
    mass = {c.case_number: c for c in complaints_of(table)}["02/2025/KN"]
    assert [p.name for p in mass.complainants] == ["Lê Văn Thành", "Phạm Thị Lan", "Đỗ Văn Bình"]
    assert [p.is_representative for p in mass.complainants] == [True, True, False]
    assert [p.phone for p in mass.complainants] == ["0983111222", "0904555666", None]
    assert mass.people_count == 27 and mass.is_mass_case and mass.is_hot_spot
    assert mass.location.address_text == "thị trấn Văn Điển, huyện Thanh Trì, Hà Nội"
    assert mass.acceptance_date == date(2025, 1, 20) and mass.extensions == 1
    assert mass.status is ComplaintStatus.ACCEPTED and mass.subject_field == "land"
    assert mass.notes == "- Đã tổ chức đối thoại ngày 05/02/2025"


def test_xlsx_header_below_a_title_and_ids_that_lost_leading_zeros() -> None:
    table = read_table(REGISTER / "good.xlsx")
    header = find_header(table)
    assert header.row == 3 and header.ignored == ["STT"]
    first = complaints_of(table)[0]
    assert first.complainants[0].id_number == "001075012345"


def test_windows_1258_is_decoded_to_composed_unicode() -> None:
    text, encoding = decode((REGISTER / "good-windows-1258.csv").read_bytes())
    assert encoding == "windows-1258"
    assert "huyện Thanh Trì" in text and unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \r\n  ", "empty"),
        ("Số hồ sơ".encode("utf-16"), "UTF-16"),
        (b"%PDF-1.7\x00\x01\x02binary", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "97-2003"),
        ("Sè hå s¬,Lo¹i ®¬n\n".encode("latin-1"), "encoding"),
        ("Số hồ sơ,Ngày nhận\n".encode()[:-3] + b"\xff\xfe", "encoding"),
        (b"Kinh gui UBND xa,\nToi xin trinh bay\n", "header"),
        ("Số hồ sơ,Ngày nhận\n01/2025/KN,06/01/2025\n".encode(), "Loại đơn"),
        ("Số hồ sơ,Loại đơn,Ngày nhận,SO HO SO\n".encode(), "twice"),
        ("Số hồ sơ,Loại đơn,Ngày nhận,Số CCCD\n".encode(), "Người đứng đơn"),
    ],
)
def test_malformed_files_get_a_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(data)
    with pytest.raises(TableFileError) as caught:
        find_header(read_table(path))
    assert message in str(caught.value)
    assert caught.value.vi and caught.value.en


def test_a_file_named_xlsx_that_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "register.xlsx"
    path.write_text("Số hồ sơ,Loại đơn,Ngày nhận\n", encoding="utf-8")
    with pytest.raises(TableFileError, match="not an XLSX"):
        read_table(path)


def test_a_broken_zip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "register.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(TableFileError, match="cannot read the XLSX"):
        read_table(path)


def test_semicolon_separated_csv_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(
        "Số hồ sơ;Loại đơn;Ngày nhận;Người đứng đơn\n"
        '01/2025/KN;Khiếu nại;06/01/2025;"Lê Văn Thành; Phạm Thị Lan"\n',
        encoding="utf-8",
    )
    (case,) = complaints_of(read_table(path))
    assert [p.name for p in case.complainants] == ["Lê Văn Thành", "Phạm Thị Lan"]
    assert case.people_count == 2 and not case.is_mass_case


def test_a_formula_cell_in_a_workbook_is_refused() -> None:
    table = read_table(REGISTER / "bad.xlsx")
    header = find_header(table)
    number, cells = table.rows[header.row]
    _, errors = parse_row(number, cells, header.columns, header.titles)
    formula = [e for e in errors if e.column == "Nội dung"]
    assert formula and "formula" in formula[0].en and formula[0].value.startswith("=WEBSERVICE")


# -- rows ------------------------------------------------------------------------------------


def full_case() -> Complaint:
    return Complaint(
        case_number="15/2025/KN-UBND",
        kind=ComplaintKind.COMPLAINT,
        channel=Channel.PRESS,
        received_date=date(2025, 3, 3),
        complainants=[
            Complainant(name="Lê Văn Thành", address="xóm 2", id_number="001068004512"),
            Complainant(name="Phạm Thị Lan", phone="0904555666", is_representative=True),
        ],
        people_count=6,
        is_mass_case=True,
        is_hot_spot=True,
        respondent="UBND xã Tả Thanh Oai",
        summary="=1+1 không phải công thức",
        request="+ bồi thường",
        subject_field="environment",
        location=Location(address_text="xã Tả Thanh Oai, huyện Thanh Trì, Hà Nội"),
        competence="forwarded",
        forwarded_to="Sở Tài nguyên và Môi trường",
        acceptance_date=date(2025, 3, 10),
        instance=2,
        is_complex=True,
        is_remote_area=True,
        extensions=2,
        status=ComplaintStatus.DECIDED,
        decision_date=date(2025, 4, 1),
        outcome="@ giữ nguyên quyết định",
        officer="Trần Thị Mai",
        aliases=["vụ Tả Thanh Oai"],
        keywords=["ô nhiễm", "-bụi"],
        projects=["Cụm công nghiệp"],
        notes="dòng một\ndòng hai",
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_read_gives_back_the_same_case(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    export_file([full_case()], path, fmt)  # type: ignore[arg-type]
    (again,) = complaints_of(read_table(path))
    assert again == full_case()


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    export_file([full_case().model_copy(update={"notes": "=cmd|' /C calc'!A0"})], path, "csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, row = list(csv.reader(handle))
    cells = dict(zip(header, row, strict=True))
    assert cells["Ghi chú"] == "'=cmd|' /C calc'!A0"
    assert cells["Nội dung"].startswith("'=1+1")
    assert cells["Yêu cầu"].startswith("'+") and cells["Kết quả"].startswith("'@")
    assert cells["Từ khóa"] == "ô nhiễm; -bụi"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_xlsx_export_writes_formulas_as_text(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    export_file([full_case().model_copy(update={"notes": "=cmd|' /C calc'!A0"})], path, "xlsx")
    sheet_xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    sheet = load_workbook(path).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("Ghi chú") + 1)
    assert cell.value == "=cmd|' /C calc'!A0"
    assert cell.data_type == "s" and cell.quotePrefix
    date_cell = sheet.cell(row=2, column=header.index("Ngày nhận") + 1)
    assert date_cell.is_date and date_cell.number_format == "DD/MM/YYYY"


def test_an_export_for_a_press_officer_has_no_id_or_phone_columns() -> None:
    headers = [column.header for column in export_columns(Role.PRESS_OFFICER)]
    assert "Số CCCD" not in headers and "Số điện thoại" not in headers
    assert "Người đứng đơn" in headers and "Địa chỉ" in headers
    viewer = [column.header for column in export_columns(Role.VIEWER)]
    assert "Người đứng đơn" not in viewer and "Địa chỉ" not in viewer
    assert len(export_columns(Role.ADMIN)) == len(COLUMNS)


def test_rows_that_cannot_be_true_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(
        "Số hồ sơ,Loại đơn,Ngày nhận,Người đứng đơn,Địa chỉ,Số người,Ngày thụ lý,Đông người\n"
        '01/2025/KN,Khiếu nại,01/01/2099,"A Văn B; C Thị D","x; y; z",1,01/01/2024,Không\n'
        "02/2025/KN,Khiếu nại,06/01/2025,E Văn F,,7,,Không\n",
        encoding="utf-8",
    )
    table = read_table(path)
    header = find_header(table)
    found: dict[int, set[str]] = {}
    for number, cells in table.rows[1:]:
        row, errors = parse_row(number, cells, header.columns, header.titles)
        assert errors == []
        complaint, errors = build_complaint(row, header.titles, None, TODAY)
        assert complaint is None
        found[number] = {error.column for error in errors}
    assert found[2] == {"Ngày nhận", "Địa chỉ", "Ngày thụ lý", "Số người"}
    assert found[3] == {"Đông người"}


def test_a_row_updates_only_the_columns_the_file_has() -> None:
    stored = full_case()
    header = find_header(
        Table("csv", "utf-8", [(1, ["Số hồ sơ", "Loại đơn", "Ngày nhận", "Người đứng đơn"])])
    )
    cells = ["15/2025/KN-UBND", "Khiếu nại", "03/03/2025", "Lê Văn Thành; Phạm Thị Lan"]
    row, _ = parse_row(2, list(cells), header.columns, header.titles)
    merged, errors = build_complaint(row, header.titles, stored, TODAY)
    assert errors == [] and merged == stored


def test_complaint_cells_follow_the_columns_given() -> None:
    columns = export_columns(Role.VIEWER)
    cells = complaint_cells(full_case(), columns)
    assert len(cells) == len(columns)
    assert "Lê Văn Thành" not in [str(cell) for cell in cells]


def test_the_register_may_be_on_any_sheet(tmp_path: Path) -> None:
    workbook = Workbook()
    guide = workbook.active
    assert guide is not None
    guide.title = "Hướng dẫn"
    guide.append(["Nhập mỗi đơn một dòng ở trang 'Sổ'"])
    sheet = workbook.create_sheet("Sổ")
    sheet.append(["Số hồ sơ", "Loại đơn", "Ngày nhận"])
    sheet.append(["01/2025/KN", "Khiếu nại", date(2025, 1, 6)])
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    (case,) = complaints_of(read_table(path))
    assert case.case_number == "01/2025/KN" and case.received_date == date(2025, 1, 6)


@pytest.mark.parametrize("text", ["15/2025/KN-UBND", " 15 / 2025 / KN - UBND ", "15/2025/KN -UBND"])
def test_case_numbers_compare_without_stray_spaces(text: str) -> None:
    assert case_key(text) == "15/2025/KN-UBND"
