"""Maps a request to a response: pages, feeds, sitemaps, robots.txt, admin JSON, bad cases."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from crawlers.fixture_site.badcases import DISALLOWED, MALFORMED_FEED_OUTLET, padded, padded_size
from crawlers.fixture_site.models import Story
from crawlers.fixture_site.outlets import SECTION_NAMES, OutletSpec
from crawlers.fixture_site.render import Listing
from crawlers.fixture_site.vntext import encode

if TYPE_CHECKING:
    from crawlers.fixture_site.server import FixtureSite

HOME_SIZE = 20


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Iterable[bytes] | None = None
    length: int | None = None
    delay: float = 0.0


def _html(text: str, encoding: str = "utf-8", status: int = 200) -> Response:
    return Response(
        status, {"Content-Type": f"text/html; charset={encoding}"}, encode(text, encoding)
    )


def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def conditional(
    body: bytes, content_type: str, last_modified: datetime, request: Mapping[str, str]
) -> Response:
    """200 with ETag/Last-Modified, or 304 when the validators still match (lower-case keys)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {
        "Content-Type": content_type,
        "ETag": etag,
        "Last-Modified": _http_date(last_modified),
        "Cache-Control": "max-age=0",
    }
    not_modified = False
    if (tags := request.get("if-none-match")) is not None:
        offered = {t.strip().removeprefix("W/") for t in tags.split(",")}
        not_modified = etag in offered or "*" in offered
    elif since := request.get("if-modified-since"):
        try:
            not_modified = last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            not_modified = False
    if not_modified:
        return Response(304, {k: headers[k] for k in ("ETag", "Last-Modified")})
    return Response(200, headers, body)


def dispatch(site: FixtureSite, target: str, request: Mapping[str, str]) -> Response:
    parts = urlsplit(target)
    path, query = parts.path, parse_qs(parts.query)
    full = f"{path}?{parts.query}" if parts.query else path
    bad = site.bad_cases
    if path == "/":
        return _html(site.renderer.simple("site_index.html.j2", outlets=site.outlets))
    if path == "/robots.txt":
        return Response(200, {"Content-Type": "text/plain; charset=utf-8"}, _robots(site))
    if path.startswith("/_fixture/"):
        return _admin(site, path)
    if full in bad.redirects:
        status, location = bad.redirects[full]
        return Response(
            status,
            {"Location": site.base_url + location, "Content-Type": "text/html; charset=utf-8"},
        )
    if path == bad.server_error:
        return _error(site, 500, "Lỗi máy chủ nội bộ")
    slug = path.split("/")[1]
    spec = site.specs.get(slug)
    if spec is None:
        return _error(site, 404, "Không tìm thấy trang")
    if path == spec.prefix:
        return Response(301, {"Location": f"{site.base_url}{spec.prefix}/"})
    if path in bad.drafts:
        return _article(site, spec, bad.drafts[path])
    return _outlet_page(site, spec, path[len(spec.prefix) + 1 :], query, request)


def _outlet_page(
    site: FixtureSite,
    spec: OutletSpec,
    rest: str,
    query: dict[str, list[str]],
    request: Mapping[str, str],
) -> Response:
    if rest == "":
        stories = site.archive.newest(spec.slug)[:HOME_SIZE]
        links = site.bad_cases.extra_links.get(f"{spec.prefix}/", ())
        return _listing(site, spec, Listing(spec.name, stories, extra_links=links))
    if "/" + rest == spec.feed_path:
        return _feed(site, spec, request)
    if rest == "sitemap-news.xml":
        body = site.renderer.sitemap(spec, site.archive.newest(spec.slug)).encode("utf-8")
        return conditional(
            body, "application/xml; charset=utf-8", site.archive.changed_at(spec.slug), request
        )
    for variant in ("amp", "print"):
        if rest.startswith(variant + "/") and (variant == "print" or spec.has_amp):
            story = site.archive.get(f"{spec.prefix}/{rest[len(variant) + 1 :]}")
            if story is not None:
                return _article(site, spec, story, mode=variant)
    story = site.archive.get(f"{spec.prefix}/{rest}")
    if story is not None:
        return _article(site, spec, story)
    section = spec.parse_section(rest, query)
    if section is not None:
        return _section(site, spec, *section)
    return _error(site, 404, "Không tìm thấy trang")


