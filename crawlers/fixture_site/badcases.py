"""The broken and awkward things a crawler meets on real news sites, placed on fixed outlets.

Which story carries which case is chosen from the seeded archive, so the same seed always
puts the 20 MB page, the slow page, the redirect chain etc. on the same articles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crawlers.fixture_site.generator import StoryFactory
from crawlers.fixture_site.models import Story
from crawlers.fixture_site.outlets import OutletSpec
from crawlers.fixture_site.vntext import slugify

DRAFTS_PREFIX = "/vnexpress-like/ban-nhap/"
PRINT_PREFIX = "/tuoitre-like/print/"
DISALLOWED = ("/_fixture/", DRAFTS_PREFIX, PRINT_PREFIX)
MALFORMED_FEED_OUTLET = "cafef-like"
UTM = "utm_source=rss&utm_medium=feed&utm_campaign=tin-moi-nhat"

# (outlet, flag, rank among the outlet's newest ordinary stories)
_PLACEMENT = (
    ("dantri-like", "big", 2),
    ("baodautu-like", "slow", -1),
    ("nld-like", "redirect", 1),
    ("tuoitre-like", "tracking_link", 1),
    ("vnexpress-like", "amp_link", 2),
    ("ninhbinh-like", "feed_no_date", 1),
    ("ninhbinh-like", "feed_future_date", 3),
)


@dataclass
class BadCases:
    """Paths of the bad cases on one site (see the module docstring of server.py)."""

    flagged: dict[str, str] = field(default_factory=dict)
    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)
    redirect_start: str = ""
    tracking: str = ""
    amp: str = ""
    not_found: str = ""
    server_error: str = ""
    drafts: dict[str, Story] = field(default_factory=dict)
    feed_links: dict[str, dict[str, str]] = field(default_factory=dict)
    listing_links: dict[str, dict[str, str]] = field(default_factory=dict)
    extra_links: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def to_json(self, base_url: str) -> dict[str, Any]:
        urls = {flag: base_url + path for flag, path in self.flagged.items()}
        return {
            **urls,
            "redirect_start": base_url + self.redirect_start,
            "tracking": base_url + self.tracking,
            "amp": base_url + self.amp,
            "not_found": base_url + self.not_found,
            "server_error": base_url + self.server_error,
            "disallowed": [base_url + p for p in self.drafts],
            "disallowed_prefixes": list(DISALLOWED),
            "malformed_feed_outlet": MALFORMED_FEED_OUTLET,
        }


def _ordinary(stories: list[Story], outlet: str) -> list[Story]:
    mine = [
        s
        for s in stories
        if s.outlet == outlet and not s.syndicated_from and s.topic != "seed" and not s.flags
    ]
    return sorted(mine, key=lambda s: (s.published_at, s.path), reverse=True)


def place_bad_cases(
    stories: list[Story],
    specs: dict[str, OutletSpec],
    factory: StoryFactory,
    anchor: datetime,
    taken: set[str],
) -> tuple[list[Story], BadCases]:
    """Flag the chosen stories and build the extra paths (redirects, drafts, dead links)."""
    bad = BadCases()
    by_path = {s.path: s for s in stories}
    for outlet, flag, rank in _PLACEMENT:
        candidates = _ordinary(list(by_path.values()), outlet)
        if outlet not in specs or len(candidates) < 4:
            continue
        story = candidates[rank]
        by_path[story.path] = replace(story, flags=(*story.flags, flag))
        bad.flagged[flag] = story.path
    if "redirect" in bad.flagged:
        _redirect_chain(bad, by_path[bad.flagged["redirect"]])
    if "tracking_link" in bad.flagged:
        path = bad.flagged["tracking_link"]
        bad.tracking = f"{path}?{UTM}"
        bad.feed_links.setdefault("tuoitre-like", {})[path] = bad.tracking
    if "amp_link" in bad.flagged:
        path = bad.flagged["amp_link"]
        bad.amp = path.replace("/vnexpress-like/", "/vnexpress-like/amp/", 1)
        bad.listing_links.setdefault("vnexpress-like", {})[path] = bad.amp
    if "vnexpress-like" in specs:
        _dead_ends(bad, specs["vnexpress-like"], factory, anchor, taken)
    return list(by_path.values()), bad


def _redirect_chain(bad: BadCases, story: Story) -> None:
    """Three hops (301, 302, 301) from an old-style URL to the article."""
    n = story.article_id
    hops = [f"/nld-like/tin-cu/{n}.htm", f"/nld-like/chuyen-huong.htm?id={n}", f"/nld-like/r/{n}"]
    targets = [*hops[1:], story.path]
    for hop, status, target in zip(hops, (301, 302, 301), targets, strict=True):
        bad.redirects[hop] = (status, target)
    bad.redirect_start = hops[0]
    bad.feed_links.setdefault("nld-like", {})[story.path] = hops[0]
    bad.listing_links.setdefault("nld-like", {})[story.path] = hops[0]


def _dead_ends(
    bad: BadCases, spec: OutletSpec, factory: StoryFactory, anchor: datetime, taken: set[str]
) -> None:
    """Drafts under a robots-disallowed path, a removed article (404) and a broken one (500)."""
    made = [factory.compose(spec, anchor) for _ in range(4)]
    for story in made[:2]:
        n = spec.scheme.make_id(anchor, factory.rng)
        path = f"{DRAFTS_PREFIX}{slugify(story.title)}-{n}.html"
        taken.add(path)
        bad.drafts[path] = replace(story, article_id=n, path=path)
    bad.not_found = spec.article_path(slugify(made[2].title), made[2].section, 4_799_001)
    bad.server_error = spec.article_path(slugify(made[3].title), made[3].section, 4_799_002)
    links = [(p, s.title) for p, s in bad.drafts.items()]
    links += [(bad.not_found, made[2].title), (bad.server_error, made[3].title)]
    bad.extra_links[spec.section_path(spec.sections[0])] = tuple(links)
    bad.extra_links[f"{spec.prefix}/"] = tuple(links[:2])


def padded(page: bytes, size: int, chunk: int = 1 << 16) -> Iterator[bytes]:
    """The page grown to exactly ``size`` bytes with inline JSON, as bloated CMS pages are."""
    cut = page.rfind(b"</body>")
    cut = len(page) if cut < 0 else cut
    head = page[:cut] + b'<script type="application/json" id="__NEXT_DATA__">{"pad":"'
    tail = b'"}</script>\n' + page[cut:]
    fill = size - len(head) - len(tail)
    if fill < 0:
        yield page
        return
    yield head
    block = b"x" * chunk
    while fill > 0:
        yield block[: min(chunk, fill)]
        fill -= chunk
    yield tail


def padded_size(page: bytes, size: int) -> int:
    overhead = len(b'<script type="application/json" id="__NEXT_DATA__">{"pad":""}</script>\n')
    return size if size >= len(page) + overhead else len(page)
