"""Statement drafts hold only facts from their inputs, hide personal data, and export cleanly."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import pytest

import statements.draft
import statements.labels
import statements.strategy
from complaints.deadlines import compute_deadlines
from complaints.rules import load_holidays, load_rules
from indexer.models import (
    Complainant,
    Complaint,
    ComplaintKind,
    ComplaintStatus,
    Location,
    StatusChange,
)
from statements.draft import Agency, Draft, Spokesperson, draft_statement
from statements.export import to_docx, to_markdown
from statements.labels import vn_date
from statements.store import Statement, Version
from statements.stories import Story
from statements.strategy import CrisisType, Posture, anticipated_questions, classify, suggest

NOW = datetime(2026, 4, 8, 9, 30, tzinfo=UTC)
TEMPLATE = "\n".join(
    Path(module.__file__ or "").read_text("utf-8")
    for module in (statements.draft, statements.labels, statements.strategy)
)
VERDICT_WORDS = ("kết luận", "sai phạm đã được xác định", "đã ban hành quyết định giải quyết")
AGENCY = Agency(name="Ủy ban nhân dân huyện Thanh Trì", parent="UBND TP Hà Nội", place="Hà Nội")
SPEAKER = Spokesperson(name="Lê Minh Tâm", title="Chánh Văn phòng", email="vp@thanhtri.gov.vn")


def _complaint(**update: object) -> Complaint:
    base = Complaint(
        case_number="KN-2026-0042",
        kind=ComplaintKind.COMPLAINT,
        received_date=date(2026, 3, 2),
        complainants=[
            Complainant(name="Nguyễn Văn An", id_number="001190012345", phone="0912345678")
        ],
        people_count=14,
        respondent="UBND xã Tả Thanh Oai",
        summary="Ông Nguyễn Văn An (SĐT 0912345678) cùng 14 hộ khiếu nại giá bồi thường 3,2 ha "
        "đất dự án Khu nhà ở Hồng Hà Xanh.",
        location=Location(address_text="xã Tả Thanh Oai, huyện Thanh Trì"),
        subject_field="land",
        status=ComplaintStatus.VERIFYING,
        history=[
            StatusChange(status=ComplaintStatus.VERIFYING, at=datetime(2026, 3, 20, 8, tzinfo=UTC))
        ],
    )
    return base.model_copy(update=update)


STORIES = [
    Story(
        article_id="a1",
        title="Dân Tả Thanh Oai bức xúc vì giá bồi thường đất",
        outlet="Tuổi Trẻ",
        published_at=datetime(2026, 4, 6, 7, tzinfo=UTC),
        lead="Người dân phản ánh giá bồi thường thấp.",
    ),
    Story(
        article_id="a2",
        title="Ông Nguyễn Văn An, 0912 345 678, kể chuyện thu hồi đất",
        outlet="Thanh Niên",
        published_at=datetime(2026, 4, 7, 12, tzinfo=UTC),
    ),
]


def _draft(complaint: Complaint, stories: list[Story] = STORIES) -> tuple[Draft, str, str]:
    deadlines = compute_deadlines(complaint, load_rules(), load_holidays())
    draft = draft_statement(complaint, stories, AGENCY, SPEAKER, now=NOW, deadlines=deadlines)
    rendered = "\n".join(
        [
            draft.agency,
            draft.parent,
            draft.number,
            draft.place_date,
            draft.summary_line,
            draft.signer_name,
            draft.text(),
        ]
    )
    inputs = "\n".join(
        [
            complaint.model_dump_json(),
            *(s.model_dump_json() for s in stories),
            AGENCY.model_dump_json(),
            SPEAKER.model_dump_json(),
            json.dumps([(d.name, d.legal_basis) for d in deadlines], ensure_ascii=False),
            *(vn_date(d.due) or "" for d in deadlines),
            *(vn_date(s.published_at) or "" for s in stories),
            *(vn_date(h.at) or "" for h in complaint.history),
            vn_date(complaint.received_date) or "",
            vn_date(complaint.acceptance_date) or "",
            vn_date(complaint.decision_date) or "",
            vn_date(NOW) or "",
            f"{NOW.day:02d} {NOW.month:02d} {NOW.year}",
        ]
    )
    return draft, rendered, inputs


def _assert_only_input_facts(rendered: str, inputs: str) -> None:
    known = inputs + "\n" + TEMPLATE
    for day in re.findall(r"\b\d{2}/\d{2}/\d{4}\b", rendered):
        assert day in inputs, f"date {day} is not in the inputs"
    for day in re.findall(r"\b\d{4}-\d{2}-\d{2}\b", rendered):
        assert day in inputs, f"date {day} is not in the inputs"
    known_numbers = set(re.findall(r"\d+", inputs))
    for number in re.findall(r"\d+", rendered):
        assert number in known_numbers, f"number {number} is not in the inputs"
    for name in _capitalised_runs(rendered):
        assert _covered(name.split(" "), known), f"name {name!r} is neither input nor template"


def _covered(words: list[str], known: str) -> bool:
    """The run is known whole, or is template words joined to known input (\"Theo Điều\")."""
    if " ".join(words) in known:
        return True
    return any(
        _covered(words[:cut], known) and _covered(words[cut:], known)
        for cut in range(1, len(words))
    )


def _capitalised_runs(text: str) -> list[str]:
    """Every run of capitalised words separated by single spaces (names, bodies, places)."""
    runs: list[str] = []
    for line in text.splitlines():
        current: list[str] = []
        for match in re.finditer(r"[^\W\d_]+|\S", line):
            word = match.group()
            gap = line[match.start() - 1] if match.start() else " "
            if word[0].isupper() and word.isalpha() and (not current or gap == " "):
                current.append(word)
                continue
            if current:
                runs.append(" ".join(current))
            current = [word] if word[0].isupper() and word.isalpha() else []
        if current:
            runs.append(" ".join(current))
    return runs


def test_every_fact_comes_from_the_inputs() -> None:
    draft, rendered, inputs = _draft(_complaint(acceptance_date=date(2026, 3, 9)))
    _assert_only_input_facts(rendered, inputs)
    assert "02/03/2026" in rendered and "09/03/2026" in rendered
    assert "06/04/2026" in rendered and "Tuổi Trẻ" in rendered
    assert "ngày 08 tháng 04 năm 2026" in draft.place_date
    assert "THÔNG CÁO" not in draft.text()  # the document type lives in the header


def test_a_fact_that_would_be_invented_is_caught() -> None:
    _, rendered, inputs = _draft(_complaint())
    for invented in ("Ngày 31/12/2025.", "Có 83 hộ.", "Ông Trần Quốc Bảo trả lời.", "1990-05-17"):
        with pytest.raises(AssertionError):
            _assert_only_input_facts(rendered + "\n" + invented, inputs)


def test_missing_facts_become_placeholders() -> None:
    draft, rendered, inputs = _draft(_complaint())
    _assert_only_input_facts(rendered, inputs)
    assert "[CẦN BỔ SUNG: ngày thụ lý]" in rendered
    assert "[CẦN BỔ SUNG: số điện thoại]" in rendered
    assert "[CẦN BỔ SUNG: trích dẫn của người phát ngôn]" in rendered
    assert draft.number.startswith("Số: [CẦN BỔ SUNG: số]")


def test_open_case_says_what_is_done_and_by_when_not_the_verdict() -> None:
    complaint = _complaint(acceptance_date=date(2026, 3, 9), outcome="Khiếu nại đúng một phần")
    deadlines = compute_deadlines(complaint, load_rules(), load_holidays())
    resolution = next(d for d in deadlines if d.procedure.value == "complaint.resolution")
    _, rendered, _ = _draft(complaint)
    lowered = rendered.lower()
    assert not any(word in lowered for word in VERDICT_WORDS)
    assert "đúng một phần" not in lowered
    assert "đang xác minh" in lowered
    assert f"là ngày {vn_date(resolution.due)}" in rendered
    assert resolution.legal_basis in rendered


def test_decided_case_states_the_decision() -> None:
    complaint = _complaint(
        acceptance_date=date(2026, 3, 9),
        status=ComplaintStatus.DECIDED,
        decision_date=date(2026, 4, 1),
        outcome="Khiếu nại đúng một phần",
    )
    _, rendered, inputs = _draft(complaint)
    _assert_only_input_facts(rendered, inputs)
    assert "đã ban hành quyết định giải quyết: Khiếu nại đúng một phần" in rendered
    assert "01/04/2026" in rendered


@pytest.mark.parametrize("kind", [ComplaintKind.COMPLAINT, ComplaintKind.DENUNCIATION])
def test_no_personal_data_in_the_statement(kind: ComplaintKind) -> None:
    _, rendered, _ = _draft(_complaint(kind=kind))
    digits = re.sub(r"\D", "", rendered)
    assert "001190012345" not in digits and "0912345678" not in digits
    assert "Nguyễn Văn An" not in rendered and " An " not in rendered
    assert "Nguyen Van An" not in rendered
    assert "Tả Thanh Oai" in rendered  # the rest of the sentence is kept


def test_strategy_from_the_case() -> None:
    abuse = _complaint(summary="Cán bộ địa chính nhũng nhiễu, đòi tiền khi cấp sổ")
    assert classify(abuse)[0] is CrisisType.PREVENTABLE
    assert suggest(abuse).posture is Posture.BOLSTER
    rumour = _complaint(summary="Tin đồn thất thiệt về việc thu hồi toàn bộ đất của thôn")
    assert suggest(rumour).posture is Posture.DENY
    failure = _complaint(summary="Lỗi hệ thống khiến hồ sơ đất đai bị chậm trễ", status="closed")
    assert classify(failure)[0] is CrisisType.ACCIDENTAL
    assert suggest(failure).posture is Posture.REBUILD
    chosen = suggest(abuse, crisis=CrisisType.VICTIM)
    assert chosen.crisis_type is CrisisType.VICTIM and chosen.first_steps


def test_anticipated_questions_carry_register_facts() -> None:
    complaint = _complaint(acceptance_date=date(2026, 3, 9))
    questions = anticipated_questions(STORIES, complaint)
    assert any("09/03/2026" in fact for q in questions for fact in q.facts)
    themed = [q for q in questions if "“bồi”" in q.question or "“thường”" in q.question]
    assert themed and any("Tuổi Trẻ: " + STORIES[0].title in f for f in themed[0].facts)


def test_docx_and_markdown_hold_the_sections() -> None:
    draft, _, _ = _draft(_complaint())
    statement = Statement(
        id="s1",
        case_number=draft.case_number,
        created_at=NOW,
        created_by="can.bo",
        draft=draft,
        versions=[Version(number=1, text=draft.text(), by="can.bo", at=NOW)],
    )
    document = docx.Document(io.BytesIO(to_docx(statement)))
    header = document.tables[0].rows[0].cells
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header[1].text
    assert "Độc lập - Tự do - Hạnh phúc" in header[1].text
    assert "ỦY BAN NHÂN DÂN HUYỆN THANH TRÌ" in header[0].text
    texts = [p.text for p in document.paragraphs]
    assert "THÔNG CÁO BÁO CHÍ" in texts
    headings = {
        p.text for p in document.paragraphs if p.style and str(p.style.name).startswith("Heading")
    }
    assert {"Sự việc", "Việc cơ quan đang làm và thời hạn", "Liên hệ"} <= headings
    markdown = to_markdown(statement)
    assert "# THÔNG CÁO BÁO CHÍ" in markdown and "## Liên hệ" in markdown


def test_a_case_never_accepted_is_not_said_to_be() -> None:
    _, rendered, inputs = _draft(
        _complaint(status=ComplaintStatus.FORWARDED, history=[], forwarded_to="Sở Tài nguyên")
    )
    _assert_only_input_facts(rendered, inputs)
    assert "thụ lý" not in rendered and "đã chuyển cơ quan có thẩm quyền" in rendered
    assert "chuyển đến Sở Tài nguyên" in rendered