def _article(site: FixtureSite, spec: OutletSpec, story: Story, mode: str = "page") -> Response:
    related = [s for s in site.archive.newest(spec.slug, story.section) if s.path != story.path]
    html = site.renderer.article(
        spec, story, related[:5], mode=mode, canonical=site.base_url + story.path
    )
    response = _html(html, spec.encoding)
    if story.published_at is not None:
        response.headers["Last-Modified"] = _http_date(story.published_at)
    if mode == "page" and "big" in story.flags and site.big_page_bytes > 0:
        size = padded_size(response.body, site.big_page_bytes)
        response.stream, response.length = padded(response.body, size), size
    if "slow" in story.flags:
        response.delay = site.slow_delay_s
    return response


def _section(site: FixtureSite, spec: OutletSpec, section: str, page: int) -> Response:
    stories = site.archive.newest(spec.slug, section)
    pages = max(1, math.ceil(len(stories) / spec.page_size))
    if not 1 <= page <= pages:
        return _error(site, 404, "Không tìm thấy trang")
    first = spec.section_path(section)
    listing = Listing(
        heading=SECTION_NAMES[section],
        stories=stories[(page - 1) * spec.page_size : page * spec.page_size],
        page=page,
        pages=pages,
        page_urls=tuple(site.base_url + spec.section_path(section, n) for n in range(1, pages + 1)),
        extra_links=site.bad_cases.extra_links.get(first, ()) if page == 1 else (),
    )
    return _listing(site, spec, listing)


def _listing(site: FixtureSite, spec: OutletSpec, listing: Listing) -> Response:
    links = site.bad_cases.listing_links.get(spec.slug, {})
    listing = Listing(
        listing.heading,
        listing.stories,
        listing.page,
        listing.pages,
        listing.page_urls,
        listing.extra_links,
        links,
    )
    return _html(site.renderer.listing(spec, listing), spec.encoding)


def _feed(site: FixtureSite, spec: OutletSpec, request: Mapping[str, str]) -> Response:
    changed = site.archive.changed_at(spec.slug)
    text = site.renderer.feed(
        spec, site.archive.newest(spec.slug), site.bad_cases.feed_links.get(spec.slug, {}), changed
    )
    if spec.slug == MALFORMED_FEED_OUTLET:
        # Raw HTML and a bare ampersand in a description, as hand-rolled CMS feeds have.
        text = text.replace("</description>", " <br> Xem thêm & bình luận</description>", 1)
    kind = "atom" if spec.feed_format == "atom" else "rss"
    content_type = f"application/{kind}+xml; charset={spec.encoding}"
    return conditional(encode(text, spec.encoding), content_type, changed, request)


def _robots(site: FixtureSite) -> bytes:
    lines = ["User-agent: *", *(f"Disallow: {p}" for p in DISALLOWED), ""]
    lines += [f"Sitemap: {o.sitemap_url}" for o in site.outlets]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _admin(site: FixtureSite, path: str) -> Response:
    payload: Any
    if path == "/_fixture/stories":
        payload = [s.to_json(site.base_url) for s in site.archive.all()]
    elif path == "/_fixture/outlets":
        payload = [o.to_json() for o in site.outlets]
    elif path == "/_fixture/specials":
        payload = site.bad_cases.to_json(site.base_url)
    elif path == "/_fixture/hits":
        payload = site.counter.snapshot()
    else:
        return _error(site, 404, "Không tìm thấy trang")
    body = json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")
    return Response(200, {"Content-Type": "application/json; charset=utf-8"}, body)


def _error(site: FixtureSite, status: int, message: str) -> Response:
    return _html(
        site.renderer.simple("error.html.j2", status=status, message=message), status=status
    )
