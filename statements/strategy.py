"""A suggested response strategy (SCCT, domain.md §5) and the questions journalists will ask.

The suggestion is a starting point the officer may change: the crisis type is read from words of
the case (officials' conduct → preventable, technical or process failure → accidental, rumour or
disaster → victim), and the case status tempers it: an open case cannot promise a verdict.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, Field

from indexer.models import Complaint, ComplaintStatus
from indexer.vietnamese import fold
from statements.labels import KIND, STATUS, vn_date
from statements.stories import Story


class CrisisType(StrEnum):
    VICTIM = "victim"
    ACCIDENTAL = "accidental"
    PREVENTABLE = "preventable"


class Posture(StrEnum):
    DENY = "deny"
    DIMINISH = "diminish"
    REBUILD = "rebuild"
    BOLSTER = "bolster"


CRISIS_LABEL = {
    CrisisType.VICTIM: "Nạn nhân (tin đồn, thiên tai)",
    CrisisType.ACCIDENTAL: "Sự cố (lỗi kỹ thuật, quy trình)",
    CrisisType.PREVENTABLE: "Có thể phòng tránh (vi phạm, sai sót của cán bộ)",
}
POSTURE_LABEL = {
    Posture.DENY: "Bác bỏ, đính chính thông tin sai",
    Posture.DIMINISH: "Giảm nhẹ: giải thích, làm rõ căn cứ",
    Posture.REBUILD: "Tái thiết: tiếp thu, khắc phục, xin lỗi khi có kết luận",
    Posture.BOLSTER: "Củng cố: nhắc lại kết quả, ghi nhận phối hợp",
}

_PREVENTABLE = (
    "sai pham",
    "vi pham",
    "tham nhung",
    "nhung nhieu",
    "lam quyen",
    "tieu cuc",
    "can bo",
    "thieu trach nhiem",
    "hoi lo",
    "chiem dung",
)
_ACCIDENTAL = (
    "su co",
    "loi he thong",
    "loi ky thuat",
    "cham tre",
    "quy trinh",
    "nham lan",
    "thieu sot",
    "ung ngap",
    "mat dien",
)
_VICTIM = (
    "tin don",
    "tin gia",
    "thien tai",
    "bao lu",
    "lu lut",
    "sat lo",
    "dich benh",
    "mao danh",
    "xuyen tac",
)


class Strategy(BaseModel):
    """What the statement leads with; the officer may override both fields."""

    crisis_type: CrisisType
    posture: Posture
    reasons: list[str] = Field(default_factory=list)
    first_steps: list[str] = Field(default_factory=list)


def _hits(text: str, words: Sequence[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]


def classify(complaint: Complaint, stories: Sequence[Story] = ()) -> tuple[CrisisType, list[str]]:
    """The crisis cluster from the case's words, most severe cluster first."""
    text = fold(
        " ".join(
            [
                complaint.summary,
                complaint.request,
                complaint.respondent,
                *complaint.keywords,
                *(s.title for s in stories),
            ]
        )
    )
    for crisis, words in (
        (CrisisType.PREVENTABLE, _PREVENTABLE),
        (CrisisType.ACCIDENTAL, _ACCIDENTAL),
        (CrisisType.VICTIM, _VICTIM),
    ):
        found = _hits(text, words)
        if found:
            return crisis, [f"từ khóa: {', '.join(found)}"]
    return CrisisType.ACCIDENTAL, ["không có dấu hiệu rõ: mặc định là sự cố, cần cán bộ xác định"]


def suggest(
    complaint: Complaint, stories: Sequence[Story] = (), crisis: CrisisType | None = None
) -> Strategy:
    """The posture from crisis type and status; instructing and adjusting information first."""
    reasons: list[str] = []
    if crisis is None:
        crisis, reasons = classify(complaint, stories)
    decided = complaint.status in (ComplaintStatus.DECIDED, ComplaintStatus.CLOSED)
    if crisis is CrisisType.VICTIM:
        posture = Posture.DENY
    elif crisis is CrisisType.ACCIDENTAL:
        posture = Posture.REBUILD if decided else Posture.DIMINISH
    else:
        posture = Posture.REBUILD if decided else Posture.BOLSTER
    if not decided:
        reasons.append(
            "vụ việc đang giải quyết: chỉ nêu việc đang làm, chưa nêu kết quả "
            "(Điều 38 Luật Báo chí)"
        )
    return Strategy(
        crisis_type=crisis,
        posture=posture,
        reasons=reasons,
        first_steps=[
            "Thông tin hướng dẫn: người dân, báo chí cần làm gì, liên hệ ở đâu",
            "Thông tin điều chỉnh: bày tỏ sự quan tâm, nêu việc cơ quan đang làm và thời hạn",
        ],
    )


class Question(BaseModel):
    question: str
    facts: list[str]


_STOP_WORDS = (
    "của và các những cho với được trong theo người dân này đã đang không có là một tại về từ "
    "khi sau trước vì nên thì mà cũng như đến ra lên xã huyện tỉnh phường thành phố bị"
)
_STOP = frozenset(fold(w) for w in _STOP_WORDS.split())


def _themes(stories: Sequence[Story], complaint: Complaint, top: int = 5) -> list[str]:
    words: Counter[str] = Counter()
    for story in stories:
        for word in re.findall(r"\w{3,}", f"{story.title} {story.lead}".lower()):
            if fold(word) not in _STOP and not word.isdigit():
                words[word] += 1
    return [w for w, _ in words.most_common(top)]


def anticipated_questions(stories: Sequence[Story], complaint: Complaint) -> list[Question]:
    """Likely press questions from the coverage's words and the case's field, each with the
    register facts that answer it (a fact missing from the register is said to be missing)."""
    received = vn_date(complaint.received_date)
    accepted = vn_date(complaint.acceptance_date)
    questions = [
        Question(
            question=f"Cơ quan đã nhận {KIND[complaint.kind]} này khi nào, xử lý đến đâu?",
            facts=[
                f"Tiếp nhận ngày {received}",
                f"Thụ lý ngày {accepted}" if accepted else "Chưa ghi ngày thụ lý",
                f"Trạng thái: {STATUS[complaint.status]}",
            ],
        ),
        Question(
            question="Khi nào có kết quả giải quyết?",
            facts=[
                f"Ngày quyết định {vn_date(complaint.decision_date)}"
                if complaint.decision_date
                else "Chưa có quyết định; xem thời hạn luật định"
            ],
        ),
    ]
    if complaint.subject_field and complaint.subject_field != "other":
        questions.append(
            Question(
                question=f"Trách nhiệm quản lý lĩnh vực {complaint.subject_field} thuộc về ai?",
                facts=[f"Đối tượng bị khiếu nại/phản ánh: {complaint.respondent or 'chưa ghi'}"],
            )
        )
    for theme in _themes(stories, complaint):
        quoting = [s for s in stories if theme in f"{s.title} {s.lead}".lower()]
        questions.append(
            Question(
                question=f"Báo chí nêu về “{theme}”: cơ quan trả lời thế nào?",
                facts=[f"{s.outlet}: {s.title}" for s in quoting[:3]]
                + ([f"Nội dung đơn: {complaint.summary}"] if complaint.summary else []),
            )
        )
    return questions
