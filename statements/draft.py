"""Drafting a press statement from the register and the selected stories (domain.md §6).

Every factual sentence is filled from a register field, a selected story, the agency profile or
a computed legal deadline; a fact that is missing becomes a visible ``[CẦN BỔ SUNG: ...]``
placeholder rather than a guess. While a case is being resolved the text says what is being done
and by when, never the verdict (Press Law Art. 38). No personal data of complainants appears:
names, ID numbers, phones and addresses are scrubbed from every text taken from the case or the
stories, and complainants are never named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from complaints.deadlines import Deadline, compute_deadlines
from complaints.privacy import REDACTED, Role, redact
from complaints.rules import Procedure, load_holidays, load_rules
from indexer.models import Complaint, ComplaintStatus
from statements.labels import CHANNEL, DOING, KIND, STATUS, place_date, vn_date
from statements.stories import Story
from statements.strategy import Posture, Strategy, suggest

DOC_TYPE = "THÔNG CÁO BÁO CHÍ"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
_ACCEPTED = frozenset(
    {
        ComplaintStatus.ACCEPTED,
        ComplaintStatus.VERIFYING,
        ComplaintStatus.DECIDED,
        ComplaintStatus.APPEALED,
        ComplaintStatus.CLOSED,
    }
)
_LONG_DIGITS = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){8,}(?!\d)")


def missing(what: str) -> str:
    return f"[CẦN BỔ SUNG: {what}]"


class Agency(BaseModel):
    """The issuing body as it appears in the header."""

    name: str = ""
    parent: str = ""
    code: str = ""
    place: str = ""


class Spokesperson(BaseModel):
    name: str = ""
    title: str = ""
    phone: str = ""
    email: str = ""


class Section(BaseModel):
    heading: str
    paragraphs: list[str]


class Draft(BaseModel):
    """A statement: the administrative header, the body sections and the signature block."""

    case_number: str
    parent: str
    agency: str
    number: str
    place_date: str
    summary_line: str
    headline: str
    sections: list[Section]
    signer_title: str
    signer_name: str
    recipients: list[str] = Field(default_factory=lambda: ["Các cơ quan báo chí", "Lưu: VT"])
    strategy: Strategy
    story_ids: list[str] = Field(default_factory=list)

    def text(self) -> str:
        """The body as plain text (what is edited and versioned)."""
        parts = [self.headline, ""]
        for section in self.sections:
            parts.append(f"## {section.heading}")
            parts.extend(section.paragraphs)
            parts.append("")
        return "\n".join(parts).strip() + "\n"


def _clean(complaint: Complaint, text: str) -> str:
    """``text`` with every complainant's personal data removed, and no long digit runs."""
    if complaint.complainants:
        holder = complaint.model_copy(
            update={
                "summary": text,
                "request": "",
                "notes": "",
                "respondent": "",
                "outcome": None,
                "aliases": [],
                "keywords": [],
                "projects": [],
            }
        )
        text = redact(holder, Role.VIEWER).summary
    text = _LONG_DIGITS.sub("", text.replace(REDACTED, ""))
    return re.sub(r"\s{2,}", " ", re.sub(r"\s+([,.;:])", r"\1", text)).strip()


def _next_deadline(
    complaint: Complaint, deadlines: Sequence[Deadline], today: date
) -> Deadline | None:
    acceptance = {Procedure.COMPLAINT_ACCEPTANCE, Procedure.DENUNCIATION_INITIAL}
    resolution = {Procedure.COMPLAINT_RESOLUTION, Procedure.DENUNCIATION_RESOLUTION}
    wanted = acceptance if complaint.status is ComplaintStatus.RECEIVED else resolution
    chosen = [d for d in deadlines if d.procedure in wanted]
    upcoming = [d for d in chosen if _day(d.due) >= today]
    pool = upcoming or chosen
    return pool[0] if pool else None


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _stories(complaint: Complaint, stories: Sequence[Story]) -> list[str]:
    lines = []
    for story in sorted(stories, key=lambda s: s.published_at or datetime.min.replace(tzinfo=UTC)):
        when = vn_date(story.published_at) or missing("ngày đăng")
        outlet = story.outlet or missing("tên báo")
        lines.append(f"Ngày {when}, {outlet} đăng bài “{_clean(complaint, story.title)}”.")
    return lines


