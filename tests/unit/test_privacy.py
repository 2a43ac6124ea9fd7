"""Who sees which personal field, denouncer confidentiality and the press side's view."""

from __future__ import annotations

from datetime import date

import pytest

from complaints.privacy import (
    REDACTED,
    PersonalField,
    Role,
    disclosed_fields,
    matching_view,
    redact,
    visible_fields,
)
from indexer.models import Complainant, Complaint, ComplaintKind, Location

NAME = "Nguyễn Văn Hùng"
ADDRESS = "số 12 ngõ 45 đường Ngọc Hồi, xã Ngọc Hồi, huyện Thanh Trì, Hà Nội"
ID_NUMBER = "001075012345"
PHONE = "0912345678"
VALUES = {
    PersonalField.NAME: NAME,
    PersonalField.ADDRESS: ADDRESS,
    PersonalField.ID_NUMBER: ID_NUMBER,
    PersonalField.PHONE: PHONE,
}
SEES = {
    Role.ADMIN: set(PersonalField),
    Role.SPOKESPERSON: set(PersonalField),
    Role.PRESS_OFFICER: {PersonalField.NAME, PersonalField.ADDRESS},
    Role.VIEWER: set(),
}


def make(kind: ComplaintKind = ComplaintKind.COMPLAINT, **update: object) -> Complaint:
    complaint = Complaint(
        case_number="01/2025/KN",
        kind=kind,
        received_date=date(2025, 1, 6),
        complainants=[
            Complainant(name=NAME, address=ADDRESS, id_number=ID_NUMBER, phone=PHONE),
            Complainant(name="Trần Thị Lan", address=None, id_number=None, phone="0904555666"),
        ],
        respondent="UBND huyện Thanh Trì",
        summary=f"Ông {NAME} khiếu nại quyết định thu hồi đất; ông Hùng đề nghị đối thoại.",
        request="Liên hệ ông Nguyen Van Hung qua số 0912.345.678 hoặc CCCD 001075012345.",
        notes=f"Địa chỉ liên hệ: {ADDRESS}. Bà Lan đi cùng.",
        location=Location(address_text="xã Ngọc Hồi, huyện Thanh Trì, Hà Nội"),
        keywords=["thu hồi đất", NAME],
    )
    return complaint.model_copy(update=update)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("field", list(PersonalField))
def test_each_role_sees_exactly_its_fields_on_a_complaint(role: Role, field: PersonalField) -> None:
    shown = getattr(redact(make(), role).complainants[0], field.value)
    if field in SEES[role]:
        assert shown == VALUES[field]
    else:
        assert shown == REDACTED


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("field", list(PersonalField))
def test_a_denouncer_is_hidden_from_everyone_but_admin(role: Role, field: PersonalField) -> None:
    shown = getattr(redact(make(ComplaintKind.DENUNCIATION), role).complainants[0], field.value)
    assert shown == (VALUES[field] if role is Role.ADMIN else REDACTED)


def test_missing_values_stay_missing_not_placeholders() -> None:
    second = redact(make(), Role.PRESS_OFFICER).complainants[1]
    assert second.name == "Trần Thị Lan"
    assert second.address is None
    assert second.id_number is None
    assert second.phone == REDACTED


def test_denouncer_names_are_scrubbed_from_text_in_every_form() -> None:
    shown = redact(make(ComplaintKind.DENUNCIATION), Role.SPOKESPERSON)
    assert "Hùng" not in shown.summary and "Hung" not in shown.request
    assert shown.summary == (
        f"Ông {REDACTED} khiếu nại quyết định thu hồi đất; ông {REDACTED} đề nghị đối thoại."
    )
    assert shown.request == f"Liên hệ ông {REDACTED} qua số {REDACTED} hoặc CCCD {REDACTED}."
    assert ADDRESS not in shown.notes and "ngõ 45" not in shown.notes
    assert shown.notes.startswith(f"Địa chỉ liên hệ: {REDACTED}.")
    assert "Bà " + REDACTED in shown.notes
    assert shown.keywords == ["thu hồi đất", REDACTED]
    assert shown.respondent == "UBND huyện Thanh Trì"
    assert shown.location.address_text == "xã Ngọc Hồi, huyện Thanh Trì, Hà Nội"


def test_admin_reads_a_denunciation_unchanged() -> None:
    original = make(ComplaintKind.DENUNCIATION)
    assert redact(original, Role.ADMIN) == original


def test_a_press_officer_keeps_names_in_text_but_not_phones_or_ids() -> None:
    shown = redact(make(), Role.PRESS_OFFICER)
    assert NAME in shown.summary
    assert "0912.345.678" not in shown.request and ID_NUMBER not in shown.request
    assert "Nguyen Van Hung" in shown.request


def test_redact_never_changes_its_input() -> None:
    original = make(ComplaintKind.DENUNCIATION)
    copy = original.model_copy(deep=True)
    redact(original, Role.VIEWER)
    matching_view(original)
    assert original == copy


def test_scrubbing_keeps_words_that_merely_contain_a_name() -> None:
    complaint = make(
        complainants=[Complainant(name="Lê An")],
        summary="Ông An đề nghị bảo đảm an toàn; Lê An và ANH AN cùng ký; Annam giữ nguyên.",
    )
    shown = redact(complaint, Role.VIEWER).summary
    assert shown == (
        f"Ông {REDACTED} đề nghị bảo đảm an toàn; {REDACTED} và ANH {REDACTED} cùng ký; "
        "Annam giữ nguyên."
    )


@pytest.mark.parametrize("role", list(Role))
def test_disclosed_fields_name_what_the_role_sees(role: Role) -> None:
    assert set(disclosed_fields(make(), role)) == SEES[role]
    denounced = set(disclosed_fields(make(ComplaintKind.DENUNCIATION), role))
    assert denounced == (set(PersonalField) if role is Role.ADMIN else set())
    assert visible_fields(role, ComplaintKind.COMPLAINT) == SEES[role]


def test_disclosed_fields_skip_empty_fields() -> None:
    complaint = make(complainants=[Complainant(name="Trần Thị Lan")])
    assert disclosed_fields(complaint, Role.ADMIN) == [PersonalField.NAME]


def test_matching_view_has_no_id_numbers_or_phones_anywhere() -> None:
    view = matching_view(make())
    dumped = view.model_dump_json()
    assert ID_NUMBER not in dumped and PHONE not in dumped and "345.678" not in dumped
    assert all(p.id_number is None and p.phone is None for p in view.complainants)
    assert view.complainants[0].name == NAME
    assert REDACTED not in dumped


def test_matching_view_of_a_denunciation_has_no_trace_of_the_denouncer() -> None:
    view = matching_view(make(ComplaintKind.DENUNCIATION))
    dumped = view.model_dump_json()
    assert view.complainants == []
    for word in ("Hùng", "Hung", "Ngọc Hồi, xã", "ngõ 45", "0912", REDACTED):
        assert word not in dumped
    assert view.summary.startswith("Ông khiếu nại quyết định thu hồi đất")
    assert view.respondent == "UBND huyện Thanh Trì"
