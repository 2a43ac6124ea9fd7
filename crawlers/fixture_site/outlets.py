"""The imitated outlets: URL shapes, feed kind, encoding, date style and layout of each.

URL shapes follow the real sites (VnExpress ``slug-5047363.html``, Tuổi Trẻ ``slug-<17 digit
timestamp id>.htm``, Báo Đầu tư ``slug-d538952.html`` ...) under a ``/<slug>/`` prefix, so one
server on one port hosts them all.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime

from indexer.models import OutletKind

SECTION_NAMES = {
    "thoi-su": "Thời sự",
    "phap-luat": "Pháp luật",
    "kinh-te": "Kinh tế",
    "xa-hoi": "Xã hội",
    "the-thao": "Thể thao",
    "bat-dong-san": "Bất động sản",
}


@dataclass(frozen=True)
class ArticleScheme:
    """How an outlet numbers and places its articles.

    ``id_kind``: ``rand`` draws from ``id_range``; ``ts14``/``ts12`` use the publication time
    (YYYYmmddHHMMSS / yymmddHHMMSS) after ``id_prefix`` plus three random digits, as the CMS
    of Tuổi Trẻ, Dân trí, NLĐ, CafeF and baochinhphu.vn do.
    """

    template: str
    regex: str
    id_kind: str = "rand"
    id_range: tuple[int, int] = (0, 0)
    id_prefix: str = ""

    def make_id(self, published_at: datetime, rng: random.Random) -> int:
        if self.id_kind == "rand":
            return rng.randint(*self.id_range)
        stamp = (
            f"{published_at:%Y%m%d%H%M%S}"
            if self.id_kind == "ts14"
            else (f"{published_at:%y%m%d%H%M%S}")
        )
        return int(f"{self.id_prefix}{stamp}{rng.randint(0, 999):03d}")


@dataclass(frozen=True)
class OutletSpec:
    slug: str
    name: str
    short_name: str
    kind: OutletKind
    province: str | None
    layout: str
    feed_format: str
    feed_path: str
    sections: tuple[str, ...]
    scheme: ArticleScheme
    section_style: str
    date_style: str
    section_ext: str = ""
    encoding: str = "utf-8"
    lead_prefix: str = ""
    page_size: int = 8
    has_amp: bool = False
    home_provinces: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return f"/{self.slug}"

    def article_path(self, title_slug: str, section: str, article_id: int) -> str:
        rest = self.scheme.template.format(slug=title_slug, section=section, id=article_id)
        return f"{self.prefix}/{rest}"

    def section_path(self, section: str, page: int = 1) -> str:
        base, ext = f"{self.prefix}/{section}", self.section_ext
        if page <= 1:
            return base + ext
        if self.section_style == "p":
            return f"{base}-p{page}{ext}"
        if self.section_style == "trang":
            return f"{base}/trang-{page}{ext}"
        return f"{base}{ext}?page={page}"

    def parse_section(self, rest: str, query: dict[str, list[str]]) -> tuple[str, int] | None:
        """(section, page) for a path below the outlet prefix, or None."""
        ext = re.escape(self.section_ext)
        if rest.endswith(self.section_ext) and rest[: len(rest) - len(self.section_ext)] in (
            self.sections
        ):
            section = rest[: len(rest) - len(self.section_ext)]
            page = query.get("page", ["1"])[0] if self.section_style == "query" else "1"
            return (section, int(page)) if page.isdigit() else None
        shape = (
            r"(?P<sec>[a-z-]+?)-p(?P<n>\d+)"
            if self.section_style == "p"
            else (r"(?P<sec>[a-z-]+)/trang-(?P<n>\d+)")
        )
        match = re.fullmatch(shape + ext, rest) if self.section_style != "query" else None
        if match and match["sec"] in self.sections:
            return match["sec"], int(match["n"])
        return None

    @property
    def article_regex(self) -> str:
        return re.escape(self.prefix) + self.scheme.regex + "$"


_NEWS = ("thoi-su", "phap-luat", "kinh-te", "xa-hoi", "the-thao")

OUTLETS: tuple[OutletSpec, ...] = (
    OutletSpec(
        slug="vnexpress-like",
        name="VnExpress (giả lập)",
        short_name="VnExpress",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="vnexpress",
        feed_format="rss",
        feed_path="/rss/tin-moi-nhat.rss",
        sections=_NEWS,
        scheme=ArticleScheme(
            "{slug}-{id}.html",
            r"/(?:[a-z0-9-]+/)?[a-z0-9-]+-\d{7}\.html",
            id_range=(4_800_000, 5_099_999),
        ),
        section_style="p",
        date_style="vne",
        has_amp=True,
    ),
    OutletSpec(
        slug="tuoitre-like",
        name="Tuổi Trẻ (giả lập)",
        short_name="Tuổi Trẻ",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="tuoitre",
        feed_format="rss",
        feed_path="/rss/tin-moi-nhat.rss",
        sections=_NEWS,
        scheme=ArticleScheme("{slug}-{id}.htm", r"/[a-z0-9-]+-\d{17}\.htm", id_kind="ts14"),
        section_style="query",
        section_ext=".htm",
        date_style="tto",
    ),
    OutletSpec(
        slug="dantri-like",
        name="Dân trí (giả lập)",
        short_name="Dân trí",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="dantri",
        feed_format="atom",
        feed_path="/atom/trang-chu.xml",
        sections=_NEWS,
        scheme=ArticleScheme(
            "{section}/{slug}-{id}.htm", r"/[a-z-]+/[a-z0-9-]+-\d{17}\.htm", id_kind="ts14"
        ),
        section_style="trang",
        section_ext=".htm",
        date_style="dantri",
        lead_prefix="(Dân trí) - ",
    ),
    OutletSpec(
        slug="nld-like",
        name="Người Lao Động (giả lập)",
        short_name="Người Lao Động",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="nld",
        feed_format="rss",
        feed_path="/rss/home.rss",
        sections=_NEWS,
        scheme=ArticleScheme(
            "{slug}-{id}.htm", r"/[a-z0-9-]+-196\d{15}\.htm", id_kind="ts12", id_prefix="196"
        ),
        section_style="query",
        section_ext=".htm",
        date_style="tto",
        lead_prefix="(NLĐO) - ",
        home_provinces=("TP Hồ Chí Minh",),
    ),
    OutletSpec(
        slug="vietnamnet-like",
        name="VietNamNet (giả lập)",
        short_name="VietNamNet",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="vietnamnet",
        feed_format="atom",
        feed_path="/atom/tin-moi-nong.xml",
        sections=_NEWS,
        scheme=ArticleScheme(
            "{slug}-{id}.html", r"/[a-z0-9-]+-\d{7}\.html", id_range=(2_400_000, 2_599_999)
        ),
        section_style="p",
        date_style="vnn",
    ),
    OutletSpec(
        slug="cafef-like",
        name="CafeF (giả lập)",
        short_name="CafeF",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="cafef",
        feed_format="rss",
        feed_path="/rss/trang-chu.rss",
        sections=("kinh-te", "bat-dong-san", "thoi-su"),
        scheme=ArticleScheme(
            "{slug}-{id}.chn", r"/[a-z0-9-]+-188\d{15}\.chn", id_kind="ts12", id_prefix="188"
        ),
        section_style="trang",
        section_ext=".chn",
        date_style="cafef",
    ),
    OutletSpec(
        slug="baodautu-like",
        name="Báo Đầu tư (giả lập)",
        short_name="Báo Đầu tư",
        kind=OutletKind.NATIONAL_DAILY,
        province=None,
        layout="baodautu",
        feed_format="rss",
        feed_path="/rss/tin-moi.rss",
        sections=("kinh-te", "bat-dong-san", "thoi-su", "phap-luat"),
        scheme=ArticleScheme(
            "{slug}-d{id}.html", r"/[a-z0-9-]+-d\d{6}\.html", id_range=(500_000, 599_999)
        ),
        section_style="query",
        date_style="plain",
        has_amp=True,
    ),
    OutletSpec(
        slug="baochinhphu-like",
        name="Báo Chính phủ (giả lập)",
        short_name="Báo Điện tử Chính phủ",
        kind=OutletKind.GOVERNMENT_PORTAL,
        province=None,
        layout="baochinhphu",
        feed_format="atom",
        feed_path="/atom/tin-moi.xml",
        sections=("thoi-su", "kinh-te", "xa-hoi", "phap-luat"),
        scheme=ArticleScheme(
            "{slug}-{id}.htm", r"/[a-z0-9-]+-102\d{15}\.htm", id_kind="ts12", id_prefix="102"
        ),
        section_style="query",
        section_ext=".htm",
        date_style="plain",
        lead_prefix="(Chinhphu.vn) - ",
    ),
    OutletSpec(
        slug="ninhbinh-like",
        name="Báo Ninh Bình (giả lập)",
        short_name="báo Ninh Bình",
        kind=OutletKind.PROVINCIAL_PAPER,
        province="Ninh Bình",
        layout="ninhbinh",
        feed_format="rss",
        feed_path="/rss/tin-moi.rss",
        sections=_NEWS,
        scheme=ArticleScheme(
            "tin-tuc/{section}/{slug}-{id}.html",
            r"/tin-tuc/[a-z-]+/[a-z0-9-]+-\d{5}\.html",
            id_range=(60_000, 99_999),
        ),
        section_style="trang",
        section_ext=".html",
        date_style="ninhbinh",
        page_size=6,
        home_provinces=("Ninh Bình",),
    ),
    OutletSpec(
        slug="hue-like",
        name="Báo Thừa Thiên Huế (giả lập)",
        short_name="báo Thừa Thiên Huế",
        kind=OutletKind.PROVINCIAL_PAPER,
        province="Huế",
        layout="hue",
        feed_format="rss",
        feed_path="/rss/chinh-tri-xa-hoi.rss",
        sections=("thoi-su", "xa-hoi", "kinh-te", "the-thao"),
        scheme=ArticleScheme(
            "{section}/{slug}-{id}.html",
            r"/[a-z-]+/[a-z0-9-]+-\d{6}\.html",
            id_range=(100_000, 199_999),
        ),
        section_style="query",
        section_ext=".html",
        date_style="hue",
        page_size=6,
        home_provinces=("Huế",),
    ),
    OutletSpec(
        slug="thanhtri-portal-like",
        name="Cổng TTĐT huyện Thanh Trì (giả lập)",
        short_name="Cổng thông tin điện tử huyện Thanh Trì",
        kind=OutletKind.GOVERNMENT_PORTAL,
        province="Hà Nội",
        layout="portal",
        feed_format="rss",
        feed_path="/rss/tin-tuc.rss",
        sections=("thoi-su", "xa-hoi", "phap-luat"),
        scheme=ArticleScheme(
            "tin-tuc/{slug}-{id}.html", r"/tin-tuc/[a-z0-9-]+-\d{4}\.html", id_range=(1000, 9999)
        ),
        section_style="query",
        section_ext=".html",
        date_style="portal",
        encoding="windows-1258",
        page_size=6,
        home_provinces=("Hà Nội",),
    ),
)

OUTLETS_BY_SLUG = {spec.slug: spec for spec in OUTLETS}
