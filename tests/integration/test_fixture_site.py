"""The fixture press site, served for real on a free loopback port, read with httpx/feedparser."""

from __future__ import annotations

import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import httpx
import lxml.html
import pytest

from crawlers.fixture_site import FixtureSite, OutletInfo, Story
from crawlers.fixture_site.vntext import VN_TZ
from indexer.models import OutletKind

NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
FIXED_NOW = datetime(2026, 3, 7, 9, 0, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    fixture = FixtureSite(seed=7, n_articles_per_outlet=30, slow_delay_s=0.5)
    fixture.start()
    yield fixture
    fixture.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as http:
        yield http


def outlet(site: FixtureSite, slug: str) -> OutletInfo:
    return next(o for o in site.outlets if o.slug == slug)


def links(page: httpx.Response) -> list[str]:
    doc = lxml.html.fromstring(page.content)
    return [urljoin(str(page.url), href) for href in doc.xpath("//a/@href")]


def canonical(page: httpx.Response) -> str:
    return str(lxml.html.fromstring(page.content).xpath("//link[@rel='canonical']/@href")[0])


def parse_feed(response: httpx.Response) -> feedparser.FeedParserDict:
    headers = {"content-type": response.headers["content-type"]}
    return feedparser.parse(response.content, response_headers=headers)


def test_outlets_cover_national_provincial_government_and_both_feed_kinds(
    site: FixtureSite,
) -> None:
    outlets = site.outlets
    kinds = [o.kind for o in outlets]
    assert len(outlets) >= 8
    assert kinds.count(OutletKind.PROVINCIAL_PAPER) >= 2
    assert OutletKind.GOVERNMENT_PORTAL in kinds
    assert OutletKind.NATIONAL_DAILY in kinds
    assert {o.feed_format for o in outlets} == {"rss", "atom"}
    assert [o.encoding for o in outlets].count("windows-1258") == 1
    assert all(o.feed_url.startswith(site.base_url + f"/{o.slug}/") for o in outlets)
    assert outlets[0].to_source().feeds == [outlets[0].feed_url]


def test_every_feed_parses_except_the_malformed_one(
    site: FixtureSite, client: httpx.Client
) -> None:
    malformed = site.specials["malformed_feed_outlet"]
    known = {site.url(s) for s in site.stories}
    for info in site.outlets:
        feed = parse_feed(client.get(info.feed_url))
        assert bool(feed.bozo) == (info.slug == malformed), info.slug
        assert len(feed.entries) >= 20, info.slug
        newest = site.archive.newest(info.slug)[0]
        assert unicodedata.normalize("NFC", feed.entries[0].title) == newest.title
        plain = [e.link for e in feed.entries if e.link in known]
        assert len(plain) >= len(feed.entries) - 1, info.slug


def test_feed_items_with_missing_and_future_dates(site: FixtureSite, client: httpx.Client) -> None:
    specials = site.specials
    feed = parse_feed(client.get(outlet(site, "ninhbinh-like").feed_url))
    by_link = {e.link: e for e in feed.entries}
    assert "published_parsed" not in by_link[specials["feed_no_date"]]
    future = by_link[specials["feed_future_date"]].published_parsed
    assert time.mktime(future) > time.time() + 86400 * 300
    truth = site.story(specials["feed_future_date"])
    assert truth is not None
    assert truth.published_at is not None
    assert truth.published_at < datetime.now(VN_TZ)


def test_sitemaps_list_every_article_with_news_dates(
    site: FixtureSite, client: httpx.Client
) -> None:
    for info in site.outlets:
        root = ET.fromstring(client.get(info.sitemap_url).content)
        locs = {u.findtext(f"{SITEMAP}loc") for u in root.iter(f"{SITEMAP}url")}
        expected = {site.url(s) for s in site.stories if s.outlet == info.slug}
        assert locs == expected, info.slug
        dates = [d.text for d in root.iter(f"{NEWS}publication_date")]
        assert len(dates) == len(locs)
        assert all(datetime.fromisoformat(d or "").tzinfo for d in dates)


@pytest.mark.parametrize("slug", ["vnexpress-like", "tuoitre-like", "dantri-like"])
def test_section_pagination_reaches_every_story_once(
    site: FixtureSite, client: httpx.Client, slug: str
) -> None:
    """One outlet per pagination style: -p2, ?page=2 and /trang-2."""
    spec = site.specs[slug]
    section = max(spec.sections, key=lambda s: len(site.archive.newest(slug, s)))
    expected = {site.url(s) for s in site.archive.newest(slug, section)}
    expected -= {site.url(s) for s in site.stories if "amp_link" in s.flags}
    seen: set[str] = set()
    url: str | None = site.base_url + spec.section_path(section)
    pages = 0
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200
        pages += 1
        seen |= set(links(page)) & expected
        following = lxml.html.fromstring(page.content).xpath("//a[@rel='next']/@href")
        url = urljoin(str(page.url), following[0]) if following else None
    assert pages >= 2
    assert seen == expected
    beyond = site.base_url + spec.section_path(section, pages + 1)
    assert client.get(beyond).status_code == 404


def test_windows_1258_portal_decodes_to_the_right_vietnamese(
    site: FixtureSite, client: httpx.Client
) -> None:
    info = outlet(site, "thanhtri-portal-like")
    story = next(s for s in site.stories if s.outlet == info.slug and s.topic == "seed")
    page = client.get(site.url(story))
    assert page.headers["content-type"] == "text/html; charset=windows-1258"
    assert b'charset=windows-1258"' in page.content
    with pytest.raises(UnicodeDecodeError):
        page.content.decode("utf-8")
    text = unicodedata.normalize("NFC", page.content.decode("cp1258"))
    assert story.title in text
    assert "Huyện ủy Thanh Trì" in text
    assert "Ngày đăng 04/11/2018 | 20:39" in text
    feed = parse_feed(client.get(info.feed_url))
    assert not feed.bozo
    titles = {unicodedata.normalize("NFC", e.title) for e in feed.entries}
    assert story.title in titles


def test_feed_conditional_get_answers_304_until_something_is_published(
    site: FixtureSite, client: httpx.Client
) -> None:
    info = outlet(site, "vietnamnet-like")
    first = client.get(info.feed_url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(info.feed_url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(info.feed_url, headers={"If-Modified-Since": modified}).status_code == 304
    story = site.publish(outlet=info.slug)
    fresh = client.get(info.feed_url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert parse_feed(fresh).entries[0].link == site.url(story)
    newer = parsedate_to_datetime(fresh.headers["last-modified"])
    assert newer > parsedate_to_datetime(modified)
    again = client.get(info.feed_url, headers={"If-Modified-Since": modified})
    assert again.status_code == 200


def test_published_story_tops_feed_sitemap_section_and_ground_truth(
    site: FixtureSite, client: httpx.Client
) -> None:
    mine = Story(
        outlet="hue-like",
        title="Người dân phường Hương Sơ kiến nghị sửa đường kiệt",
        lead="Nhiều hộ dân ở phường Hương Sơ, TP Huế đề nghị sớm sửa chữa tuyến đường kiệt.",
        paragraphs=("Tuyến đường dài khoảng 300 m, xuống cấp nghiêm trọng.",),
        section="xa-hoi",
        topic="custom",
    )
    story = site.publish(mine)
    assert story.path
    assert story.published_at is not None
    info = outlet(site, "hue-like")
    assert parse_feed(client.get(info.feed_url)).entries[0].title == mine.title
    assert site.url(story).encode() in client.get(info.sitemap_url).content
    section = next(u for u in info.section_urls if "xa-hoi" in u)
    assert links(client.get(section)).index(site.url(story)) >= 0
    page = client.get(site.url(story))
    assert page.status_code == 200
    assert mine.paragraphs[0] in page.text
    truth = client.get(f"{site.base_url}/_fixture/stories").json()
    assert {"outlet": "hue-like", "title": mine.title}.items() <= next(
        t for t in truth if t["url"] == site.url(story)
    ).items()
    generated = site.publish(outlet="ninhbinh-like")
    assert parse_feed(client.get(outlet(site, "ninhbinh-like").feed_url)).entries[0].title == (
        generated.title
    )


def test_redirect_chain_ends_at_the_article_after_three_hops(
    site: FixtureSite, client: httpx.Client
) -> None:
    specials = site.specials
    page = client.get(specials["redirect_start"], follow_redirects=True)
    assert page.status_code == 200
    assert str(page.url) == specials["redirect"]
    assert [r.status_code for r in page.history] == [301, 302, 301]
    feed = parse_feed(client.get(outlet(site, "nld-like").feed_url))
    assert specials["redirect_start"] in {e.link for e in feed.entries}


def test_hit_counters_count_paths_and_exact_targets(
    site: FixtureSite, client: httpx.Client
) -> None:
    story = site.archive.newest("vietnamnet-like", "the-thao")[-1]
    before = site.hits(story.path)
    client.get(site.url(story))
    client.get(site.url(story) + "?utm_source=zalo")
    assert site.hits(story.path) == before + 2
    assert site.hits(site.url(story) + "?utm_source=zalo") == 1
    assert site.hits_under("/vietnamnet-like/") >= 2


def test_big_page_has_the_advertised_size(site: FixtureSite, client: httpx.Client) -> None:
    received = 0
    with client.stream("GET", site.specials["big"]) as response:
        assert int(response.headers["content-length"]) == 20 * 1024 * 1024
        head = b""
        for chunk in response.iter_bytes():
            head = head or chunk[:200]
            received += len(chunk)
    assert received == 20 * 1024 * 1024
    assert head.startswith(b"<!DOCTYPE html>")


def test_slow_page_answers_after_its_delay(site: FixtureSite, client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(site.specials["slow"], timeout=httpx.Timeout(5.0, read=0.05))
    page = client.get(site.specials["slow"])
    assert page.status_code == 200


def test_amp_and_tracking_urls_point_to_the_canonical_article(
    site: FixtureSite, client: httpx.Client
) -> None:
    specials = site.specials
    amp = client.get(specials["amp"])
    assert amp.status_code == 200
    assert "<html ⚡" in amp.text
    assert canonical(amp) == specials["amp_link"]
    tracked = client.get(specials["tracking"])
    assert canonical(tracked) == specials["tracking_link"]
    section = outlet(site, "vnexpress-like").section_urls[0]
    assert specials["amp"] in links(client.get(section))
    feed = parse_feed(client.get(outlet(site, "tuoitre-like").feed_url))
    assert specials["tracking"] in {e.link for e in feed.entries}


def test_section_page_links_dead_articles(site: FixtureSite, client: httpx.Client) -> None:
    specials = site.specials
    found = links(client.get(outlet(site, "vnexpress-like").section_urls[0]))
    assert specials["not_found"] in found
    assert specials["server_error"] in found
    assert client.get(specials["not_found"]).status_code == 404
    assert client.get(specials["server_error"]).status_code == 500


def test_robots_disallows_article_looking_links_that_pages_show(
    site: FixtureSite, client: httpx.Client
) -> None:
    robots = RobotFileParser()
    robots.parse(client.get(f"{site.base_url}/robots.txt").text.splitlines())
    drafts = site.specials["disallowed"]
    info = outlet(site, "vnexpress-like")
    assert set(drafts) <= set(links(client.get(info.section_urls[0])))
    assert all(not robots.can_fetch("diemnong", url) for url in drafts)
    article = site.archive.newest("tuoitre-like")[3]
    printed = [u for u in links(client.get(site.url(article))) if "/print/" in u]
    assert printed
    assert not robots.can_fetch("diemnong", printed[0])
    assert robots.can_fetch("diemnong", site.url(article))
    assert site.hits_under("/vnexpress-like/ban-nhap/") == 0


def test_articles_have_distinct_layouts_with_title_lead_and_date(
    site: FixtureSite, client: httpx.Client
) -> None:
    signatures = set()
    for info in site.outlets:
        story = next(s for s in site.archive.newest(info.slug) if not s.flags)
        page = client.get(site.url(story))
        assert page.status_code == 200
        text = unicodedata.normalize("NFC", page.text)
        assert story.title in text, info.slug
        assert story.lead in text, info.slug
        doc = lxml.html.fromstring(text)
        if info.encoding == "utf-8":
            assert canonical(page) == site.url(story)
        signatures.add(frozenset(c for v in doc.xpath("//@class") for c in v.split()))
    assert len(signatures) == len(site.outlets)


def test_syndicated_copies_are_later_edited_republications(site: FixtureSite) -> None:
    copies = [s for s in site.stories if s.syndicated_from]
    assert len(copies) >= 10
    for copy in copies:
        original = site.story(copy.syndicated_from or "")
        assert original is not None
        assert original.outlet != copy.outlet
        assert copy.published_at
        assert original.published_at
        assert copy.published_at > original.published_at
        assert copy.title != original.title
        assert copy.paragraphs != original.paragraphs
        assert copy.paragraphs[-1].strip("()").startswith(("Theo ", "Nguồn: "))
    ninh_binh = [c for c in copies if c.topic == "seed" and "báo Ninh Bình" in c.paragraphs[-1]]
    assert len(ninh_binh) >= 2


def test_same_seed_same_archive_and_enough_distinct_stories_for_benchmarks() -> None:
    first = FixtureSite(seed=11, n_articles_per_outlet=100, now=FIXED_NOW)
    again = FixtureSite(seed=11, n_articles_per_outlet=100, now=FIXED_NOW)
    assert [s.to_json() for s in first.stories] == [s.to_json() for s in again.stories]
    originals = [s for s in first.stories if not s.syndicated_from]
    assert len({s.title for s in originals}) >= 1000
    assert len({s.body for s in originals}) >= 1000
    complaint = [s for s in originals if s.place and s.topic != "seed"]
    assert len(complaint) >= 500
    assert len(originals) - len(complaint) >= 200
    other = FixtureSite(seed=12, n_articles_per_outlet=5, now=FIXED_NOW)
    fresh = [s.title for s in other.stories if s.topic != "seed"][:5]
    assert fresh != [s.title for s in first.stories if s.topic != "seed"][:5]


def test_schedule_publishes_while_running() -> None:
    small = FixtureSite(seed=3, n_articles_per_outlet=4, publish_every_s=0.05, publish_batch=2)
    before = len(small.stories)
    small.start()
    try:
        deadline = time.monotonic() + 10
        while len(small.stories) < before + 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(small.stories) >= before + 4
    finally:
        small.stop()
    with pytest.raises(ValueError, match="loopback"):
        small.start(host="0.0.0.0")


def test_admin_endpoints_list_ground_truth(site: FixtureSite, client: httpx.Client) -> None:
    stories = client.get(f"{site.base_url}/_fixture/stories").json()
    assert {s["url"] for s in stories} == {site.url(s) for s in site.stories}
    assert {"outlet", "url", "title", "published_at", "syndicated_from"} <= set(stories[0])
    outlets = client.get(f"{site.base_url}/_fixture/outlets").json()
    assert [o["slug"] for o in outlets] == [o.slug for o in site.outlets]
    assert urlsplit(outlets[0]["feed_url"]).hostname == "127.0.0.1"
