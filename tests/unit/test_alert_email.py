"""Alert emails: Vietnamese multipart content, links into the web app, local times, escaped
article text, Message-IDs; and the delivery journal that recovery trusts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from alerts.email import Composer, alert_message_id, digest_message_id, group_message_id
from alerts.journal import DeliveryJournal
from alerts.model import OutboxAlert, StoryRef
from indexer.models import AlertKind, OutletKind, Severity

PUBLIC = "https://diemnong.ninhbinh.gov.vn"
XSS_TITLE = '<script>alert("x")</script> Dân "bức xúc" & <b>tụ tập</b>'
XSS_SNIPPET = '"><img src=x onerror=alert(1)> người dân <iframe src="//evil">'


def alert(**changes: object) -> OutboxAlert:
    base = OutboxAlert(
        id="4f2a9c0d1e2b3a4c5d6e7f8091a2b3c4",
        kind=AlertKind.COMPLAINT_TOUCHED,
        severity=Severity.HIGH,
        title="Báo chí đưa tin về vụ việc 15/KN-UBND",
        reason="2 bài báo khớp với hồ sơ 15/KN-UBND (lần đầu được báo chí nhắc đến).",
        created_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        complaint_case="15/KN-UBND",
        subject_key="complaint:15/KN-UBND",
        rule="complaint_touched.first",
        subject_label="Hộ dân xã Xuân Mai khiếu nại quyết định thu hồi đất",
        numbers={"stories": 2, "new_outlets": 2},
        lexicon_terms=["bức xúc"],
        due_at=datetime(2026, 11, 21, 1, 30, tzinfo=UTC),
        stories=[
            StoryRef(
                article_id="a1b2c3",
                title=XSS_TITLE,
                outlet="Báo Ninh Bình",
                outlet_kind=OutletKind.PROVINCIAL_PAPER,
                url="https://baoninhbinh.org.vn/dan-buc-xuc-1234.html",
                published_at=datetime(2026, 11, 20, 1, 45, tzinfo=UTC),
                snippet=XSS_SNIPPET,
            ),
            StoryRef(
                article_id="d4e5f6",
                title="Tin thứ hai",
                outlet="VnExpress",
                url="javascript:alert(document.cookie)",
                published_at=None,
            ),
        ],
    )
    return base.model_copy(update=changes)


@pytest.fixture
def composer() -> Composer:
    return Composer(PUBLIC, "canhbao@ninhbinh.gov.vn", "Asia/Ho_Chi_Minh")


def parts(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    return text.get_content(), html.get_content()


def test_multipart_vietnamese_with_links_and_local_times(composer: Composer) -> None:
    message = composer.alert(alert(), "an@ninhbinh.gov.vn", "<m1@ninhbinh.gov.vn>")
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "[Nghiêm trọng] Báo chí đưa tin về vụ việc 15/KN-UBND"
    assert message["To"] == "an@ninhbinh.gov.vn"
    assert message["Message-ID"] == "<m1@ninhbinh.gov.vn>"
    text, html = parts(message)
    for body in (text, html):
        assert "Vì sao có cảnh báo" in body
        assert f"{PUBLIC}/articles/a1b2c3" in body
        assert "https://baoninhbinh.org.vn/dan-buc-xuc-1234.html" in body
        assert f"{PUBLIC}/complaints/15%2FKN-UBND/statement" in body
        assert f"{PUBLIC}/alerts/4f2a9c0d1e2b3a4c5d6e7f8091a2b3c4" in body
        assert "08:45 20/11/2026" in body  # 01:45 UTC shown in Asia/Ho_Chi_Minh
        assert "Thời hạn" in body and "08:30 21/11/2026" in body
        assert "Số bài báo" in body and "complaint_touched.first" in body
        assert "Báo Ninh Bình" in body and "bức xúc" in body


def test_article_text_is_escaped_and_only_http_links_are_links(composer: Composer) -> None:
    _, html = parts(composer.alert(alert(), "an@ninhbinh.gov.vn", "<m1@x>"))
    assert "<script" not in html and "<iframe" not in html and "<img" not in html
    assert "onerror=alert(1)&gt;" in html  # shown as text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&amp; &lt;b&gt;tụ tập&lt;/b&gt;" in html
    assert "javascript:" not in html
    assert "Tin thứ hai" in html


def test_subject_is_one_line_even_with_newlines_in_titles(composer: Composer) -> None:
    evil = alert(title="Vụ việc\r\nBcc: victim@example.com\nX", severity=Severity.CRITICAL)
    message = composer.alert(evil, "an@ninhbinh.gov.vn", "<m1@x>")
    raw = message.as_bytes()
    reparsed = message_from_bytes(raw, policy=policy.default)
    assert reparsed["Bcc"] is None
    assert reparsed["Subject"] == "[Khẩn cấp] Vụ việc Bcc: victim@example.com X"


def test_long_vietnamese_subjects_keep_their_spaces_on_the_wire(composer: Composer) -> None:
    title = "Báo chí đưa tin về vụ việc 15/KN-UBND: hàng chục hộ dân xã Xuân Mai phản đối"
    message = composer.alert(alert(title=title), "an@x.vn", "<m1@x>")
    raw = message.as_bytes()
    assert all(len(line) <= 998 for line in raw.splitlines())
    reparsed = message_from_bytes(raw, policy=policy.default)
    assert reparsed["Subject"] == f"[Nghiêm trọng] {title}"


def test_message_ids_follow_from_what_they_deliver() -> None:
    sender = "canhbao@ninhbinh.gov.vn"
    one = alert_message_id("abc", "an@x.vn", sender)
    assert one == alert_message_id("abc", "AN@x.vn", sender)
    assert one != alert_message_id("abc", "binh@x.vn", sender)
    assert one.startswith("<abc.") and one.endswith("@ninhbinh.gov.vn>")
    assert group_message_id("an@x.vn", ["b", "a"], sender) == group_message_id(
        "an@x.vn", ["a", "b"], sender
    )
    assert group_message_id("an@x.vn", ["a"], sender) != group_message_id(
        "an@x.vn", ["a", "b"], sender
    )
    day = date(2026, 11, 20)
    assert digest_message_id("an@x.vn", day, sender) != digest_message_id(
        "an@x.vn", date(2026, 11, 21), sender
    )


def test_digest_lists_held_alerts_in_full_and_the_days_others_in_brief(
    composer: Composer,
) -> None:
    held = alert()
    earlier = alert(
        id="e1", title="Dấu hiệu khủng hoảng: Xã Xuân Mai", kind=AlertKind.EMERGING_CRISIS
    )
    message = composer.bundle(
        [held], "an@x.vn", "<d@x>", digest_day=date(2026, 11, 20), earlier=[earlier]
    )
    assert message["Subject"] == "Bản tin cảnh báo ngày 20/11/2026: 2 cảnh báo"
    text, html = parts(message)
    for body in (text, html):
        assert "Các cảnh báo đã gửi trong ngày" in body
        assert "Dấu hiệu khủng hoảng: Xã Xuân Mai" in body
        assert f"{PUBLIC}/articles/a1b2c3" in body
    assert "<script" not in html
    grouped = composer.bundle([held, earlier], "an@x.vn", "<g@x>")
    assert grouped["Subject"].startswith("2 cảnh báo gộp")
    assert "số thư cảnh báo tối đa trong một giờ" in parts(grouped)[0]


# -- the delivery journal --------------------------------------------------------------------
def test_journal_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "alerts" / "journal.jsonl"
    journal = DeliveryJournal(path)
    assert "<m1@x>" not in journal
    journal.record("<m1@x>", "an@x.vn", ["a1"])
    journal.record("<m2@x>", "an@x.vn", ["a2", "a3"])
    again = DeliveryJournal(path)
    assert "<m1@x>" in again and "<m2@x>" in again and len(again) == 2
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert lines[1]["alerts"] == ["a2", "a3"]


def test_a_line_torn_by_a_crash_does_not_count_and_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    DeliveryJournal(path).record("<m1@x>", "an@x.vn", ["a1"])
    with path.open("ab") as handle:
        handle.write(b'{"message_id": "<m2@x>", "recip')
    reopened = DeliveryJournal(path)
    assert "<m1@x>" in reopened and "<m2@x>" not in reopened
    reopened.record("<m3@x>", "an@x.vn", ["a3"])
    assert "<m3@x>" in DeliveryJournal(path)
    assert path.read_bytes().count(b"\n") == 2
