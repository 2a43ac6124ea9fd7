"""Deadlines from the versioned rule table: every row of domain.md §2, the 01/07/2026 switch,
working-day arithmetic over weekends and Tết, the unit setting and bad rule files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from complaints.deadlines import (
    Deadline,
    add_working_days,
    compute_deadlines,
    press_reply_deadline,
)
from complaints.rules import (
    CountedFrom,
    HolidayCalendar,
    Procedure,
    RuleFileError,
    RuleTable,
    Unit,
    load_holidays,
    load_rules,
)
from indexer.models import Channel, Complaint, ComplaintKind

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MON = date(2025, 3, 3)  # a Monday with no holiday within ten working days


@pytest.fixture(scope="module")
def rules() -> RuleTable:
    return load_rules()


@pytest.fixture(scope="module")
def plain_rules(rules: RuleTable) -> RuleTable:
    """The real table without moving calendar-day ends off days off: amounts show as they are."""
    return rules.model_copy(update={"calendar_end_on_working_day": False})


@pytest.fixture(scope="module")
def holidays() -> HolidayCalendar:
    return load_holidays()


def case(kind: ComplaintKind = ComplaintKind.COMPLAINT, **fields: Any) -> Complaint:
    fields.setdefault("received_date", MON)
    return Complaint(case_number="01/2025", kind=kind, **fields)


def by_procedure(deadlines: list[Deadline], procedure: Procedure) -> Deadline:
    found = [d for d in deadlines if d.procedure is procedure]
    assert len(found) == 1, [d.rule_id for d in deadlines]
    return found[0]


# --- complaints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "is_complex", "remote", "days"),
    [
        (1, False, False, 30),
        (1, True, False, 45),
        (1, False, True, 45),
        (1, True, True, 60),
        (2, False, False, 45),
        (2, True, False, 60),
        (2, False, True, 60),
        (2, True, True, 70),
    ],
)
def test_complaint_resolution_table(
    plain_rules: RuleTable,
    holidays: HolidayCalendar,
    instance: int,
    is_complex: bool,
    remote: bool,
    days: int,
) -> None:
    complaint = case(
        acceptance_date=MON, instance=instance, is_complex=is_complex, is_remote_area=remote
    )
    deadline = by_procedure(
        compute_deadlines(complaint, plain_rules, holidays), Procedure.COMPLAINT_RESOLUTION
    )
    assert deadline.due == MON + timedelta(days=days)
    assert deadline.amount == days
    assert deadline.unit is Unit.CALENDAR_DAYS
    assert deadline.counted_from is CountedFrom.ACCEPTED
    expected_article = "Điều 28" if instance == 1 else "Điều 37"
    assert deadline.legal_basis == f"{expected_article} Luật Khiếu nại 2011"
    assert deadline.rule_id.startswith(f"khieu-nai.giai-quyet.lan-{instance}")


def test_calendar_period_ending_on_holiday_moves_to_next_working_day(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    complaint = case(acceptance_date=MON, is_complex=True, is_remote_area=True)
    deadline = by_procedure(
        compute_deadlines(complaint, rules, holidays), Procedure.COMPLAINT_RESOLUTION
    )
    # 60 days end on Friday 02/05/2025, a swapped day off; the next working day is Monday.
    assert deadline.due == date(2025, 5, 5)


@pytest.mark.parametrize(("instance", "article"), [(1, "Điều 27"), (2, "Điều 36")])
def test_complaint_acceptance_is_ten_working_days(
    rules: RuleTable, holidays: HolidayCalendar, instance: int, article: str
) -> None:
    deadline = by_procedure(
        compute_deadlines(case(instance=instance), rules, holidays),
        Procedure.COMPLAINT_ACCEPTANCE,
    )
    assert deadline.due == date(2025, 3, 17)
    assert (deadline.amount, deadline.unit) == (10, Unit.WORKING_DAYS)
    assert deadline.legal_basis.startswith(article)


@pytest.mark.parametrize(("remote", "days"), [(False, 30), (True, 45)])
def test_second_complaint_window_after_decision(
    plain_rules: RuleTable, holidays: HolidayCalendar, remote: bool, days: int
) -> None:
    complaint = case(acceptance_date=MON, decision_date=date(2025, 3, 20), is_remote_area=remote)
    deadline = by_procedure(
        compute_deadlines(complaint, plain_rules, holidays), Procedure.COMPLAINT_SECOND_WINDOW
    )
    assert deadline.start == date(2025, 3, 20)
    assert deadline.due == date(2025, 3, 20) + timedelta(days=days)


def test_second_window_counts_from_resolution_deadline_without_decision(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    deadlines = compute_deadlines(case(acceptance_date=MON), rules, holidays)
    resolution = by_procedure(deadlines, Procedure.COMPLAINT_RESOLUTION)
    window = by_procedure(deadlines, Procedure.COMPLAINT_SECOND_WINDOW)
    assert resolution.due == date(2025, 4, 2)
    assert window.start == date(2025, 4, 2)
    assert window.due == date(2025, 5, 5)  # 02/05/2025 is a day off


def test_no_second_window_for_second_instance(rules: RuleTable, holidays: HolidayCalendar) -> None:
    deadlines = compute_deadlines(case(acceptance_date=MON, instance=2), rules, holidays)
    assert Procedure.COMPLAINT_SECOND_WINDOW not in {d.procedure for d in deadlines}


def test_periods_from_acceptance_wait_for_acceptance(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    procedures = {d.procedure for d in compute_deadlines(case(), rules, holidays)}
    assert Procedure.COMPLAINT_ACCEPTANCE in procedures
    assert Procedure.COMPLAINT_RESOLUTION not in procedures


# --- denunciations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("several", "due", "amount"), [(False, date(2025, 3, 12), 7), (True, date(2025, 3, 17), 10)]
)
def test_denunciation_initial_processing(
    rules: RuleTable, holidays: HolidayCalendar, several: bool, due: date, amount: int
) -> None:
    deadlines = compute_deadlines(
        case(ComplaintKind.DENUNCIATION), rules, holidays, several_locations=several
    )
    deadline = by_procedure(deadlines, Procedure.DENUNCIATION_INITIAL)
    assert (deadline.due, deadline.amount, deadline.unit) == (due, amount, Unit.WORKING_DAYS)
    assert deadline.legal_basis == "Điều 24 Luật Tố cáo 2018"


def test_denunciation_outside_competence_is_forwarded_within_five_working_days(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    ours = compute_deadlines(case(ComplaintKind.DENUNCIATION), rules, holidays)
    assert Procedure.DENUNCIATION_FORWARD not in {d.procedure for d in ours}
    theirs = case(ComplaintKind.DENUNCIATION, competence="forwarded")
    deadline = by_procedure(
        compute_deadlines(theirs, rules, holidays), Procedure.DENUNCIATION_FORWARD
    )
    assert deadline.due == date(2025, 3, 10)


def test_denunciation_notify_acceptance(rules: RuleTable, holidays: HolidayCalendar) -> None:
    complaint = case(ComplaintKind.DENUNCIATION, acceptance_date=date(2025, 3, 5))
    deadline = by_procedure(
        compute_deadlines(complaint, rules, holidays), Procedure.DENUNCIATION_NOTIFY
    )
    assert deadline.due == date(2025, 3, 12)
    assert deadline.legal_basis == "Điều 29 Luật Tố cáo 2018"


@pytest.mark.parametrize(("extensions", "days"), [(0, 30), (1, 60), (2, 90)])
def test_denunciation_resolution_with_extensions(
    plain_rules: RuleTable, holidays: HolidayCalendar, extensions: int, days: int
) -> None:
    complaint = case(ComplaintKind.DENUNCIATION, acceptance_date=MON, extensions=extensions)
    deadline = by_procedure(
        compute_deadlines(complaint, plain_rules, holidays), Procedure.DENUNCIATION_RESOLUTION
    )
    assert deadline.due == MON + timedelta(days=days)
    assert deadline.extensions == extensions
    assert ("gia hạn" in deadline.name) is (extensions > 0)


def test_denunciation_forwarded_by_press_gets_twenty_days(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    by_post = compute_deadlines(case(ComplaintKind.DENUNCIATION), rules, holidays)
    assert Procedure.DENUNCIATION_PRESS_REPLY not in {d.procedure for d in by_post}
    press = case(ComplaintKind.DENUNCIATION, channel=Channel.PRESS)
    deadline = by_procedure(
        compute_deadlines(press, rules, holidays), Procedure.DENUNCIATION_PRESS_REPLY
    )
    assert deadline.amount == 20
    assert deadline.due == date(2025, 3, 24)  # day 20 is Sunday 23/03


# --- citizen reception, press, spokesperson ---------------------------------------------------


@pytest.mark.parametrize("kind", list(ComplaintKind))
def test_citizen_reception_reply_for_matters_received_in_person(
    rules: RuleTable, holidays: HolidayCalendar, kind: ComplaintKind
) -> None:
    deadline = by_procedure(
        compute_deadlines(case(kind, channel=Channel.IN_PERSON), rules, holidays),
        Procedure.RECEPTION_REPLY,
    )
    assert deadline.due == date(2025, 3, 17)
    assert deadline.legal_basis == "Điều 28 Luật Tiếp công dân 2013"
    by_post = compute_deadlines(case(kind, channel=Channel.POST), rules, holidays)
    assert Procedure.RECEPTION_REPLY not in {d.procedure for d in by_post}


def test_press_request_reply_thirty_days(rules: RuleTable, holidays: HolidayCalendar) -> None:
    received = datetime(2025, 3, 3, 16, 0, tzinfo=VN)
    deadline = press_reply_deadline(
        received, Procedure.PRESS_REQUEST_REPLY, rules=rules, holidays=holidays
    )
    assert deadline.due == date(2025, 4, 2)
    assert deadline.rule_id == "bao-chi.tra-loi-yeu-cau.2016"


def test_press_forwarded_feedback_thirty_days(rules: RuleTable, holidays: HolidayCalendar) -> None:
    complaint = case(ComplaintKind.FEEDBACK, channel=Channel.PRESS)
    deadline = by_procedure(
        compute_deadlines(complaint, rules, holidays), Procedure.PRESS_FORWARDED_REPORT
    )
    assert (deadline.due, deadline.rule_id) == (
        date(2025, 4, 2),
        "bao-chi.phan-anh-chuyen-den.2016",
    )


def test_spokesperson_initial_information_within_24_hours(rules: RuleTable) -> None:
    deadline = press_reply_deadline(
        datetime(2025, 3, 3, 15, 30, tzinfo=UTC), Procedure.SPOKESPERSON_INITIAL, rules=rules
    )
    assert deadline.due == datetime(2025, 3, 4, 22, 30, tzinfo=VN)
    assert deadline.unit is Unit.HOURS
    assert deadline.counted_from is CountedFrom.INCIDENT
    naive = press_reply_deadline(datetime(2025, 3, 3, 22, 30), Procedure.SPOKESPERSON_INITIAL)
    assert naive.due == deadline.due
    assert naive.ends_at() == deadline.due


def test_date_deadline_ends_at_end_of_day_in_vietnam() -> None:
    deadline = press_reply_deadline(datetime(2025, 3, 3, 9, 0), Procedure.PRESS_REQUEST_REPLY)
    end = deadline.ends_at()
    assert (end.date(), end.hour, end.tzinfo) == (date(2025, 4, 2), 23, VN)


# --- the 01/07/2026 switch --------------------------------------------------------------------


def test_case_received_before_switch_keeps_old_rules(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    complaint = case(received_date=date(2026, 6, 30), acceptance_date=date(2026, 7, 10))
    acceptance = by_procedure(
        compute_deadlines(complaint, rules, holidays), Procedure.COMPLAINT_ACCEPTANCE
    )
    assert acceptance.rule_id == "khieu-nai.thu-ly.lan-1.2011"
    assert (acceptance.amount, acceptance.is_check) == (10, False)
    assert acceptance.due == date(2026, 7, 14)


def test_case_received_on_switch_day_gets_new_rules(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    complaint = case(received_date=date(2026, 7, 1))
    acceptance = by_procedure(
        compute_deadlines(complaint, rules, holidays), Procedure.COMPLAINT_ACCEPTANCE
    )
    assert acceptance.rule_id == "khieu-nai.thu-ly.2026"
    assert (acceptance.amount, acceptance.is_check) == (7, True)
    assert acceptance.due == date(2026, 7, 10)


def test_press_feedback_switches_to_fifteen_working_days(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    old = case(ComplaintKind.FEEDBACK, channel=Channel.PRESS, received_date=date(2026, 6, 30))
    new = case(ComplaintKind.FEEDBACK, channel=Channel.PRESS, received_date=date(2026, 7, 1))
    before = by_procedure(compute_deadlines(old, rules, holidays), Procedure.PRESS_FORWARDED_REPORT)
    after = by_procedure(compute_deadlines(new, rules, holidays), Procedure.PRESS_FORWARDED_REPORT)
    assert (before.amount, before.unit, before.due) == (30, Unit.CALENDAR_DAYS, date(2026, 7, 30))
    assert (after.amount, after.unit, after.due) == (15, Unit.WORKING_DAYS, date(2026, 7, 22))
    assert after.is_check


def test_conclusion_reported_to_press_within_five_working_days_after_switch(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    fields: dict[str, Any] = {"channel": Channel.PRESS, "decision_date": date(2026, 8, 28)}
    old = compute_deadlines(case(received_date=date(2026, 6, 30), **fields), rules, holidays)
    assert Procedure.PRESS_FORWARDED_CONCLUSION not in {d.procedure for d in old}
    new = compute_deadlines(case(received_date=date(2026, 7, 1), **fields), rules, holidays)
    deadline = by_procedure(new, Procedure.PRESS_FORWARDED_CONCLUSION)
    # Friday 28/08/2026; 31/08 (swapped for Saturday 22/08), 01/09 and 02/09 are off.
    assert deadline.due == date(2026, 9, 9)


def test_spokesperson_counting_start_changes_on_switch(rules: RuleTable) -> None:
    old = press_reply_deadline(datetime(2026, 6, 30, 20, 0), Procedure.SPOKESPERSON_INITIAL)
    new = press_reply_deadline(datetime(2026, 7, 1, 8, 0), Procedure.SPOKESPERSON_INITIAL)
    assert (old.rule_id, old.counted_from) == ("phat-ngon.thong-tin-ban-dau.2017", "incident")
    assert (new.rule_id, new.counted_from) == ("phat-ngon.thong-tin-ban-dau.2026", "received")
    assert new.due == datetime(2026, 7, 2, 8, 0, tzinfo=VN)


# --- working days -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Friday -> Monday
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # from a Saturday
        (date(2025, 3, 7), 0, date(2025, 3, 7)),
        (date(2024, 2, 7), 1, date(2024, 2, 15)),  # Tết Giáp Thìn 08–14/02
        (date(2025, 1, 24), 1, date(2025, 2, 3)),  # Tết Ất Tỵ 25/01–02/02
        (date(2026, 2, 13), 1, date(2026, 2, 23)),  # Tết Bính Ngọ 14–22/02
        (date(2025, 1, 20), 10, date(2025, 2, 10)),
        (date(2024, 5, 3), 1, date(2024, 5, 4)),  # Saturday worked for the 29/04 swap
    ],
)
def test_add_working_days(holidays: HolidayCalendar, start: date, n: int, due: date) -> None:
    assert add_working_days(start, n, holidays) == due


def test_add_working_days_rejects_negative(holidays: HolidayCalendar) -> None:
    with pytest.raises(ValueError, match="-1"):
        add_working_days(MON, -1, holidays)


@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 11, 30)),
    n=st.integers(min_value=1, max_value=40),
)
def test_working_days_counted_exactly(start: date, n: int) -> None:
    calendar = load_holidays()
    due = add_working_days(start, n, calendar)
    assert calendar.is_working_day(due)
    walked = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(calendar.is_working_day(day) for day in walked) == n


def test_estimated_or_missing_holiday_years_make_deadlines_provisional(
    rules: RuleTable, holidays: HolidayCalendar
) -> None:
    known = compute_deadlines(case(received_date=date(2025, 12, 22)), rules, holidays)
    estimated = compute_deadlines(case(received_date=date(2026, 12, 28)), rules, holidays)
    assert not by_procedure(known, Procedure.COMPLAINT_ACCEPTANCE).provisional
    assert by_procedure(estimated, Procedure.COMPLAINT_ACCEPTANCE).provisional


# --- rule settings and files ------------------------------------------------------------------


def test_unit_setting_switches_calendar_to_working_days(holidays: HolidayCalendar) -> None:
    complaint = case(acceptance_date=MON)
    calendar = by_procedure(
        compute_deadlines(complaint, load_rules(), holidays), Procedure.COMPLAINT_RESOLUTION
    )
    working_rules = load_rules(unit_overrides={"complaint.resolution": Unit.WORKING_DAYS})
    working = by_procedure(
        compute_deadlines(complaint, working_rules, holidays), Procedure.COMPLAINT_RESOLUTION
    )
    assert calendar.due == date(2025, 4, 2)
    assert working.unit is Unit.WORKING_DAYS
    assert working.due == date(2025, 4, 15)  # skips weekends and Giỗ Tổ 07/04/2025


def write_rules(tmp_path: Path, rules: list[dict[str, Any]], **head: Any) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"version": 1, **head, "rules": rules}), encoding="utf-8")
    return path


def a_rule(**fields: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "thu.nghiem.2011",
        "name": "Thử nghiệm",
        "procedure": "complaint.acceptance",
        "kinds": ["khieu_nai"],
        "amount": 10,
        "unit": "working_days",
        "counted_from": "received",
        "legal_basis": "Điều 27 Luật Khiếu nại 2011",
        "effective_from": "2012-07-01",
    }
    rule.update(fields)
    return rule


def test_unit_override_in_file(tmp_path: Path) -> None:
    path = write_rules(tmp_path, [a_rule()], unit_overrides={"thu.nghiem.2011": "calendar_days"})
    assert load_rules(path).get("thu.nghiem.2011").unit is Unit.CALENDAR_DAYS


@pytest.mark.parametrize(
    ("rules", "head", "message"),
    [
        ([a_rule(unit="weeks")], {}, r"rule 'thu.nghiem.2011': unit"),
        ([a_rule(procedure="complaint.appeal")], {}, r"rule 'thu.nghiem.2011': procedure"),
        ([a_rule(amount=0)], {}, r"rule 'thu.nghiem.2011': amount"),
        ([a_rule(when={"instance": 3})], {}, r"rule 'thu.nghiem.2011': when.instance"),
        ([a_rule(when={"urgent": True})], {}, r"rule 'thu.nghiem.2011': when.urgent"),
        ([a_rule(effective_to="2010-01-01")], {}, r"'thu.nghiem.2011'.*before effective_from"),
        ([a_rule(), a_rule()], {}, r"rule 'thu.nghiem.2011': id used twice"),
        (
            [a_rule(), a_rule(id="thu.nghiem.2026", effective_from="2026-07-01")],
            {},
            r"rule 'thu.nghiem.2026' overlaps rule 'thu.nghiem.2011'",
        ),
        ([{"name": "không có id"}], {}, r"rule '#1': id"),
        ([a_rule()], {"unit_overrides": {"khong.co": "hours"}}, r"unknown rule.*khong.co"),
        ([a_rule()], {"version": 2}, r"version"),
    ],
)
def test_bad_rule_file_names_the_rule(
    tmp_path: Path, rules: list[dict[str, Any]], head: dict[str, Any], message: str
) -> None:
    path = write_rules(tmp_path, rules, **head)
    with pytest.raises(RuleFileError, match=message) as raised:
        load_rules(path)
    assert str(path) in str(raised.value)


def test_unreadable_or_invalid_yaml_rule_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match="not valid YAML"):
        load_rules(broken)


def test_bad_holiday_file_names_the_year(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    body = {"status": "official", "days_off": [{"date": "2025-01-01", "name": "Tết Dương lịch"}]}
    path.write_text(yaml.safe_dump({"years": {2024: body}}), encoding="utf-8")
    with pytest.raises(RuleFileError, match="year 2024: day off 2025-01-01"):
        load_holidays(path)


def test_holiday_file_from_path_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    body = {
        "status": "official",
        "days_off": [{"date": "2025-03-04", "name": "Ngày nghỉ thử"}],
        "workdays": [{"date": "2025-03-08", "name": "Làm bù"}],
    }
    path.write_text(yaml.safe_dump({"years": {2025: body}}), encoding="utf-8")
    calendar = load_holidays(path)
    assert add_working_days(MON, 1, calendar) == date(2025, 3, 5)
    assert add_working_days(date(2025, 3, 7), 1, calendar) == date(2025, 3, 8)
    assert not calendar.is_confirmed(date(2025, 12, 30), date(2026, 1, 5))


# --- the shipped tables -----------------------------------------------------------------------


def test_shipped_holiday_table_covers_2024_to_2027(holidays: HolidayCalendar) -> None:
    assert holidays.official_years == {2024, 2025, 2026}
    assert {day.year for day in holidays.days_off} == {2024, 2025, 2026, 2027}
    assert date(2025, 9, 2) in holidays.days_off
    assert not holidays.is_working_day(date(2026, 4, 27))  # Giỗ Tổ on Sunday, day off Monday


def test_check_flags_only_on_single_source_2026_facts(rules: RuleTable) -> None:
    flagged = {rule.id for rule in rules.rules if rule.check}
    assert flagged == {
        "khieu-nai.thu-ly.2026",
        "bao-chi.phan-anh-chuyen-den.2025",
        "bao-chi.ket-luan.2025",
    }
    assert all(rules.get(rule_id).effective_from == date(2026, 7, 1) for rule_id in flagged)


def test_every_old_rule_ended_by_the_switch_has_a_successor(rules: RuleTable) -> None:
    switch = date(2026, 7, 1)
    ended = {r.procedure for r in rules.rules if r.effective_to == switch - timedelta(days=1)}
    started = {r.procedure for r in rules.rules if r.effective_from == switch}
    assert ended
    assert ended <= started
