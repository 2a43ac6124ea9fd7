"""A press officer's day in a real browser: sign in, search coverage, open a complaint, draft,
edit and approve a statement, download the .docx, acknowledge an alert. A screenshot of every
page goes to test-artifacts/screenshots/."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from playwright.sync_api import Page, expect

from alerts.model import OutboxAlert
from alerts.store import AlertStore
from bench.matching import load_set
from complaints.factory import build_register
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import AlertKind, Severity
from indexer.writer import ArticleWriter
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.engine, pytest.mark.browser]


@pytest.fixture
def case_with_coverage(engine: Engine, layout: IndexNames) -> str:
    """A register case, recent stories about it, and an alert on it."""
    data = load_set()
    complaint = data.complaints[0]
    ids = {a for a, c in data.positives if c == complaint.case_number}
    recent = datetime.now(UTC) - timedelta(days=2)
    articles = [a.model_copy(update={"published_at": recent}) for a in data.articles if a.id in ids]
    ArticleWriter(engine, layout).write(articles, refresh=True)
    build_register(engine, layout, 90).upsert(complaint, "tiep.dan", refresh=True)
    engine.refresh(layout.complaint_links)
    AlertStore(engine, layout).create(
        OutboxAlert(
            id="journey-alert",
            kind=AlertKind.COMPLAINT_TOUCHED,
            severity=Severity.HIGH,
            title=f"Báo chí đưa tin về hồ sơ {complaint.case_number}",
            reason="bài đầu tiên về một hồ sơ đang giải quyết",
            created_at=datetime.now(UTC),
            complaint_case=complaint.case_number,
            subject_key=f"case:{complaint.case_number}",
        )
    )
    engine.refresh(layout.alerts)
    return complaint.case_number


def test_draft_approve_download_acknowledge(
    page: Page, live_app: str, accounts, case_with_coverage: str
) -> None:
    case = case_with_coverage
    sign_in(page, live_app, accounts["spokesperson"])

    page.goto(f"{live_app}/")
    page.get_by_label("Từ khoá").fill("Tả Thanh Oai bồi thường")
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_load_state()
    with_marks = page.locator("ol.results > li").count()
    assert with_marks >= 1
    screenshot(page, "03-search-diacritics")
    page.get_by_label("Từ khoá").fill("ta thanh oai boi thuong")
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_load_state()
    assert page.locator("ol.results > li").count() == with_marks
    screenshot(page, "04-search-folded")
    page.get_by_label("Số hồ sơ").fill(case)
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_load_state()
    assert 1 <= page.locator("ol.results > li").count() <= with_marks
    screenshot(page, "05-search-filtered")

    page.goto(f"{live_app}/complaints")
    screenshot(page, "10-complaints")
    page.get_by_role("link", name=case).first.click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text(case)
    screenshot(page, "11-complaint")

    boxes = page.locator("input[name=story_ids]")
    assert boxes.count() >= 1
    boxes.first.check()
    page.get_by_label("Người phát ngôn").fill("Nguyễn Văn Phát")
    page.get_by_role("button", name="Soạn thông cáo").click()
    page.wait_for_load_state()
    text = page.locator("textarea#text")
    expect(text).to_contain_text("Nguyễn Văn Phát")
    expect(text).to_contain_text("[CẦN BỔ SUNG")  # missing facts stay visible, never invented
    screenshot(page, "12-statement-draft")

    text.fill(text.input_value() + "\nGhi chú của người phát ngôn: đã kiểm tra.")
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    page.wait_for_load_state()
    expect(page.locator("textarea#text")).to_contain_text("đã kiểm tra")
    page.get_by_role("button", name="Duyệt").click()
    page.wait_for_load_state()
    screenshot(page, "13-statement-approved")

    with page.expect_download() as download:
        page.get_by_role("link", name=".docx").first.click()
    saved = download.value.path()
    document = Document(io.BytesIO(saved.read_bytes()))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "THÔNG CÁO BÁO CHÍ" in paragraphs
    assert "đã kiểm tra" in paragraphs

    page.goto(f"{live_app}/alerts")
    screenshot(page, "14-alerts")
    page.get_by_role("button", name="Đã xem").first.click()
    page.wait_for_load_state()
    screenshot(page, "15-alert-acknowledged")
    assert accounts["spokesperson"] in page.content()
