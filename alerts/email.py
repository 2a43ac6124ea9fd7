"""Alert emails in Vietnamese: multipart plain text + HTML from the Jinja2 templates.

Article titles and snippets are untrusted text: the HTML templates autoescape everything, no
value is ever marked safe, and only http(s) addresses become links. Each message carries a
Message-ID derived from what it delivers, so a receiving side can drop a resent copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from alerts.model import OutboxAlert
from indexer.models import AlertKind, Severity

SEVERITY_LABELS = {
    Severity.INFO: "Thông tin",
    Severity.WARNING: "Cảnh báo",
    Severity.HIGH: "Nghiêm trọng",
    Severity.CRITICAL: "Khẩn cấp",
}
KIND_LABELS = {
    AlertKind.COMPLAINT_TOUCHED: "Vụ việc được báo chí nhắc đến",
    AlertKind.EMERGING_CRISIS: "Dấu hiệu khủng hoảng truyền thông",
    AlertKind.DEADLINE: "Thời hạn trả lời, cung cấp thông tin",
    AlertKind.SOURCE_HEALTH: "Tình trạng nguồn tin",
}
NUMBER_LABELS = {
    "stories": "Số bài báo",
    "new_clusters": "Tin mới",
    "new_outlets": "Báo mới đưa tin",
    "covered_before": "Tin đã báo trước đó",
    "count_1h": "Số tin trong 1 giờ qua",
    "count_6h": "Số tin trong 6 giờ qua",
    "z_1h": "Độ lệch so với mức nền (1 giờ, z)",
    "z_6h": "Độ lệch so với mức nền (6 giờ, z)",
    "baseline_per_day": "Mức nền (tin/ngày)",
    "outlets_6h": "Số báo đưa tin trong 6 giờ",
    "baseline_max_outlets_6h": "Số báo tối đa trong 6 giờ (mức nền)",
    "hours_local_before_national": "Số giờ báo địa phương đưa tin trước",
    "fraction": "Phần thời hạn đã qua",
    "hours_left": "Số giờ còn lại",
    "silent_hours": "Số giờ không có bài mới",
    "longest_gap_h": "Khoảng lặng dài nhất trước đây (giờ)",
    "probability": "Xác suất im lặng như vậy",
    "baseline_articles": "Số bài trong 14 ngày",
    "errors_1h": "Số lỗi trong 1 giờ qua",
    "baseline_per_h": "Mức lỗi thường (lỗi/giờ)",
    "z": "Độ lệch (z)",
}
_SPACE = re.compile(r"\s+")
# Python's header folding drops the space between two encoded words ("về vụ" arrives as
# "vềvụ"); subjects are kept to one line of at most 200 characters, so long lines are safe.
_WIRE = policy.default.clone(max_line_length=998)
MAX_ID_HEADER = 20


def _hash(text: str, size: int = 12) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def _domain(sender: str) -> str:
    domain = sender.rpartition("@")[2].strip("<> ")
    return domain or "diemnong.local"


def alert_message_id(alert_id: str, recipient: str, sender: str) -> str:
    return f"<{alert_id}.{_hash(recipient.lower())}@{_domain(sender)}>"


def group_message_id(recipient: str, alert_ids: Sequence[str], sender: str) -> str:
    key = recipient.lower() + "\n" + "\n".join(sorted(alert_ids))
    return f"<group.{_hash(key, 24)}@{_domain(sender)}>"


def digest_message_id(recipient: str, day: date, sender: str) -> str:
    return f"<digest.{day.isoformat()}.{_hash(recipient.lower())}@{_domain(sender)}>"


def _one_line(text: str, limit: int = 200) -> str:
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _safe_url(url: str) -> str | None:
    """Only http(s) addresses become links (never ``javascript:`` or ``data:``)."""
    return url if urlsplit(url).scheme in ("http", "https") else None


class Composer:
    """Builds the emails; ``public_url`` is the web app as users reach it."""

    def __init__(self, public_url: str, sender: str, tz: str = "Asia/Ho_Chi_Minh") -> None:
        self.public_url = public_url
        self.sender = sender
        self.tz = tz
        self.env = Environment(
            loader=PackageLoader("alerts", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def _local(self, moment: datetime | None) -> str:
        if moment is None:
            return "không rõ"
        return moment.astimezone(ZoneInfo(self.tz)).strftime("%H:%M %d/%m/%Y")

    def view(self, alert: OutboxAlert) -> dict[str, Any]:
        """What the templates show of one alert (plain values only)."""
        base = self.public_url.rstrip("/")
        case = alert.complaint_case
        return {
            "id": alert.id,
            "title": alert.title,
            "kind": KIND_LABELS.get(alert.kind, alert.kind.value),
            "severity": SEVERITY_LABELS.get(alert.severity, alert.severity.value),
            "severity_key": alert.severity.value,
            "reason": alert.reason,
            "rule": alert.rule,
            "subject": alert.subject_label,
            "created": self._local(alert.created_at),
            "numbers": [
                (NUMBER_LABELS.get(key, key), f"{value:g}") for key, value in alert.numbers.items()
            ],
            "terms": alert.lexicon_terms,
            "due": self._local(alert.due_at) if alert.due_at else None,
            "case": case,
            "statement_url": f"{base}/complaints/{quote(case, safe='')}/statement"
            if case
            else None,
            "alert_url": f"{base}/alerts/{alert.id}",
            "stories": [
                {
                    "title": story.title,
                    "outlet": story.outlet,
                    "time": self._local(story.published_at),
                    "snippet": story.snippet,
                    "app_url": f"{base}/articles/{quote(story.article_id, safe='')}",
                    "url": _safe_url(story.url),
                    "raw_url": story.url,
                }
                for story in alert.stories
            ],
        }

    def _message(
        self, subject: str, recipient: str, message_id: str, name: str, context: dict[str, Any]
    ) -> EmailMessage:
        env = self.env
        message = EmailMessage()
        message["Subject"] = _one_line(subject)
        message["From"] = self.sender
        message["To"] = recipient
        message["Message-ID"] = message_id
        message["Date"] = format_datetime(datetime.now(ZoneInfo(self.tz)))
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(env.get_template(f"{name}.txt.j2").render(**context))
        message.add_alternative(
            env.get_template(f"{name}.html.j2").render(**context), subtype="html"
        )
        message.policy = _WIRE  # the bodies are encoded already: only header folding changes
        return message

    def alert(self, alert: OutboxAlert, recipient: str, message_id: str) -> EmailMessage:
        view = self.view(alert)
        message = self._message(
            f"[{view['severity']}] {alert.title}",
            recipient,
            message_id,
            "alert",
            {"alert": view, "public_url": self.public_url},
        )
        message["X-Diemnong-Alert"] = alert.id
        return message

    def bundle(
        self,
        alerts: Sequence[OutboxAlert],
        recipient: str,
        message_id: str,
        *,
        digest_day: date | None = None,
        earlier: Sequence[OutboxAlert] = (),
    ) -> EmailMessage:
        """Several alerts in one email: a grouped email (hourly limit reached) or the daily
        digest (``digest_day``), which also lists the day's ``earlier`` alerts in brief."""
        if digest_day is not None:
            count = len(alerts) + len(earlier)
            subject = f"Bản tin cảnh báo ngày {digest_day:%d/%m/%Y}: {count} cảnh báo"
        else:
            subject = f"{len(alerts)} cảnh báo gộp (đã đạt giới hạn số thư mỗi giờ)"
        context = {
            "alerts": [self.view(a) for a in alerts],
            "earlier": [self.view(a) for a in earlier],
            "day": f"{digest_day:%d/%m/%Y}" if digest_day else None,
            "public_url": self.public_url,
        }
        message = self._message(subject, recipient, message_id, "bundle", context)
        message["X-Diemnong-Alert"] = ", ".join(a.id for a in alerts[:MAX_ID_HEADER])
        return message