def draft_statement(
    complaint: Complaint,
    stories: Sequence[Story],
    agency: Agency,
    spokesperson: Spokesperson,
    strategy: Strategy | None = None,
    now: datetime | None = None,
    deadlines: Sequence[Deadline] | None = None,
) -> Draft:
    """The statement for ``complaint``; ``deadlines`` default to the package rule tables."""
    moment = now or datetime.now(UTC)
    today = moment.date()
    if deadlines is None:
        deadlines = compute_deadlines(complaint, load_rules(), load_holidays())
    strategy = strategy or suggest(complaint, stories)
    agency_name = agency.name or missing("tên cơ quan ban hành")
    kind = KIND[complaint.kind]
    case = complaint.case_number
    decided = complaint.status in (ComplaintStatus.DECIDED, ComplaintStatus.CLOSED)

    place = agency.place or missing("địa danh")
    received = vn_date(complaint.received_date)
    respondent = _clean(complaint, complaint.respondent) or missing("đối tượng bị khiếu nại")
    where = _clean(complaint, complaint.location.address_text) or missing("địa điểm")
    lead = (
        f"Ngày {received}, {agency_name} tiếp nhận {kind} số {case} "
        f"({CHANNEL[complaint.channel]}) liên quan đến {respondent}, tại {where}."
    )
    facts = [lead]
    summary = _clean(complaint, complaint.summary)
    facts.append(f"Nội dung đơn: {summary}" if summary else missing("nội dung tóm tắt của đơn"))
    if complaint.status in _ACCEPTED:
        accepted = vn_date(complaint.acceptance_date) or missing("ngày thụ lý")
        facts.append(f"Ngày {accepted}, {agency_name} đã thụ lý {kind}.")
    for change in complaint.history:
        facts.append(f"Ngày {vn_date(change.at)}: {STATUS[change.status]}.")
    facts.extend(_stories(complaint, stories))

    quote = (
        f"{spokesperson.name or missing('họ tên người phát ngôn')}, "
        f"{spokesperson.title or missing('chức vụ người phát ngôn')}, cho biết: "
        f"“{missing('trích dẫn của người phát ngôn')}”"
    )

    doing: list[str] = []
    if decided:
        day = vn_date(complaint.decision_date) or missing("ngày ban hành quyết định")
        outcome = _clean(complaint, complaint.outcome or "") or missing("kết quả giải quyết")
        doing.append(f"Ngày {day}, {agency_name} đã ban hành quyết định giải quyết: {outcome}")
    elif complaint.status in DOING:
        doing.append(f"Hiện nay, {agency_name} đang {DOING[complaint.status]}.")
        due = _next_deadline(complaint, deadlines, today)
        if due is None:
            doing.append(f"Thời hạn: {missing('bước tiếp theo và thời hạn luật định')}.")
        else:
            doing.append(
                f"Theo {due.legal_basis}, thời hạn {due.name.lower()} là ngày {vn_date(due.due)}."
            )
    else:
        doing.append(f"Tình trạng hồ sơ: {STATUS[complaint.status]}.")
        if complaint.status is ComplaintStatus.FORWARDED and complaint.forwarded_to:
            doing.append(f"Hồ sơ đã được chuyển đến {_clean(complaint, complaint.forwarded_to)}.")
    doing.append(
        f"{agency_name} sẽ thông tin kịp thời, chính xác tới các cơ quan báo chí về kết quả "
        "giải quyết theo quy định."
    )
    if strategy.posture is Posture.DENY:
        doing.insert(0, f"Đính chính: {missing('thông tin chính xác cần đính chính')}")
    if strategy.posture is Posture.REBUILD and decided:
        doing.append(f"Biện pháp khắc phục: {missing('biện pháp khắc phục, trách nhiệm')}")

    instructing = [
        f"Đề nghị các cơ quan báo chí, người dân theo dõi thông tin chính thức do {agency_name} "
        "cung cấp; mọi câu hỏi xin gửi người phát ngôn theo địa chỉ dưới đây."
    ]
    background = [
        f"Lĩnh vực: {complaint.subject_field}."
        if complaint.subject_field != "other"
        else missing("lĩnh vực, bối cảnh vụ việc"),
        *sorted({f"Căn cứ pháp lý: {d.legal_basis}." for d in deadlines}),
    ]
    contact = [
        f"Người phát ngôn: {spokesperson.name or missing('họ tên')}, "
        f"{spokesperson.title or missing('chức vụ')}.",
        f"Điện thoại: {spokesperson.phone or missing('số điện thoại')}; "
        f"thư điện tử: {spokesperson.email or missing('thư điện tử')}.",
    ]
    return Draft(
        case_number=case,
        parent=agency.parent,
        agency=agency_name,
        number=f"Số: {missing('số')}/TCBC-{agency.code or missing('ký hiệu')}",
        place_date=place_date(place, today),
        summary_line=f"Về việc giải quyết {kind} số {case}",
        headline=f"{agency_name} thông tin về việc giải quyết {kind} số {case}",
        sections=[
            Section(heading="Thông tin hướng dẫn", paragraphs=instructing),
            Section(heading="Sự việc", paragraphs=facts),
            Section(heading="Ý kiến người phát ngôn", paragraphs=[quote]),
            Section(heading="Việc cơ quan đang làm và thời hạn", paragraphs=doing),
            Section(heading="Bối cảnh", paragraphs=background),
            Section(heading="Liên hệ", paragraphs=contact),
        ],
        signer_title="NGƯỜI PHÁT NGÔN",
        signer_name=spokesperson.name or missing("họ tên người ký"),
        strategy=strategy,
        story_ids=[s.article_id for s in stories],
    )
