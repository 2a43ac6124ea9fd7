"""The sources file: the shipped list, validation messages, round trip, append, URL lookup, CLI."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawlers.sources import (
    SourceFileError,
    SourceIndex,
    add_source,
    canonical_province,
    dump_sources,
    home_url,
    load_sources,
    parse_sources,
    path_prefix,
    save_sources,
)
from diemnong.commands.sources import app as sources_app
from diemnong.commands.sources import fetch_log_query
from indexer.models import OutletKind, Source
from tests.conftest import REPO

SHIPPED = REPO / "sources" / "vietnam.yaml"
BASE = "http://127.0.0.1:8123"


def fixture_like(slug: str, name: str) -> Source:
    """An outlet of the fixture site: one host, its own ``/<slug>/`` prefix."""
    return Source(
        name=name,
        domain="127.0.0.1:8123",
        feeds=[f"{BASE}/{slug}/rss/tin-moi-nhat.rss"],
        sitemaps=[f"{BASE}/{slug}/sitemap-news.xml"],
        sections=[f"{BASE}/{slug}/thoi-su", f"{BASE}/{slug}/phap-luat.htm"],
        article_patterns=[f"^{re.escape(BASE)}/{slug}/[a-z0-9-]+-\\d+\\.html$"],
    )


ENTRY = """\
- name: Báo Mẫu
  domain: baomau.vn
  kind: provincial_paper
  province: Nghệ An
  feeds: [https://baomau.vn/rss/home.rss]
"""


# -- the shipped file ------------------------------------------------------------------------


def test_shipped_file_covers_national_provincial_and_government_outlets() -> None:
    sources = load_sources(SHIPPED)
    assert len(sources) >= 30
    kinds = Counter(s.kind for s in sources)
    assert kinds[OutletKind.NATIONAL_DAILY] >= 12
    assert kinds[OutletKind.PROVINCIAL_PAPER] >= 6
    assert kinds[OutletKind.GOVERNMENT_PORTAL] >= 5
    by_province = Counter(s.province for s in sources if s.province)
    assert {"Hà Nội", "Ninh Bình", "Huế", "Đà Nẵng", "Nghệ An", "Thanh Hóa"} <= set(by_province)
    assert sum(1 for n in by_province.values() if n >= 2) >= 3
    for source in sources:
        if source.kind is OutletKind.NATIONAL_DAILY:
            assert source.province is None, source.name
        if source.kind is OutletKind.PROVINCIAL_PAPER:
            assert source.province is not None, source.name
        assert source.feeds or source.sections, source.name
        assert canonical_province(source.province or "Huế") == (source.province or "Huế")


@pytest.mark.parametrize(
    ("url", "outlet"),
    [
        ("https://vnexpress.net/sat-lo-dat-o-nghe-an-4812345.html", "VnExpress"),
        ("https://tuoitre.vn/dan-keo-den-tru-so-20240512083015123.htm", "Tuổi Trẻ"),
        ("https://dantri.com.vn/xa-hoi/nguoi-dan-phan-doi-20240512083015123.htm", "Dân trí"),
        ("https://thanhnien.vn/dan-khieu-nai-185240512083015123.htm", "Thanh Niên"),
        ("https://nld.com.vn/bat-cap-du-an-196240512083015123.htm", "Người Lao Động"),
        ("https://cafef.vn/du-an-cham-tien-do-188240512083015123.chn", "CafeF"),
        ("https://baodautu.vn/du-an-nghin-ty-d212345.html", "Báo Đầu tư"),
    ],
)
def test_shipped_patterns_match_real_article_shapes(url: str, outlet: str) -> None:
    index = SourceIndex(load_sources(SHIPPED))
    source = index.find(url)
    assert source is not None
    assert source.name == outlet
    assert any(re.search(p, url) for p in source.article_patterns)
    assert not any(re.search(p, url.rsplit("/", 1)[0] + "/") for p in source.article_patterns)


def test_shipped_file_round_trips_in_order(tmp_path: Path) -> None:
    sources = load_sources(SHIPPED)
    copy = tmp_path / "copy.yaml"
    save_sources(copy, sources)
    again = load_sources(copy)
    assert again == sources
    assert [s.name for s in again] == [s.name for s in sources]
    text = copy.read_text("utf-8")
    assert text.index("name: VnExpress") < text.index("domain: vnexpress.net")
    assert "Quân đội nhân dân" in text
    assert dump_sources(again) == text


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY.replace("provincial_paper", "newspaper"), r"outlet #1 'Báo Mẫu': field kind"),
        (ENTRY + "  feed: [https://baomau.vn/x.rss]\n", r"'Báo Mẫu': unknown field 'feed'"),
        (ENTRY + "  crawl_interval_s: soon\n", r"'Báo Mẫu': field crawl_interval_s"),
        (ENTRY + "  crawl_interval_s: 0\n", r"field crawl_interval_s: must be positive"),
        (ENTRY + "  sitemaps: [https://other.vn/s.xml]\n", r"field sitemaps\.0: .*not on"),
        (ENTRY + "  sections: [/thoi-su]\n", r"field sections\.0: .*not an absolute"),
        (ENTRY + "  article_patterns: ['-(\\d+']\n", r"field article_patterns\.0: not a regul"),
        (ENTRY.replace("[https", "[ftp"), r"field feeds\.0: 'ftp://baomau\.vn/rss/home\.rss'"),
    ],
)
def test_a_bad_entry_names_outlet_and_field(text: str, message: str) -> None:
    with pytest.raises(SourceFileError, match=r"^t\.yaml: outlet #1 'Báo Mẫu': ") as caught:
        parse_sources(text, origin="t.yaml")
    assert re.search(message, str(caught.value)), str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  - name: x\n", "expected a list"),
        ("- just a string\n", "outlet #1: expected a mapping"),
        ("- name: A\n  domain: https://a.vn/\n", "field domain: 'https://a.vn/' is not a host"),
        ("- domain: a.vn\n", "outlet #1: field name: Field required"),
        ("- name: A\n  domain: a.vn\n  province: Thừa Thiên Huế\n", "34 provinces"),
        ("- name: [\n", "not valid YAML"),
    ],
)
def test_malformed_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(SourceFileError, match=re.escape(message)):
        parse_sources(text)


def test_same_name_and_domain_twice_is_refused_but_same_domain_alone_is_fine() -> None:
    twice = ENTRY + ENTRY.replace("Nghệ An", "Hà Tĩnh")
    with pytest.raises(
        SourceFileError, match="outlet #2 'Báo Mẫu': same name and domain as outlet #1"
    ):
        parse_sources(twice)
    other_name = ENTRY + ENTRY.replace("Báo Mẫu", "Báo Mẫu điện tử")
    assert len(parse_sources(other_name)) == 2


def test_missing_or_empty_files() -> None:
    with pytest.raises(SourceFileError, match="no such sources file"):
        load_sources(Path("/nonexistent/sources.yaml"))
    assert parse_sources("# nothing yet\n") == []


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Huế", "Huế"),
        ("Thành phố Huế", "Huế"),
        ("TP Hồ Chí Minh", "Hồ Chí Minh"),
        ("thành phố hà nội", "Hà Nội"),
        ("Thanh Hoá", "Thanh Hóa"),
        ("Tỉnh Ninh Bình", "Ninh Bình"),
        ("Hà Nam", None),
        ("Thừa Thiên Huế", None),
    ],
)
def test_provinces_are_the_34_of_the_new_map(written: str, canonical: str | None) -> None:
    assert canonical_province(written) == canonical


# -- appending -------------------------------------------------------------------------------


def test_add_appends_text_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("# hand-kept list — do not reorder\n" + ENTRY, "utf-8")
    new = fixture_like("vnexpress-like", "VnExpress (giả lập)")
    result = add_source(path, new)
    text = path.read_text("utf-8")
    assert text.startswith("# hand-kept list — do not reorder\n" + ENTRY)
    assert [s.name for s in result] == ["Báo Mẫu", "VnExpress (giả lập)"]
    assert load_sources(path) == result
    with pytest.raises(SourceFileError, match="same name and domain"):
        add_source(path, new)
    assert load_sources(path) == result


def test_add_rewrites_a_file_whose_indentation_would_not_take_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("  - name: Báo Mẫu\n    domain: baomau.vn\n", "utf-8")
    result = add_source(path, fixture_like("a-like", "A"))
    assert [s.name for s in load_sources(path)] == ["Báo Mẫu", "A"] == [s.name for s in result]


def test_add_creates_a_missing_file_and_validates_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "new" / "sources.yaml"
    add_source(path, fixture_like("a-like", "A"))
    assert [s.name for s in load_sources(path)] == ["A"]
    bad = Source(name="B", domain="b.vn", feeds=["https://c.vn/rss"])
    with pytest.raises(SourceFileError, match=r"outlet 'B': field feeds\.0"):
        add_source(path, bad)


# -- finding the source of a URL -------------------------------------------------------------


def test_outlets_sharing_one_host_are_told_apart_by_path_prefix() -> None:
    a = fixture_like("a-like", "A")
    a2 = fixture_like("a-like-2", "A2")
    b = fixture_like("b-like", "B")
    index = SourceIndex([a, a2, b])
    assert index.find(f"{BASE}/a-like/tin-moi-12345.html") is a
    assert index.find(f"{BASE}/a-like-2/tin-moi-12345.html") is a2
    assert index.find(f"{BASE}/b-like/thoi-su-p2") is b
    assert index.find(f"{BASE}/b-like/tin-tuc/xa-hoi/bai-1.html") is b
    assert index.find("http://127.0.0.1:9999/a-like/x-1.html") is None
    assert index.find("https://vnexpress.net/a-like/x-1.html") is None
    assert path_prefix(a) == "/a-like/"
    assert home_url(a2) == f"{BASE}/a-like-2/"


def test_hosts_match_with_www_subdomains_and_default_ports() -> None:
    sources = load_sources(SHIPPED)
    index = SourceIndex(sources)

    def found(url: str) -> str | None:
        source = index.find(url)
        return source.name if source else None

    assert found("https://www.vnexpress.net:443/x-4812345.html") == "VnExpress"
    assert found("https://VnExpress.net/x-4812345.html") == "VnExpress"
    assert found("https://xaydungchinhsach.chinhphu.vn/x.htm") == "Cổng Thông tin điện tử Chính phủ"
    assert found("https://baochinhphu.vn/x-102240512083015123.htm") == "Báo Điện tử Chính phủ"
    assert found("https://notvnexpress.net/x.html") is None
    assert found("https://vnexpress.net.evil.example/x.html") is None
    assert home_url(next(s for s in sources if s.domain == "vietnamplus.vn")) == (
        "https://www.vietnamplus.vn/"
    )
    assert [s.name for s in index.by_name("tuổi trẻ")] == ["Tuổi Trẻ"]


# -- CLI (loopback URLs only: no network) ----------------------------------------------------


def run(args: list[str], path: Path, allow_loopback: bool = True) -> tuple[int, str]:
    env = {
        "DIEMNONG_CRAWLER__SOURCES_FILE": str(path),
        "DIEMNONG_CRAWLER__ALLOW_LOOPBACK": "true" if allow_loopback else "false",
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(sources_app, args, env=env)
    return result.exit_code, result.output


def test_cli_add_then_list(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(ENTRY, "utf-8")
    code, out = run(
        [
            "add", "--name", "Báo Thử", "--domain", "127.0.0.1:8123",
            "--kind", "provincial_paper", "--province", "Thành phố Huế",
            "--feed", f"{BASE}/thu/rss.xml", "--feed", f"{BASE}/thu/atom.xml",
            "--section", f"{BASE}/thu/thoi-su", "--pattern", r"-\d+\.html$",
        ],
        path,
    )  # fmt: skip
    assert code == 0, out
    added = load_sources(path)[-1]
    assert added.feeds == [f"{BASE}/thu/rss.xml", f"{BASE}/thu/atom.xml"]
    assert added.kind is OutletKind.PROVINCIAL_PAPER
    assert added.article_patterns == [r"-\d+\.html$"]
    code, out = run(["list"], path)
    assert code == 0
    assert "Báo Thử" in out
    assert "Báo Mẫu" in out
    assert "2 outlets" in out


@pytest.mark.parametrize(
    ("extra", "allow", "reason"),
    [
        (["--feed", "http://10.0.0.7/rss"], True, "private"),
        (["--feed", "http://169.254.169.254/latest/"], True, "link-local"),
        (["--sitemap", "http://[::ffff:127.0.0.1]:8123/s.xml"], True, "127.0.0.1"),
        (["--feed", f"{BASE}/thu/rss.xml"], False, "loopback"),
        (["--feed", "file:///etc/passwd"], True, "scheme"),
    ],
)
def test_cli_add_refuses_unsafe_urls(
    tmp_path: Path, extra: list[str], allow: bool, reason: str
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(ENTRY, "utf-8")
    code, out = run(["add", "--name", "X", "--domain", "127.0.0.1:8123", *extra], path, allow)
    assert code == 1
    assert "unsafe URL" in out
    assert reason in out
    assert path.read_text("utf-8") == ENTRY


def test_cli_add_reports_a_bad_entry_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    code, out = run(
        ["add", "--name", "X", "--domain", "127.0.0.1:8123", "--province", "Hà Nam"], path
    )
    assert code == 1
    assert "field province" in out
    assert "Traceback" not in out
    assert not path.exists()


def test_cli_check_needs_a_name_or_all(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(ENTRY, "utf-8")
    assert run(["check"], path)[0] == 1
    code, out = run(["check", "Báo Không Có"], path)
    assert code == 1
    assert "no outlet named" in out


def test_fetch_log_query_filters_and_sorts_newest_first() -> None:
    query = fetch_log_query("VnExpress", "download", 20, since_h=1.5)
    assert query["size"] == 20
    assert query["sort"] == [{"at": {"order": "desc"}}]
    assert query["query"]["bool"]["filter"] == [
        {"term": {"outlet": "VnExpress"}},
        {"term": {"stage": "download"}},
        {"range": {"at": {"gte": "now-90m"}}},
    ]
    assert fetch_log_query(None, None, 5)["query"]["bool"]["filter"] == []
