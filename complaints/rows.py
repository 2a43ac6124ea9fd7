"""One register row to one `Complaint` and back.

A row may update a stored case: columns the file does not have keep the stored values, and a
complainant's ID number or phone is kept by name when the file lacks that column. An empty cell
clears a text, list, date or yes/no field but leaves a coded field (status, channel, number of
people, ...) as stored, or at its default for a new case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from complaints.columns import BY_KEY, Cell, CellError, Column, format_cell, header_key, is_empty
from complaints.columns import parse_cell as parse_value
from indexer.models import Complaint
from indexer.vietnamese import normalize

MASS_CASE_PEOPLE = 5
"""Five or more people on one matter make a mass case (domain.md §1)."""

_KEEP_WHEN_EMPTY = frozenset(
    {"kind", "channel", "status", "people_count", "instance", "subject_field", "competence"}
)
_OPTIONAL_TEXT = frozenset({"forwarded_to", "outcome", "officer"})
_PEOPLE = ("complainant", "address", "id_number", "phone", "representative")
_SPECIAL = frozenset({*_PEOPLE, "location", "is_mass_case", "people_count"})
_EMPTY: Mapping[str, Any] = {"text": "", "list": [], "bool": False, "date": None, "int": 0}


class FormulaCell(str):
    """A formula in an imported workbook: refused, never evaluated."""

    __slots__ = ()


@dataclass(frozen=True)
class RowError:
    """One problem of one cell: spreadsheet row number, column as titled in the file."""

    row: int
    column: str
    value: str
    vi: str
    en: str


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]
    raw: dict[str, Cell]

    @property
    def case_number(self) -> str:
        return str(self.values.get("case_number") or "")


def case_key(text: str) -> str:
    """Case numbers compare after normalising spaces: "15/2025/ KN" is "15/2025/KN"."""
    return re.sub(r"\s*([/\-])\s*", r"\1", " ".join(normalize(text).split()))


def parse_row(
    number: int, cells: list[Cell], columns: Mapping[int, Column], titles: Mapping[str, str]
) -> tuple[ParsedRow, list[RowError]]:
    row = ParsedRow(number, {}, {})
    errors: list[RowError] = []
    for index, column in columns.items():
        raw = cells[index] if index < len(cells) else None
        row.raw[column.key] = raw
        if is_empty(raw):
            row.values[column.key] = None
            if column.required:
                errors.append(
                    _error(
                        row, titles, column.key, "ô bắt buộc bị trống", "a required cell is empty"
                    )
                )
            continue
        if isinstance(raw, FormulaCell):
            errors.append(
                _error(row, titles, column.key, "ô chứa công thức", "the cell holds a formula")
            )
            continue
        try:
            value = parse_value(column, raw)
        except CellError as exc:
            errors.append(_error(row, titles, column.key, exc.vi, exc.en))
            continue
        row.values[column.key] = case_key(value) if column.key == "case_number" else value
    return row, errors


def _error(row: ParsedRow, titles: Mapping[str, str], key: str, vi: str, en: str) -> RowError:
    raw = row.raw.get(key)
    value = "" if raw is None else str(raw)
    return RowError(
        row.row, titles.get(key, BY_KEY[key].header if key in BY_KEY else key), value, vi, en
    )


def build_complaint(
    row: ParsedRow, titles: Mapping[str, str], existing: Complaint | None, today: date
) -> tuple[Complaint | None, list[RowError]]:
    """The case this row describes, merged over ``existing``; or the row's errors."""
    errors: list[RowError] = []
    data: dict[str, Any] = existing.model_dump() if existing is not None else {}
    for key in titles:
        if key in _SPECIAL:
            continue
        value = row.values.get(key)
        if value is None:
            if key in _KEEP_WHEN_EMPTY:
                continue
            value = None if key in _OPTIONAL_TEXT else _EMPTY.get(BY_KEY[key].kind)
        data[key] = int(value) if key == "instance" and value is not None else value
    if "location" in titles:
        text = row.values.get("location") or ""
        if existing is None or existing.location.address_text != text:
            data["location"] = {"address_text": text}
    if "complainant" in titles:
        people, people_errors = _complainants(row, titles, existing)
        errors += people_errors
        data["complainants"] = people
    count = row.values.get("people_count")
    if count is not None:
        data["people_count"] = count
    elif existing is None:
        data["people_count"] = max(1, len(data.get("complainants", [])))
    mass = data["people_count"] >= MASS_CASE_PEOPLE
    if "is_mass_case" in titles and row.values.get("is_mass_case") is not None:
        if mass and not row.values["is_mass_case"]:
            errors.append(
                _error(
                    row,
                    titles,
                    "is_mass_case",
                    "từ 5 người trở lên là đơn đông người",
                    "5 or more people make a mass case",
                )
            )
        mass = mass or bool(row.values["is_mass_case"])
    data["is_mass_case"] = mass
    try:
        complaint = Complaint.model_validate(data)
    except ValidationError as exc:
        for item in exc.errors():
            key = str(item["loc"][0]) if item["loc"] else "case_number"
            vi = f"giá trị không hợp lệ: {item['msg']}"
            errors.append(_error(row, titles, key, vi, item["msg"]))
        return None, errors
    errors += _check(complaint, row, titles, today)
    return (None if errors else complaint), errors


