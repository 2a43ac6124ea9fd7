"""`diemnong sources check` against the real fixture site (loopback), and `sources errors`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.source_check import SourceChecker
from crawlers.sources import save_sources
from diemnong.commands.sources import app as sources_app
from diemnong.settings import CrawlerSettings, Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Source

DRAFTS = "Bản nháp VnExpress (giả lập)"


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    fixture = FixtureSite(seed=7, n_articles_per_outlet=30, slow_delay_s=0.5)
    fixture.start()
    yield fixture
    fixture.stop()


@pytest.fixture(scope="module")
def stale_site() -> Iterator[FixtureSite]:
    """Everything published a month ago: every feed is silent."""
    fixture = FixtureSite(seed=3, n_articles_per_outlet=10, now=datetime.now(VN_TZ) - timedelta(30))
    fixture.start()
    yield fixture
    fixture.stop()


def write_sources(site: FixtureSite, path: Path) -> Path:
    sources = [outlet.to_source() for outlet in site.outlets]
    drafts = site.specials["disallowed"]
    assert drafts, "the fixture site has robots-disallowed draft pages"
    vne = next(s for s in sources if s.name.startswith("VnExpress"))
    sources.append(Source(name=DRAFTS, domain=vne.domain, sections=[drafts[0]]))
    save_sources(path, sources)
    return path


@pytest.fixture(scope="module")
def sources_file(site: FixtureSite, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sources(site, tmp_path_factory.mktemp("sources") / "fixture.yaml")


def run(
    args: list[str], path: Path, allow_loopback: bool = True, env: dict[str, str] | None = None
) -> tuple[int, str]:
    environment = {
        "DIEMNONG_CRAWLER__SOURCES_FILE": str(path),
        "DIEMNONG_CRAWLER__ALLOW_LOOPBACK": "true" if allow_loopback else "false",
        "DIEMNONG_CRAWLER__DOWNLOAD_TIMEOUT_S": "10",
        "COLUMNS": "220",
        **(env or {}),
    }
    result = CliRunner().invoke(sources_app, args, env=environment)
    return result.exit_code, result.output


def check_json(args: list[str], path: Path, **kw: Any) -> tuple[int, dict[str, Any]]:
    code, out = run(["check", *args, "--json"], path, **kw)
    assert code in (0, 2), out
    return code, {report["name"]: report for report in json.loads(out)}


def test_a_healthy_feed_reports_its_newest_entry(site: FixtureSite, sources_file: Path) -> None:
    code, reports = check_json(["VnExpress (giả lập)"], sources_file)
    report = reports["VnExpress (giả lập)"]
    assert code == 0, report["problems"]
    assert report["problems"] == []
    assert report["home_status"] == 200
    assert report["robots_present"] is True
    (feed,) = report["feeds"]
    newest = site.archive.newest("vnexpress-like")[0].published_at
    assert newest is not None
    assert feed["bozo"] is False
    assert feed["silent"] is False
    assert feed["entries"] >= 20
    assert feed["allowed"] is True
    assert datetime.fromisoformat(feed["newest"]) == newest
    assert feed["newest"].endswith("+07:00")
    assert 0 <= feed["age_s"] < 7 * 86400
    (sitemap,) = report["sitemaps"]
    expected = sum(1 for s in site.stories if s.outlet == "vnexpress-like")
    assert sitemap["status"] == 200
    assert sitemap["urls"] == expected
    assert all(section["status"] == 200 for section in report["sections"])


def test_all_outlets_malformed_feed_robots_and_odd_dates(
    site: FixtureSite, sources_file: Path
) -> None:
    code, reports = check_json(["--all"], sources_file)
    assert code == 2
    assert len(reports) == len(site.outlets) + 1
    malformed = next(r for r in reports.values() if r["name"].startswith("CafeF"))
    (feed,) = malformed["feeds"]
    assert feed["bozo"] is True
    assert "not well-formed" in feed["bozo_message"]
    assert any("malformed" in p for p in malformed["problems"])
    drafts = reports[DRAFTS]
    assert drafts["sections"][0]["allowed"] is False
    assert drafts["sections"][0]["status"] == 200
    assert drafts["problems"] == [
        f"section {site.specials['disallowed'][0]}: disallowed by robots.txt"
    ]
    ninhbinh = next(r for r in reports.values() if r["name"].startswith("Báo Ninh Bình"))
    assert ninhbinh["feeds"][0]["future"] == 1
    assert ninhbinh["feeds"][0]["undated"] == 1
    assert ninhbinh["feeds"][0]["silent"] is False
    flagged = {name for name, r in reports.items() if r["problems"]}
    assert flagged >= {malformed["name"], DRAFTS}
    assert all(r["home_status"] == 200 for r in reports.values())


def test_table_output_names_the_problems(sources_file: Path) -> None:
    code, out = run(["check", "--all"], sources_file)
    assert code == 2
    assert "Outlet health" in out
    assert "malformed" in out
    assert "disallowed by robots.txt" in out
    assert "VnExpress (giả lập)" in out


def test_feeds_of_a_stale_site_are_silent(
    stale_site: FixtureSite, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = write_sources(stale_site, tmp_path_factory.mktemp("stale") / "stale.yaml")
    code, reports = check_json(["Tuổi Trẻ (giả lập)"], path)
    assert code == 2
    (feed,) = reports["Tuổi Trẻ (giả lập)"]["feeds"]
    assert feed["silent"] is True
    assert feed["age_s"] > 29 * 86400
    assert any("silent: newest entry" in p for p in reports["Tuổi Trẻ (giả lập)"]["problems"])


def test_without_allow_loopback_nothing_is_fetched(site: FixtureSite, sources_file: Path) -> None:
    before = site.hits_under(f"{site.base_url}/dantri-like/")
    robots_before = site.hits("/robots.txt")
    code, reports = check_json(["Dân trí (giả lập)"], sources_file, allow_loopback=False)
    report = reports["Dân trí (giả lập)"]
    assert code == 2
    assert "loopback" in report["home_error"]
    assert "loopback" in report["feeds"][0]["error"]
    assert site.hits_under(f"{site.base_url}/dantri-like/") == before
    assert site.hits("/robots.txt") == robots_before


@pytest.mark.engine
def test_errors_lists_the_fetch_log_newest_first(
    engine: Engine, layout: IndexNames, engine_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    rows = [
        ("https://a.vn/1.html", "A", "download", "HTTP 500", 500, now - timedelta(minutes=5)),
        ("https://a.vn/2.html", "A", "extract", "no body found", None, now - timedelta(minutes=1)),
        ("https://b.vn/rss", "B", "feed", "not well-formed", 200, now - timedelta(minutes=3)),
        ("https://a.vn/old.html", "A", "download", "timeout", None, now - timedelta(hours=30)),
    ]
    actions = [
        {
            "_index": layout.fetch_log,
            "_source": {
                "url": url,
                "outlet": outlet,
                "stage": stage,
                "reason": reason,
                "status": status,
                "at": at.isoformat(),
            },
        }
        for url, outlet, stage, reason, status, at in rows
    ]
    engine.bulk(actions)
    engine.refresh(layout.fetch_log)
    env = {"DIEMNONG_ENGINE__URL": engine_url, "DIEMNONG_INDEX__PREFIX": layout.prefix}
    path = tmp_path / "unused.yaml"
    code, out = run(["errors", "--outlet", "A", "--since", "24"], path, env=env)
    assert code == 0, out
    assert "2 of 2" in out
    assert out.index("no body found") < out.index("HTTP 500")
    assert "not well-formed" not in out
    assert "timeout" not in out
    code, out = run(["errors", "--stage", "feed"], path, env=env)
    assert code == 0, out
    assert "1 of 1" in out
    assert "https://b.vn/rss" in out


def test_redirects_to_internal_addresses_and_oversized_feeds_are_refused() -> None:
    """In memory (httpx mock transport): every redirect hop passes the URL check."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/rss/moved.rss":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})
        if request.url.path == "/rss/huge.rss":
            return httpx.Response(200, content=b"<rss>" + b" " * 5000 + b"</rss>")
        return httpx.Response(404)

    settings = Settings(crawler=CrawlerSettings(max_page_bytes=4096))
    source = Source(
        name="Báo Thử",
        domain="8.8.8.8",
        feeds=["http://8.8.8.8/rss/moved.rss", "http://8.8.8.8/rss/huge.rss"],
    )
    with (
        httpx.Client(transport=httpx.MockTransport(answer), follow_redirects=True) as client,
        SourceChecker(settings, client=client) as checker,
    ):
        report = checker.check(source)
    moved, huge = report.feeds
    assert moved.error is not None
    assert "169.254.169.254 is link-local" in moved.error
    assert huge.error == "larger than 4096 bytes"
    assert not any("169.254" in url for url in seen)
    assert report.robots_present is False
    assert report.home_status == 404
