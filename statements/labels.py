"""Vietnamese wording of register values, shared by the draft and the pages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from complaints.deadlines import VN_TZ
from indexer.models import Channel, ComplaintKind, ComplaintStatus

KIND = {
    ComplaintKind.COMPLAINT: "đơn khiếu nại",
    ComplaintKind.DENUNCIATION: "đơn tố cáo",
    ComplaintKind.PETITION: "đơn kiến nghị",
    ComplaintKind.FEEDBACK: "đơn phản ánh",
}
CHANNEL = {
    Channel.IN_PERSON: "nộp trực tiếp",
    Channel.POST: "gửi qua bưu chính",
    Channel.ONLINE: "gửi trực tuyến",
    Channel.PRESS: "do cơ quan báo chí chuyển đến",
}
STATUS = {
    ComplaintStatus.RECEIVED: "đã tiếp nhận",
    ComplaintStatus.ACCEPTED: "đã thụ lý",
    ComplaintStatus.VERIFYING: "đang xác minh",
    ComplaintStatus.DECIDED: "đã có quyết định giải quyết",
    ComplaintStatus.APPEALED: "đang giải quyết khiếu nại lần hai",
    ComplaintStatus.CLOSED: "đã kết thúc",
    ComplaintStatus.WITHDRAWN: "người gửi đơn đã rút đơn",
    ComplaintStatus.REFUSED: "không thụ lý",
    ComplaintStatus.FORWARDED: "đã chuyển cơ quan có thẩm quyền",
}
DOING = {
    ComplaintStatus.RECEIVED: "xem xét, phân loại đơn để thụ lý theo quy định",
    ComplaintStatus.ACCEPTED: "tổ chức xác minh nội dung đơn theo quy định",
    ComplaintStatus.VERIFYING: "xác minh, làm rõ các nội dung phản ánh trong đơn",
    ComplaintStatus.APPEALED: "xem xét giải quyết khiếu nại lần hai theo quy định",
}


def vn_date(day: date | datetime | None) -> str | None:
    """dd/mm/yyyy, the form used in administrative documents; moments in Vietnam's time."""
    if day is None:
        return None
    if isinstance(day, datetime) and day.tzinfo is not None:
        day = day.astimezone(ZoneInfo(VN_TZ))
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def place_date(place: str, day: date) -> str:
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
