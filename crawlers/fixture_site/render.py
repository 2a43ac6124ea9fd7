"""Turns stories into each outlet's HTML, feeds and sitemaps (Jinja templates in templates/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from crawlers.fixture_site.models import Story
from crawlers.fixture_site.outlets import SECTION_NAMES, OutletSpec
from crawlers.fixture_site.vntext import VN_TZ, format_date, slugify

TEMPLATES = Path(__file__).with_name("templates")
FEED_SIZE = 40
FUTURE_SHIFT = timedelta(days=400)


@dataclass(frozen=True)
class Listing:
    """One page of links: a section page or an outlet's home page."""

    heading: str
    stories: Sequence[Story]
    page: int = 1
    pages: int = 1
    page_urls: tuple[str, ...] = ()
    extra_links: tuple[tuple[str, str], ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)


class Renderer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["slug"] = slugify

    def outlet_view(self, spec: OutletSpec) -> dict[str, Any]:
        base = self.base_url
        return {
            "slug": spec.slug,
            "name": spec.name,
            "short_name": spec.short_name,
            "home_url": f"{base}{spec.prefix}/",
            "home_path": f"{spec.prefix}/",
            "feed_url": base + spec.prefix + spec.feed_path,
            "feed_type": "application/atom+xml"
            if spec.feed_format == "atom"
            else ("application/rss+xml"),
            "sitemap_url": f"{base}{spec.prefix}/sitemap-news.xml",
            "charset": spec.encoding,
            "sections": [
                {
                    "key": key,
                    "name": SECTION_NAMES[key],
                    "url": base + spec.section_path(key),
                    "path": spec.section_path(key),
                }
                for key in spec.sections
            ],
        }

    def _item(self, spec: OutletSpec, story: Story, path: str | None = None) -> dict[str, Any]:
        published = story.published_at or datetime.now(VN_TZ)
        link_path = path or story.path
        return {
            "title": story.title,
            "lead": story.lead,
            "url": self.base_url + link_path,
            "path": link_path,
            "iso": published.isoformat(),
            "date": format_date(spec.date_style, published),
            "day": f"{published:%d/%m/%Y}",
            "section_name": SECTION_NAMES.get(story.section, story.section),
        }

    def article(
        self,
        spec: OutletSpec,
        story: Story,
        related: Sequence[Story],
        mode: str = "page",
        canonical: str | None = None,
    ) -> str:
        """``mode``: page, amp (AMP variant) or print (printer-friendly copy)."""
        published = story.published_at or datetime.now(VN_TZ)
        prefix_len = len(spec.prefix)
        view = self._item(spec, story)
        view.update(
            lead_display=spec.lead_prefix + story.lead,
            paragraphs=story.paragraphs,
            authors=story.authors,
            author_line=" - ".join(story.authors),
            tags=[(t, f"{self.base_url}{spec.prefix}/tag/{slugify(t)}.htm") for t in story.tags],
            section_url=self.base_url + spec.section_path(story.section),
            canonical=canonical or self.base_url + story.path,
            modified_iso=(published + timedelta(minutes=3)).isoformat(),
            iso_naive=f"{published:%Y-%m-%dT%H:%M:%S}",
            iso_space=f"{published:%Y-%m-%d %H:%M}",
            amp_url=(
                f"{self.base_url}{spec.prefix}/amp{story.path[prefix_len:]}"
                if spec.has_amp
                else None
            ),
            print_url=f"{self.base_url}{spec.prefix}/print{story.path[prefix_len:]}",
            author_slug=slugify(story.authors[0]) if story.authors else "",
            related=[self._item(spec, r) for r in related],
        )
        name = {"amp": "amp.html.j2", "print": "print.html.j2"}.get(mode, f"{spec.layout}.html.j2")
        return self.env.get_template(name).render(kind="article", a=view, o=self.outlet_view(spec))

    def listing(self, spec: OutletSpec, listing: Listing) -> str:
        view = {
            "heading": listing.heading,
            "entries": [self._item(spec, s, listing.links.get(s.path)) for s in listing.stories],
            "page": listing.page,
            "pages": listing.pages,
            "page_urls": listing.page_urls,
            "prev_url": listing.page_urls[listing.page - 2] if listing.page > 1 else None,
            "next_url": listing.page_urls[listing.page] if listing.page < listing.pages else None,
            "extra": [
                {"url": self.base_url + p, "path": p, "title": t} for p, t in listing.extra_links
            ],
        }
        template = self.env.get_template(f"{spec.layout}.html.j2")
        return template.render(kind="listing", l=view, o=self.outlet_view(spec))

    def feed(
        self, spec: OutletSpec, stories: Sequence[Story], links: dict[str, str], built_at: datetime
    ) -> str:
        """Newest ``FEED_SIZE`` stories; ``links`` maps a story path to the link to print."""
        items = []
        for story in list(stories)[:FEED_SIZE]:
            item = self._item(spec, story, links.get(story.path))
            published = story.published_at or built_at
            if "feed_future_date" in story.flags:
                published = published + FUTURE_SHIFT
            item.update(
                rfc822=None if "feed_no_date" in story.flags else format_datetime(published),
                atom_date=published.isoformat(),
                author=", ".join(story.authors),
            )
            items.append(item)
        name = "atom.xml.j2" if spec.feed_format == "atom" else "rss.xml.j2"
        return self.env.get_template(name).render(
            o=self.outlet_view(spec),
            items=items,
            built_rfc822=format_datetime(built_at),
            built_iso=built_at.isoformat(),
        )

    def sitemap(self, spec: OutletSpec, stories: Sequence[Story]) -> str:
        return self.env.get_template("sitemap.xml.j2").render(
            o=self.outlet_view(spec), items=[self._item(spec, s) for s in stories]
        )

    def simple(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)