def _complainants(
    row: ParsedRow, titles: Mapping[str, str], existing: Complaint | None
) -> tuple[list[dict[str, Any]], list[RowError]]:
    names: list[str] = row.values.get("complainant") or []
    errors: list[RowError] = []
    columns: dict[str, list[str | None]] = {}
    for key in ("address", "id_number", "phone"):
        if key not in titles:
            continue
        values = row.values.get(key) or [None] * len(names)
        if key == "address" and len(values) == 1 and len(names) > 1:
            values = values * len(names)
        if len(values) != len(names):
            errors.append(
                _error(
                    row,
                    titles,
                    key,
                    f"có {len(values)} giá trị cho {len(names)} người đứng đơn (cách nhau bởi ';')",
                    f"{len(values)} values for {len(names)} complainants (separate them with ';')",
                )
            )
        columns[key] = values
    stored = {header_key(p.name): p for p in existing.complainants} if existing else {}
    people: list[dict[str, Any]] = []
    for index, name in enumerate(names):
        old = stored.get(header_key(name))
        person: dict[str, Any] = {"name": name}
        for key in ("address", "id_number", "phone"):
            if key in columns:
                values = columns[key]
                person[key] = values[index] if index < len(values) else None
            else:
                person[key] = getattr(old, key) if old else None
        person["is_representative"] = bool(old and old.is_representative)
        people.append(person)
    if "representative" in titles:
        for person in people:
            person["is_representative"] = False
        for name in row.values.get("representative") or []:
            match = [p for p in people if header_key(p["name"]) == header_key(name)]
            if match:
                match[0]["is_representative"] = True
            else:
                people.append({"name": name, "is_representative": True})
    return people, errors


def _check(
    complaint: Complaint, row: ParsedRow, titles: Mapping[str, str], today: date
) -> list[RowError]:
    """Facts that cannot be true together (each error on the column most likely wrong)."""
    errors: list[RowError] = []

    def fail(key: str, vi: str, en: str) -> None:
        errors.append(_error(row, titles, key if key in titles else "case_number", vi, en))

    if complaint.received_date > today:
        fail("received_date", "ngày nhận ở tương lai", "the received date is in the future")
    accepted = complaint.acceptance_date
    if accepted is not None and accepted < complaint.received_date:
        fail("acceptance_date", "ngày thụ lý trước ngày nhận", "accepted before it was received")
    decided = complaint.decision_date
    if decided is not None and decided < (accepted or complaint.received_date):
        fail(
            "decision_date",
            "ngày quyết định trước ngày thụ lý/nhận",
            "decided before it was accepted or received",
        )
    if decided is not None and decided > today:
        fail("decision_date", "ngày quyết định ở tương lai", "the decision date is in the future")
    if complaint.people_count < len(complaint.complainants):
        fail(
            "people_count",
            "số người nhỏ hơn số người đứng đơn",
            "fewer people than complainants listed",
        )
    return errors


# -- export ----------------------------------------------------------------------------------


def complaint_cells(complaint: Complaint, columns: tuple[Column, ...]) -> list[Cell]:
    """The row of ``complaint`` under ``columns`` (the inverse of `build_complaint`)."""
    people = complaint.complainants
    values: dict[str, Any] = {
        "complainant": [p.name for p in people],
        "address": [p.address for p in people] if any(p.address for p in people) else None,
        "id_number": [p.id_number for p in people] if any(p.id_number for p in people) else None,
        "phone": [p.phone for p in people] if any(p.phone for p in people) else None,
        "representative": [p.name for p in people if p.is_representative],
        "location": complaint.location.address_text,
        "instance": str(complaint.instance),
    }
    return [
        format_cell(
            column, values[column.key] if column.key in values else getattr(complaint, column.key)
        )
        for column in columns
    ]
