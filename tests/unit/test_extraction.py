"""Extraction against the real saved pages and their gold facts (tests/fixtures/realpages)."""

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crawlers.encoding import decode_html
from crawlers.extraction import (
    ExtractedArticle,
    ExtractionError,
    article_to_json,
    extract_article,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
REALPAGES = Path(__file__).parents[1] / "fixtures" / "realpages"
GOLD: list[dict[str, Any]] = json.loads((REALPAGES / "gold.json").read_text("utf-8"))["articles"]
# After the capture (March 2026), so that every gold date is plausible whenever tests run.
NOW = datetime(2026, 4, 1, tzinfo=VN)
# Gold phrases that the page prints only in its sapo. The sapo is the article's lead, kept
# out of the body so it is not stored twice; there the phrase is looked for in the lead.
PHRASE_IN_SAPO = {
    "baodautu_article.html": "the body has 'ông Tống Anh Linh' only in lower case",
    "dantri_article.html": "the sapo opens '(Dân trí) - Giá vàng trong nước tiếp tục giảm'",
    "tuoitre_article.html": "the sapo opens 'Xung đột ở khu vực Trung Đông'",
}


@cache
def extracted(page: str) -> ExtractedArticle:
    gold = next(g for g in GOLD if g["page"] == page)
    text = decode_html((REALPAGES / "pages" / page).read_bytes(), None).text
    return extract_article(text, url=gold["url"], now=NOW)


def gold_with(key: str) -> list[Any]:
    return [pytest.param(g, id=g["page"]) for g in GOLD if g.get(key)]


@pytest.mark.parametrize("gold", gold_with("title"))
def test_title_exact(gold: dict[str, Any]) -> None:
    assert extracted(gold["page"]).title == gold["title"]


@pytest.mark.parametrize("gold", gold_with("published_at"))
def test_published_time_exact(gold: dict[str, Any]) -> None:
    article = extracted(gold["page"])
    assert article.published_at == datetime.fromisoformat(gold["published_at"])
    assert article.published_at is not None
    assert (
        article.published_at.utcoffset() == datetime.fromisoformat(gold["published_at"]).utcoffset()
    )
    assert article.rejected_dates == []


@pytest.mark.parametrize("gold", gold_with("published_date"))
def test_published_day(gold: dict[str, Any]) -> None:
    published = extracted(gold["page"]).published_at
    assert published is not None
    assert published.date().isoformat() == gold["published_date"]


@pytest.mark.parametrize("gold", gold_with("category"))
def test_section_is_the_category(gold: dict[str, Any]) -> None:
    assert extracted(gold["page"]).section == gold["category"]


@pytest.mark.parametrize("gold", gold_with("body_contains"))
def test_body_contains_gold_phrases(gold: dict[str, Any]) -> None:
    article = extracted(gold["page"])
    for phrase in gold["body_contains"]:
        if gold["page"] in PHRASE_IN_SAPO:
            assert phrase in article.lead, PHRASE_IN_SAPO[gold["page"]]
        else:
            assert phrase in article.body


@pytest.mark.parametrize("gold", [pytest.param(g, id=g["page"]) for g in GOLD])
def test_every_page_has_title_lead_body_and_canonical_url(gold: dict[str, Any]) -> None:
    article = extracted(gold["page"])
    assert article.title
    assert len(article.lead) > 50
    assert len(article.body.split("\n\n")) >= 5
    assert article.canonical_url is not None
    assert article.canonical_url == (gold["url"] or article.canonical_url)
    assert article.canonical_url.startswith("https://")


@pytest.mark.parametrize("gold", [pytest.param(g, id=g["page"]) for g in GOLD])
def test_lead_is_not_repeated_in_body(gold: dict[str, Any]) -> None:
    article = extracted(gold["page"])
    first = article.body.split("\n\n")[0]
    assert article.lead not in article.body
    assert article.lead[:60] not in first
    assert article.title != first


@pytest.mark.parametrize("gold", gold_with("body_paragraphs"))
def test_full_lead_body_and_author(gold: dict[str, Any]) -> None:
    article = extracted(gold["page"])
    assert [article.lead] == gold["lead"]
    assert article.body.split("\n\n") == gold["body_paragraphs"]
    assert article.authors == gold["authors"]
    assert set(gold["topics"]) <= set(article.tags)


def test_author_names_not_outlet_names() -> None:
    assert extracted("tuoitre_article.html").authors == ["Nhật Xuân", "Nghi Vũ"]
    assert extracted("cafef_article_batdongsan.html").authors == ["Hồ Hương"]
    assert extracted("dantri_article.html").authors == ["Tri Túc"]
    assert extracted("nld_article.html").authors == []  # only "NLD.COM.VN" is named


def test_article_to_json() -> None:
    data = article_to_json(extracted("vnexpress_2025_10_22.html"))
    assert set(data) == {
        "title",
        "lead",
        "body",
        "authors",
        "published_at",
        "section",
        "tags",
        "canonical_url",
    }
    assert data["published_at"] == "2025-10-22T19:25:52+07:00"
    assert data["canonical_url"] == (
        "https://vnexpress.net/dau-bung-keo-dai-phat-hien-ung-thu-lymphoma-ruot-non-4954454.html"
    )
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_dates_after_now_are_rejected_with_reasons() -> None:
    text = decode_html((REALPAGES / "pages" / "vnexpress_2025_10_22.html").read_bytes(), None)
    article = extract_article(text.text, now=datetime(2025, 1, 1, tzinfo=VN))
    assert article.published_at is None
    assert article.updated_at is None
    assert article.rejected_dates[0].startswith("meta datepublished '2025-10-22T19:25:52+07:00'")
    assert all("in the future" in reason for reason in article.rejected_dates)


SYNTHETIC = """<html><head><title>{title} - Báo Tỉnh</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{meta_date}">
</head><body>
<nav><a href="/">Trang chủ</a><a class="active" href="/thoi-su">Thời sự</a></nav>
<article><h1>{title}</h1>
<div class="date-time">Thứ hai, 22/10/2025 - 14:30</div>
<h2 class="sapo">{lead}</h2>
<div class="content">
<p>{lead}</p>
{paragraphs}
<p style="text-align:right"><strong>Minh Anh</strong></p>
</div></article></body></html>"""
PARAGRAPHS = [
    f"Đoạn {i}: Ủy ban nhân dân xã Ninh Hòa đã tổ chức đối thoại với các hộ dân về phương án "
    f"bồi thường, hỗ trợ và tái định cư của dự án đường ven biển, kéo dài nhiều giờ."
    for i in range(1, 6)
]


def synthetic(meta_date: str) -> str:
    return SYNTHETIC.format(
        title="Người dân Ninh Hòa kiến nghị về bồi thường đất",
        lead="Hàng chục hộ dân xã Ninh Hòa, tỉnh Khánh Hòa kiến nghị xem xét lại giá bồi "
        "thường đất nông nghiệp khi thu hồi đất làm đường ven biển.",
        meta_date=meta_date,
        paragraphs="\n".join(f"<p>{p}</p>" for p in PARAGRAPHS),
    )


def test_impossible_metadata_date_falls_back_to_page_text() -> None:
    article = extract_article(synthetic("2099-01-01T00:00:00+07:00"), now=NOW)
    assert article.published_at == datetime(2025, 10, 22, 14, 30, tzinfo=VN)
    assert len(article.rejected_dates) == 1
    assert article.rejected_dates[0].startswith("meta article:published_time '2099-01-01")
    assert "in the future" in article.rejected_dates[0]


def test_synthetic_page_sapo_byline_and_section() -> None:
    article = extract_article(synthetic("1970-01-01T00:00:00+07:00"), now=NOW)
    assert "before 1990" in article.rejected_dates[0]
    assert article.title == "Người dân Ninh Hòa kiến nghị về bồi thường đất"
    assert article.lead.startswith("Hàng chục hộ dân")
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.authors == ["Minh Anh"]
    assert article.section == "Thời sự"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body></body></html>",
        "<html><head><title>Trang chủ</title></head><body><nav><a href='/'>Trang chủ</a>"
        "</nav></body></html>",
    ],
)
def test_pages_without_an_article_raise(html: str) -> None:
    with pytest.raises(ExtractionError) as raised:
        extract_article(html, now=NOW)
    assert raised.value.reason
