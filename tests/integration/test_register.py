"""The complaint register against the real engine: import, export, history, privacy, CLI."""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from complaints.audit import AuditLog, AuditUnavailable, audit_index, disclose, disclose_many
from complaints.privacy import REDACTED, PersonalField, Role
from complaints.register import ComplaintRegister, IllegalTransition, doc_id
from complaints.tabular import export_columns, export_file, import_file
from diemnong.commands.complaints import app as complaints_app
from diemnong.settings import IndexSettings
from indexer.adapter import Engine
from indexer.layout import IndexNames, apply_layout, drop_layout, load_template
from indexer.models import Complainant, Complaint, ComplaintKind, ComplaintStatus
from tests.conftest import FIXTURES

pytestmark = pytest.mark.engine

REGISTER = FIXTURES / "register"
GOOD_CASES = {
    "01/2025/KN", "02/2025/KN", "03/2025/TC", "04/2025/KNG", "05/2025/PA", "06/2025/KN",
    "07/2025/KN",
}  # fmt: skip


class Clock:
    """A clock the test moves, so history times are known without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def create_audit_index(engine: Engine, names: IndexNames) -> str:
    body = load_template("audit")
    body["settings"]["index"].update({"number_of_replicas": 0, "number_of_shards": 1})
    engine.create_index(audit_index(names), body)
    return audit_index(names)


@pytest.fixture
def audit(engine: Engine, layout: IndexNames) -> Iterator[AuditLog]:
    index = create_audit_index(engine, layout)
    yield AuditLog(engine, layout)
    engine.delete_index(index)


@pytest.fixture
def register(engine: Engine, layout: IndexNames) -> ComplaintRegister:
    return ComplaintRegister(engine, layout, clock=Clock())


def stored_documents(engine: Engine, names: IndexNames) -> dict[str, dict[str, Any]]:
    engine.refresh(names.complaints)
    found = engine.search(names.complaints, {"size": 100, "query": {"match_all": {}}})
    return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}


def make(case: str = "20/2025/KN", **update: Any) -> Complaint:
    complaint = Complaint(
        case_number=case,
        kind=ComplaintKind.COMPLAINT,
        received_date=date(2025, 5, 5),
        complainants=[
            Complainant(
                name="Nguyễn Thị Hạnh",
                address="thôn Quỳnh Đô, xã Vĩnh Quỳnh, huyện Thanh Trì, Hà Nội",
                id_number="001185006789",
                phone="0912000111",
            )
        ],
        respondent="UBND xã Vĩnh Quỳnh",
        summary="Bà Nguyễn Thị Hạnh khiếu nại việc thu hồi đất.",
        keywords=["thu hồi đất"],
    )
    return complaint.model_copy(update=update)


# -- import ----------------------------------------------------------------------------------


def test_import_creates_every_case_of_the_good_file(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    report = import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    assert report.ok and report.written
    assert (report.rows, report.created, report.updated, report.unchanged) == (7, 7, 0, 0)
    docs = stored_documents(engine, layout)
    assert set(docs) == GOOD_CASES
    closed = docs["07/2025/KN"]
    assert closed["status"] == "closed" and closed["is_open"] is False
    assert docs["02/2025/KN"]["is_open"] is True
    assert all("query" not in doc for doc in docs.values())
    mass = register.get("02/2025/KN")
    assert mass is not None
    assert mass.people_count == 27 and mass.is_mass_case
    assert [(h.status, h.by) for h in mass.history] == [("accepted", "can.bo.nhap")]
    assert mass.history[0].note == "nhập từ tệp good.csv"


def test_reimport_changes_nothing_in_any_format(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    before = stored_documents(engine, layout)
    for name in ("good.csv", "good.xlsx", "good-windows-1258.csv"):
        report = import_file(REGISTER / name, register, "nguoi.khac")
        assert report.ok, report.errors
        assert (report.created, report.updated, report.unchanged) == (0, 0, 7), name
    assert stored_documents(engine, layout) == before


@pytest.mark.parametrize("name", ["bad.csv", "bad.xlsx"])
def test_a_bad_file_writes_nothing_and_reports_each_problem(
    engine: Engine, layout: IndexNames, register: ComplaintRegister, name: str
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    before = stored_documents(engine, layout)
    report = import_file(REGISTER / name, register, "can.bo.nhap")
    assert not report.ok and not report.written
    assert stored_documents(engine, layout) == before
    offset = 2 if name.endswith("xlsx") else 0  # the workbook has a title line and a blank row
    where = {(error.row - offset, error.column) for error in report.errors}
    expected = {
        (2, "Loại đơn"), (2, "Ngày nhận"), (2, "Số CCCD"), (2, "Số điện thoại"),
        (3, "Ngày nhận"), (3, "Địa chỉ"), (3, "Số người"),
        (4, "Nguồn đơn"), (4, "Số người"), (4, "Lĩnh vực"), (4, "Lần giải quyết"),
        (4, "Phức tạp"), (4, "Gia hạn"), (4, "Trạng thái"),
        (5, "Số hồ sơ"),
        (6, "Số hồ sơ"),
    }  # fmt: skip
    if name.endswith("xlsx"):
        expected.add((2, "Nội dung"))
    assert where == expected
    duplicate = next(e for e in report.errors if e.row - offset == 6)
    assert f"row {2 + offset}" in duplicate.en and f"dòng {2 + offset}" in duplicate.vi
    assert [e.row for e in report.errors] == sorted(e.row for e in report.errors)


@pytest.mark.parametrize("name", ["mixed.csv", "mixed.xlsx"])
def test_one_bad_row_in_a_mixed_file_keeps_the_good_rows_out(
    engine: Engine, layout: IndexNames, register: ComplaintRegister, name: str
) -> None:
    report = import_file(REGISTER / name, register, "can.bo.nhap")
    assert [(e.column, e.value) for e in report.errors] == [("Ngày nhận", "2025/13/01")]
    assert report.created == 0 and not report.written
    assert stored_documents(engine, layout) == {}
    assert register.get("10/2025/KN") is None


def test_dry_run_counts_without_writing(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    report = import_file(REGISTER / "good.xlsx", register, "can.bo.nhap", dry_run=True)
    assert report.ok and not report.written and report.created == 7
    assert stored_documents(engine, layout) == {}


def test_an_import_may_not_move_a_status_backwards(
    engine: Engine, layout: IndexNames, register: ComplaintRegister, tmp_path: Path
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    before = stored_documents(engine, layout)
    path = tmp_path / "update.csv"
    path.write_text(
        "Số hồ sơ,Loại đơn,Ngày nhận,Trạng thái\n"
        "01/2025/KN,Khiếu nại,06/01/2025,Đã có quyết định\n"
        "07/2025/KN,Khiếu nại,06/01/2025,Đã thụ lý\n",
        encoding="utf-8",
    )
    report = import_file(path, register, "can.bo.nhap")
    (error,) = report.errors
    assert (error.row, error.column, error.value) == (3, "Trạng thái", "Đã thụ lý")
    assert "'Kết thúc'" in error.vi and "'closed' to 'accepted'" in error.en
    assert stored_documents(engine, layout) == before


def test_a_partial_file_updates_only_its_columns(
    layout: IndexNames, register: ComplaintRegister, tmp_path: Path
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    path = tmp_path / "update.csv"
    path.write_text(
        "Số hồ sơ,Loại đơn,Ngày nhận,Trạng thái,Ngày quyết định,Kết quả\n"
        "01/2025/KN,Khiếu nại,06/01/2025,Đã có quyết định,15/03/2025,Giữ nguyên quyết định\n",
        encoding="utf-8",
    )
    report = import_file(path, register, "truong.phong")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    case = register.get("01/2025/KN")
    assert case is not None
    assert case.status is ComplaintStatus.DECIDED and case.outcome == "Giữ nguyên quyết định"
    assert case.complainants[0].id_number == "001075012345"
    assert case.keywords == ["thu hồi đất", "bồi thường"]
    assert [(h.status, h.by) for h in case.history] == [
        ("verifying", "can.bo.nhap"),
        ("decided", "truong.phong"),
    ]


# -- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trips(
    engine: Engine,
    layout: IndexNames,
    register: ComplaintRegister,
    settings: Any,
    tmp_path: Path,
    fmt: str,
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    first = tmp_path / f"first.{fmt}"
    assert export_file(register.list(), first, fmt) == 7  # type: ignore[arg-type]
    again = import_file(first, register, "can.bo.nhap")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)

    other = IndexNames(f"t{uuid.uuid4().hex[:10]}-")
    apply_layout(engine, other, IndexSettings(replicas=0))
    try:
        fresh = ComplaintRegister(engine, other)
        assert import_file(first, fresh, "can.bo.nhap").created == 7
        fields = {"history"}
        mine = [c.model_dump(exclude=fields) for c in register.list()]
        theirs = [c.model_dump(exclude=fields) for c in fresh.list()]
        assert theirs == mine
        if fmt == "csv":
            second = tmp_path / "second.csv"
            export_file(fresh.list(), second, "csv")
            assert second.read_bytes() == first.read_bytes()
    finally:
        drop_layout(engine, other)


# -- status history --------------------------------------------------------------------------


def test_status_changes_are_recorded_with_who_and_when(register: ComplaintRegister) -> None:
    created = register.upsert(make(), "tiep.dan")
    assert created.action == "created"
    assert register.upsert(make(), "tiep.dan").action == "unchanged"
    accepted = register.upsert(
        make(status=ComplaintStatus.ACCEPTED, acceptance_date=date(2025, 5, 9)), "chuyen.vien"
    )
    assert accepted.action == "updated" and accepted.status_changed
    register.upsert(make(status=ComplaintStatus.DECIDED), "chu.tich", note="QĐ 45/QĐ-UBND")
    closed = register.close("20/2025/KN", "chu.tich", "Giữ nguyên quyết định")
    stored = register.get("20/2025/KN")
    assert stored == closed.after
    assert [(h.status, h.by, h.note) for h in stored.history] == [
        ("received", "tiep.dan", None),
        ("accepted", "chuyen.vien", None),
        ("decided", "chu.tich", "QĐ 45/QĐ-UBND"),
        ("closed", "chu.tich", "Giữ nguyên quyết định"),
    ]
    times = [h.at for h in stored.history]
    assert times == sorted(times) and len(set(times)) == 4
    assert stored.outcome == "Giữ nguyên quyết định" and not stored.is_open


def test_a_callers_history_cannot_rewrite_the_stored_one(register: ComplaintRegister) -> None:
    register.upsert(make(), "tiep.dan")
    forged = make(history=[])
    assert register.upsert(forged, "ai.do").action == "unchanged"
    stored = register.get("20/2025/KN")
    assert stored is not None and len(stored.history) == 1


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ComplaintStatus.CLOSED, ComplaintStatus.ACCEPTED),
        (ComplaintStatus.DECIDED, ComplaintStatus.RECEIVED),
        (ComplaintStatus.RECEIVED, ComplaintStatus.APPEALED),
        (ComplaintStatus.ACCEPTED, ComplaintStatus.REFUSED),
        (ComplaintStatus.WITHDRAWN, ComplaintStatus.VERIFYING),
    ],
)
def test_an_illegal_transition_names_both_statuses(
    engine: Engine, layout: IndexNames, register: ComplaintRegister,
    old: ComplaintStatus, new: ComplaintStatus,
) -> None:  # fmt: skip
    register.upsert(make(status=old), "tiep.dan")
    before = stored_documents(engine, layout)
    with pytest.raises(IllegalTransition) as caught:
        register.upsert(make(status=new), "ai.do")
    assert isinstance(caught.value, ValueError)
    assert f"from {old.value!r} to {new.value!r}" in str(caught.value)
    assert stored_documents(engine, layout) == before


def test_close_only_ends_a_case_with_a_final_status(register: ComplaintRegister) -> None:
    register.upsert(make(), "tiep.dan")
    with pytest.raises(ValueError, match="not a final status"):
        register.close("20/2025/KN", "x", "y", status=ComplaintStatus.ACCEPTED)
    with pytest.raises(IllegalTransition):
        register.close("20/2025/KN", "x", "chưa có quyết định")
    refused = register.close("20/2025/KN", "x", "Không đủ điều kiện", ComplaintStatus.REFUSED)
    assert refused.after.status is ComplaintStatus.REFUSED


# -- percolator query and the saved hook -----------------------------------------------------


def test_open_cases_carry_a_query_closed_ones_do_not(engine: Engine, layout: IndexNames) -> None:
    seen: list[Complaint] = []
    saved: list[Complaint] = []

    def compile_query(complaint: Complaint) -> tuple[dict[str, Any], dict[str, Any]]:
        seen.append(complaint)
        terms = complaint.keywords + [p.name for p in complaint.complainants]
        return {"match_phrase": {"title": terms[0]}}, {"terms": terms}

    register = ComplaintRegister(engine, layout, compile_query, saved.append, clock=Clock())
    register.upsert(make(status=ComplaintStatus.DECIDED), "tiep.dan", refresh=True)
    doc = engine.get(layout.complaints, doc_id("20/2025/KN"))
    assert doc is not None
    assert doc["query"] == {"match_phrase": {"title": "thu hồi đất"}}
    assert doc["match_terms"] == {"terms": ["thu hồi đất", "Nguyễn Thị Hạnh"]}
    found = engine.search(
        layout.complaints,
        {"query": {"percolate": {"field": "query", "document": {"title": "Thu hồi đất ở xã"}}}},
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["20/2025/KN"]
    assert all(p.id_number is None and p.phone is None for c in seen for p in c.complainants)
    assert len(saved) == 1 and saved[0].complainants[0].phone is None

    register.upsert(make(status=ComplaintStatus.DECIDED), "tiep.dan")
    assert len(saved) == 1, "an unchanged save is not a save"
    register.close("20/2025/KN", "chu.tich", "Giữ nguyên")
    closed = engine.get(layout.complaints, doc_id("20/2025/KN"))
    assert closed is not None and "query" not in closed and "match_terms" not in closed
    assert len(saved) == 2


def test_a_denunciation_never_reaches_the_matching_side(engine: Engine, layout: IndexNames) -> None:
    seen: list[Complaint] = []

    def compile_query(complaint: Complaint) -> tuple[dict[str, Any], dict[str, Any]]:
        seen.append(complaint)
        return {"match": {"title": "địa chính"}}, {}

    register = ComplaintRegister(engine, layout, compile_query, clock=Clock())
    register.upsert(make(kind=ComplaintKind.DENUNCIATION), "tiep.dan")
    (view,) = seen
    assert view.complainants == [] and "Hạnh" not in view.model_dump_json()


def test_list_filters_and_pages(register: ComplaintRegister) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    assert {c.case_number for c in register.list()} == GOOD_CASES
    assert "07/2025/KN" not in {c.case_number for c in register.list(open_only=True)}
    decided = register.list(status=ComplaintStatus.DECIDED)
    assert [c.case_number for c in decided] == ["06/2025/KN"]
    assert [c.case_number for c in register.list(kind=ComplaintKind.DENUNCIATION)] == ["03/2025/TC"]
    assert len(register.list(limit=2)) == 2


# -- privacy and the audit trail -------------------------------------------------------------


def test_reads_with_personal_data_are_audited_and_redacted_reads_are_not(
    engine: Engine, register: ComplaintRegister, audit: AuditLog
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    complaint = register.get("01/2025/KN")
    denunciation = register.get("03/2025/TC")
    assert complaint is not None and denunciation is not None

    assert disclose(complaint, Role.VIEWER, "xem", audit).complainants[0].name == REDACTED
    shown = disclose(denunciation, Role.SPOKESPERSON, "nguoi.phat.ngon", audit)
    assert shown.complainants[0].name == REDACTED and "Quân" not in shown.summary
    press = disclose(complaint, Role.PRESS_OFFICER, "bao.chi", audit)
    assert press.complainants[0].phone == REDACTED
    admin = disclose(denunciation, Role.ADMIN, "quan.tri", audit)
    assert admin.complainants[0].name == "Hoàng Văn Quân"

    engine.refresh(audit.index)
    entries = audit.entries()
    assert [(e.user, e.role, e.case_number) for e in entries] == [
        ("quan.tri", Role.ADMIN, "03/2025/TC"),
        ("bao.chi", Role.PRESS_OFFICER, "01/2025/KN"),
    ]
    assert entries[0].fields == list(PersonalField) and entries[0].confidential
    assert entries[1].fields == [PersonalField.NAME, PersonalField.ADDRESS]
    assert not entries[1].confidential and entries[1].action == "read"
    assert [e.user for e in audit.entries(case="01/2025/KN")] == ["bao.chi"]
    assert audit.entries(user="xem") == []


def test_an_export_audits_every_case_it_discloses(
    engine: Engine, register: ComplaintRegister, audit: AuditLog
) -> None:
    import_file(REGISTER / "good.csv", register, "can.bo.nhap")
    shown = disclose_many(register.list(), Role.PRESS_OFFICER, "bao.chi", audit)
    engine.refresh(audit.index)
    audited = {e.case_number for e in audit.entries()}
    assert audited == GOOD_CASES - {"03/2025/TC", "05/2025/PA"}  # denunciation; no complainant
    assert all(e.action == "export" for e in audit.entries())
    assert all(p.id_number in (None, REDACTED) for c in shown for p in c.complainants)


def test_no_audit_index_means_no_personal_data(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    register.upsert(make(), "tiep.dan")
    complaint = register.get("20/2025/KN")
    assert complaint is not None
    audit = AuditLog(engine, layout)
    engine.delete_index(audit.index)
    with pytest.raises(AuditUnavailable, match="diemnong setup"):
        disclose(complaint, Role.ADMIN, "quan.tri", audit)
    assert disclose(complaint, Role.VIEWER, "xem", audit).complainants[0].name == REDACTED
    assert not engine.index_exists(audit.index)


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(engine: Engine, layout: IndexNames, audit: AuditLog, settings: Any) -> dict[str, str]:
    return {
        "DIEMNONG_ENGINE__URL": str(settings.engine.url),
        "DIEMNONG_INDEX__PREFIX": layout.prefix,
        "COLUMNS": "200",
    }


def test_cli_import_list_show_export(
    engine: Engine,
    layout: IndexNames,
    audit: AuditLog,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    bad = runner.invoke(complaints_app, ["import", str(REGISTER / "mixed.csv")], env=cli_env)
    assert bad.exit_code == 1
    assert "2025/13/01" in bad.output and "nothing written" in bad.output

    dry = runner.invoke(
        complaints_app, ["import", str(REGISTER / "good.xlsx"), "--dry-run"], env=cli_env
    )
    assert dry.exit_code == 0, dry.output
    assert "created 7" in dry.output and "dry run" in dry.output
    assert stored_documents(engine, layout) == {}

    done = runner.invoke(
        complaints_app, ["import", str(REGISTER / "good.csv"), "--user", "cb1"], env=cli_env
    )
    assert done.exit_code == 0, done.output
    assert "created 7" in done.output

    listed = runner.invoke(complaints_app, ["list", "--open"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    assert "02/2025/KN" in listed.output and "07/2025/KN" not in listed.output
    assert "Hoàng Văn Quân" not in listed.output and "Nguyễn Văn Hùng" not in listed.output

    viewer = runner.invoke(complaints_app, ["show", "03/2025/TC"], env=cli_env)
    assert viewer.exit_code == 0, viewer.output
    assert "Hoàng Văn Quân" not in viewer.output and REDACTED in viewer.output
    admin = runner.invoke(
        complaints_app,
        ["show", "01/2025/KN", "--role", "admin", "--user", "quan.tri"],
        env=cli_env,
    )
    assert admin.exit_code == 0, admin.output
    assert "001075012345" in admin.output and "hạn / due" in admin.output
    missing = runner.invoke(complaints_app, ["show", "99/2025/KN"], env=cli_env)
    assert missing.exit_code == 1

    target = tmp_path / "out.xlsx"
    exported = runner.invoke(
        complaints_app,
        ["export", "--format", "xlsx", "--output", str(target), "--role", "press_officer"],
        env=cli_env,
    )
    assert exported.exit_code == 0, exported.output
    assert "7" in exported.output and target.exists()

    engine.refresh(audit.index)
    users = [(e.user, e.action) for e in audit.entries(case="01/2025/KN")]
    assert ("quan.tri", "read") in users and len(users) == 2
    assert all(e.case_number != "03/2025/TC" for e in audit.entries())


def test_cli_export_csv_reimports_unchanged(cli_env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    source = tmp_path / "register.csv"
    shutil.copy(REGISTER / "good.csv", source)
    assert runner.invoke(complaints_app, ["import", str(source)], env=cli_env).exit_code == 0
    target = tmp_path / "out.csv"
    result = runner.invoke(complaints_app, ["export", "--output", str(target)], env=cli_env)
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == [column.header for column in export_columns(Role.ADMIN)]
    again = runner.invoke(complaints_app, ["import", str(target)], env=cli_env)
    assert again.exit_code == 0 and "unchanged 7" in again.output


def test_cli_reports_a_malformed_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes("Số hồ sơ".encode("utf-16"))
    result = CliRunner().invoke(complaints_app, ["import", str(path)], env=cli_env)
    assert result.exit_code == 1
    assert "UTF-16" in result.output
