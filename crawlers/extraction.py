"""Extract one article (title, sapo, body, authors, dates, section, tags) from its HTML page.

trafilatura finds the body, title, authors and tags; the page's own metadata (og:*, article:*,
JSON-LD NewsArticle, breadcrumbs, ``<link rel=canonical>``) and a few layout conventions of
Vietnamese outlets fill what it leaves out or gets wrong:

* the sapo (lead) sits in a ``.sapo``/``.description``/``h2`` element and is kept apart from
  the body, so it is removed from the start of the body where trafilatura repeats it;
* the headline is the ``<h1>`` that matches the metadata title (outlets shorten og:title);
* the publication time comes from, in order: article metadata tags, a ``<time datetime>``,
  JSON-LD, visible date text (parsed by :mod:`crawlers.vietnamese_dates`), htmldate's day.
  Each candidate is checked for plausibility and a rejected one is recorded with its reason.

The HTML is parsed once; trafilatura receives the tree (it works on its own copy) and extracts
the body only: its metadata pass (``with_metadata``) would find again what ``_read_page`` reads
from the markup, at about 1.3 ms a page. What only that pass knew — trafilatura's title finder,
htmldate's guess, author elements and tag links (:mod:`crawlers.markup_search`) — runs in
`_Fallbacks`, each finder only when the cheaper sources before it found nothing. trafilatura
runs in ``fast`` mode (no second opinion from readability/jusText: outlets' article markup is
regular, and the gold pages come out the same) and without comment extraction (reader comments
are never indexed).
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from copy import copy, deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from htmldate import find_date
from lxml.etree import Element, XPath
from lxml.html import HtmlElement
from trafilatura import bare_extraction, load_html
from trafilatura.metadata import extract_title
from trafilatura.settings import Document, Extractor, set_date_params

from crawlers.markup_search import find_author, find_categories, find_tag_links
from crawlers.vietnamese_dates import VIETNAM_TZ, check_plausible, parse_vietnamese_datetime

# Footers and teaser lists (<li><article> or <li><a><img> boxes of other stories) that
# trafilatura keeps on some outlets' pages.
_PRUNE_XPATH = [
    "//*[contains(@class, 'footer')]"
    "[contains(concat(' ', normalize-space(@class), ' '), ' footer')]",
    "//ul[li/article or li/a/img]",
]
# Compiled once: tree.xpath("...") compiles its expression on every call.
_NAV_ACTIVE_XPATH = XPath(
    "//nav//a[contains(concat(' ', normalize-space(@class), ' '), ' active ')]"
)
_LEAD_TAGS = frozenset({"p", "h2", "h3", "div", "span"})
_LEAD_CLASS_PARTS = ("sapo", "description", "lead", "summary")
_LEAD_CLASSES = frozenset({"description", "lead", "summary", "article-lead", "article-summary"})
_VISIBLE_DATE_XPATH = XPath(
    "//*[@data-role='publishdate' or contains(@class, 'date') or contains(@class, 'time')"
    " or contains(@class, 'publish')][not(self::script or self::style or self::body)]"
)
_ARTICLE_TYPES = frozenset(
    {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle", "BlogPosting"}
)
_PUBLISHED_META = ("article:published_time", "datepublished", "pubdate", "publishdate",
                   "og:published_time", "dc.date.issued")  # fmt: skip
_MODIFIED_META = ("article:modified_time", "datemodified", "lastmod", "og:updated_time")
_AUTHOR_META = ("article:author", "author", "dable:author")
# Metadata that names an author for trafilatura; when a page has one, its author search
# does not run (an outlet named there keeps the story's authors empty).
_NAMING_META = ("article:author", "atc-metaauthor", "author", "authors", "byl",
                "citation_author", "creator", "dc.creator", "dc.creator.aut", "dc:creator",
                "dcterms.creator", "dcterms.creator.aut", "dcsext.author", "parsely-author",
                "rbauthors", "sailthru.author", "shareaholic:article_author_name")  # fmt: skip
_TITLE_META = ("citation_title", "dc.title", "dcterms.title", "fb_title", "headline", "title")
_TAG_META = ("citation_keywords", "dcterms.subject", "keywords", "parsely-tags",
             "shareaholic:keywords", "tags")  # fmt: skip
_OUTLET_WORDS = frozenset({"online", "news", "corp", "vccorp", "com", "vn", "net", "tv", "jsc"})
_CLOCK_RE = re.compile(r"\d{1,2}\s*[:hg]\s*\d{2}")
_WORD_RE = re.compile(r"\w+")
_TAG_RE = re.compile(r"<[!/?]?[A-Za-z][^<>]*(?:>|(?=<)|$)")
_MAX_LEAD_CHARS = 1500
_MAX_VISIBLE_DATES = 10


class ExtractionError(Exception):
    """The page has no usable article; ``reason`` says what was missing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExtractedArticle:
    """What one article page says about itself, before indexing adds ids and outlet data."""

    title: str
    lead: str = ""
    body: str = ""
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    canonical_url: str | None = None
    rejected_dates: list[str] = field(default_factory=list)


def clean_text(text: str | None, *, unescape: bool = False) -> str:
    """NFC with whitespace collapsed; ``unescape`` resolves HTML entities left in JSON-LD
    strings, which some outlets escape twice ("Chi&amp;#7871;n")."""
    if not text:
        return ""
    for _ in range(2 if unescape else 0):
        if "&" not in text:
            break
        text = html.unescape(text)
    return " ".join(unicodedata.normalize("NFC", text).split())


def _plain_text(text: str | None) -> str:
    """`clean_text` without tag-like tokens, down to nested ones ("<scr<script>ipt>"): titles,
    sapos, authors and tags come from metadata that sometimes holds markup, or escaped markup
    that entity decoding brings back, and an article's text is plain text."""
    text = text or ""
    while (stripped := _TAG_RE.sub("", text)) != text:
        text = stripped
    return clean_text(text)


def _words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text.casefold()))


def _similarity(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def _same_text(a: str, b: str) -> bool:
    """True when one text is the other, give or take a prefix or a truncation."""
    na, nb = (clean_text(t).casefold().rstrip(" .…") for t in (a, b))
    if not na or not nb:
        return False
    short, long_ = sorted((na, nb), key=len)
    return short in long_ and len(short) >= 0.8 * len(long_)


# --- page metadata -------------------------------------------------------------------------


@dataclass
class _Page:
    """The parts of the page's own markup that extraction reads, gathered in one pass."""

    tree: HtmlElement
    meta: dict[str, str] = field(default_factory=dict)
    meta_tags: list[str] = field(default_factory=list)
    ld_article: dict[str, Any] = field(default_factory=dict)
    breadcrumb: list[str] = field(default_factory=list)
    canonical_url: str | None = None

    def first_meta(self, *keys: str) -> str:
        return next((clean_text(self.meta[k]) for k in keys if self.meta.get(k)), "")


def _ld_objects(value: Any) -> Iterator[dict[str, Any]]:
    """The objects in a JSON-LD value, its lists and ``@graph``s, in document order; a loop,
    not recursion, so that lists nested a thousand deep cannot exhaust Python's stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            stack.append(item.get("@graph"))


def _ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    if kind is None:
        return set()
    return {str(k) for k in kind} if isinstance(kind, list) else {str(kind)}


def _position(item: dict[str, Any]) -> int:
    try:
        return int(item.get("position") or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def _breadcrumb_names(obj: dict[str, Any]) -> list[str]:
    items = [i for i in _ld_objects(obj.get("itemListElement")) if i.get("@type") == "ListItem"]
    items.sort(key=_position)
    names = []
    for item in items:
        target = item.get("item")
        name = item.get("name") or (target.get("name") if isinstance(target, dict) else None)
        if name:
            names.append(clean_text(str(name), unescape=True))
    return names


def _read_page(tree: HtmlElement) -> _Page:
    page = _Page(tree)
    for element in tree.iter("meta"):
        content = element.get("content")
        if content is None:
            continue
        for attribute in ("property", "name", "itemprop"):
            key = (element.get(attribute) or "").strip().lower()
            if key and key not in page.meta:
                page.meta[key] = content
        kind = (element.get("property") or element.get("name") or "").strip().lower()
        if kind == "article:tag" or kind in _TAG_META:
            page.meta_tags.append(html.unescape(content).replace('"', "").replace("'", ""))
    for element in tree.iter("link"):
        if (element.get("rel") or "").lower() == "canonical" and element.get("href"):
            page.canonical_url = element.get("href", "").strip()
            break
    for element in tree.iter("script"):
        if (element.get("type") or "").lower() != "application/ld+json" or not element.text:
            continue
        try:
            data = json.loads(element.text, strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than json recurses
            continue
        for obj in _ld_objects(data):
            types = _ld_types(obj)
            if not page.ld_article and types & _ARTICLE_TYPES:
                page.ld_article = obj
            elif not page.breadcrumb and "BreadcrumbList" in types:
                page.breadcrumb = _breadcrumb_names(obj)
    return page


class _Fallbacks:
    """What trafilatura's metadata pass would have added, each part computed on first use."""

    def __init__(self, tree: HtmlElement, page: _Page, url: str | None, html_text: str) -> None:
        self.tree = tree
        self.page = page
        self.url = url
        self.html_text = html_text

    @cached_property
    def title(self) -> str:
        return self.page.first_meta(*_TITLE_META) or clean_text(extract_title(self.tree))

    @cached_property
    def author(self) -> str:
        return find_author(self.tree)

    def author_texts(self) -> Iterator[str]:
        """The author metadata trafilatura reads, else `author`; a source for `_authors`,
        looked at only when the sources before it named nobody."""
        named = [self.page.meta[k] for k in _NAMING_META if self.page.meta.get(k)]
        named += _ld_person_names(self.page)
        yield from named or [self.author]

    @cached_property
    def date(self) -> str | None:
        """htmldate's guess (a day, no time): the last resort for the publication time."""
        params = set_date_params(extensive=True)
        found = find_date(deepcopy(self.tree), url=self.url, **params)
        return str(found) if found else None

    @cached_property
    def tags(self) -> list[str]:
        """Keyword metadata, else tag links."""
        return self.page.meta_tags or find_tag_links(self.tree, self.html_text)

    @cached_property
    def categories(self) -> list[str]:
        return find_categories(self.tree, self.html_text)


def _ld_text(page: _Page, key: str) -> str:
    value = page.ld_article.get(key)
    if isinstance(value, list):
        value = value[-1] if value else None
    return clean_text(value, unescape=True) if isinstance(value, str) else ""


def _ld_person_names(page: _Page) -> list[str]:
    names = []
    for person in _ld_objects(page.ld_article.get("author")):
        types = _ld_types(person)
        if (not types or "Person" in types) and isinstance(person.get("name"), str):
            names.append(clean_text(person["name"], unescape=True))
    author = page.ld_article.get("author")
    return [clean_text(author, unescape=True)] if isinstance(author, str) else names


def _lead_candidates(tree: HtmlElement) -> list[str]:
    """Texts of the elements marked as a sapo (data-role/data-slot), and of paragraphs,
    headings and boxes whose class names one. One pass in Python: the same test as an XPath
    cost twice as much, as libxml2 evaluates every attribute test on every element."""
    found = []
    for element in tree.iter(Element):
        attributes = element.attrib
        if not attributes:
            continue
        marked = attributes.get("data-role") == "sapo" or attributes.get("data-slot") == "sapo"
        if not marked:
            raw = attributes.get("class", "")
            if element.tag not in _LEAD_TAGS or not any(p in raw for p in _LEAD_CLASS_PARTS):
                continue
            classes = raw.lower().split()
            if not (any("sapo" in c for c in classes) or _LEAD_CLASSES & set(classes)):
                continue
        text = clean_text(element.text_content())
        if 20 <= len(text) <= _MAX_LEAD_CHARS and next(element.iterancestors("a"), None) is None:
            found.append(text)
    return found


def _pick_lead(page: _Page) -> str:
    """The page's sapo element, preferring the one that matches the meta description."""
    description = page.first_meta("og:description", "description", "twitter:description")
    description = description or _ld_text(page, "description")
    candidates = _lead_candidates(page.tree)
    if description:
        for candidate in candidates:
            if _same_text(candidate, description) or _similarity(candidate, description) >= 0.6:
                return candidate
    return candidates[0] if candidates else description


def _pick_title(page: _Page, fallbacks: _Fallbacks) -> str:
    """The ``<h1>`` most like the metadata title, else that title, else trafilatura's."""
    reference = page.first_meta("og:title", "twitter:title") or _ld_text(page, "headline")
    reference = reference or fallbacks.title
    h1s = [t for t in (clean_text(h.text_content()) for h in page.tree.iter("h1")) if t]
    if h1s and reference:
        best = max(h1s, key=lambda h: _similarity(h, reference))
        return best if _similarity(best, reference) >= 0.5 else reference
    return reference or (h1s[0] if h1s else "")


def _section(page: _Page, fallbacks: _Fallbacks) -> str | None:
    """Most specific first: article:section, the breadcrumb's last step, JSON-LD, then
    trafilatura's categories and the highlighted item of the site's navigation bar."""
    section = page.first_meta("article:section", "articlesection")
    if not section and page.breadcrumb:
        section = page.breadcrumb[-1]
    section = section or _ld_text(page, "articleSection")
    section = section or next(iter(_tags(fallbacks.categories)[-1:]), "")
    if not section:
        active = [clean_text(a.text_content()) for a in _NAV_ACTIVE_XPATH(page.tree)]
        section = next((t for t in reversed(active) if t), "")
    return section or None


# --- dates ---------------------------------------------------------------------------------


def _published_candidates(page: _Page, fallbacks: _Fallbacks) -> Iterator[tuple[str, str]]:
    for key in _PUBLISHED_META:
        if page.meta.get(key):
            yield f"meta {key}", page.meta[key]
    times = [t for t in page.tree.iter("time") if t.get("datetime")]
    marked = [
        t
        for t in times
        if t.get("itemprop") == "datePublished"
        or t.get("data-role") == "publishdate"
        or t.get("pubdate") is not None
    ]
    for element in (marked or times)[:1]:
        yield "<time datetime>", element.get("datetime", "")
    if isinstance(page.ld_article.get("datePublished"), str):
        yield "JSON-LD datePublished", page.ld_article["datePublished"]
    texts = [clean_text(e.text_content()) for e in _VISIBLE_DATE_XPATH(page.tree)]
    texts = [t for t in texts if 8 <= len(t) <= 80][:_MAX_VISIBLE_DATES]
    # A text with a clock time first: a bare date is often the header's "today" widget.
    for text in sorted(texts, key=lambda t: _CLOCK_RE.search(t) is None):
        yield "page text", text
    if fallbacks.date:
        yield "htmldate", fallbacks.date


def _modified_candidates(page: _Page) -> Iterator[tuple[str, str]]:
    for key in _MODIFIED_META:
        if page.meta.get(key):
            yield f"meta {key}", page.meta[key]
    if isinstance(page.ld_article.get("dateModified"), str):
        yield "JSON-LD dateModified", page.ld_article["dateModified"]


def _first_plausible(
    candidates: Iterable[tuple[str, str]], now: datetime, rejected: list[str]
) -> datetime | None:
    tried: set[str] = set()
    for source, raw in candidates:
        if raw in tried:
            continue
        tried.add(raw)
        parsed = parse_vietnamese_datetime(raw)
        if parsed is None:
            continue
        reason = check_plausible(parsed, now)
        if reason is None:
            return parsed
        rejected.append(f"{source} {raw!r}: {reason}")
    return None


# --- body and people -----------------------------------------------------------------------


def _element_text(element: Any) -> str:
    for line_break in element.iter("lb"):
        line_break.tail = " " + (line_break.tail or "")
    return clean_text("".join(element.itertext()))


def _blocks(body: Any) -> list[tuple[str, Any]]:
    """Text blocks of trafilatura's output tree: images dropped, list items and rows apart."""
    blocks = []
    for element in body:
        if element.tag == "graphic":
            continue
        parts = {"list": "item", "table": "row"}.get(element.tag)
        for part in element.iter(parts) if parts else [element]:
            if part.tag == "row":
                text = " | ".join(_element_text(cell) for cell in part.iter("cell"))
            else:
                text = _element_text(part)
            if text:
                blocks.append((text, part))
    return blocks


def _looks_like_byline(text: str, element: Any) -> bool:
    """A closing paragraph holding only names ("Lê Phương"), the way outlets sign stories."""
    words = [w for w in re.split(r"[\s,-]+", text) if w and w.lower() not in {"theo", "và"}]
    if not words or len(words) > 8 or any(c.isdigit() or c == ":" for c in text):
        return False
    if text[-1] in '.;?!"”':
        return False
    right_aligned = "right" in (element.get("style") or "") or element.get("rend") == "right"
    return right_aligned or all(w[0].isupper() for w in words)


def _body_and_byline(document: Document, title: str, lead: str) -> tuple[list[str], str]:
    blocks = _blocks(document.body) if document.body is not None else []
    repeated = [b for b in blocks[:3] if _same_text(b[0], title) or _same_text(b[0], lead)]
    blocks = [b for b in blocks if b not in repeated]
    byline = ""
    if len(blocks) > 1 and _looks_like_byline(*blocks[-1]):
        byline = blocks.pop()[0]
    return [text for text, _ in blocks], byline


def _compact(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return re.sub(r"[^a-z0-9]", "", decomposed)


def _is_outlet_name(name: str, host: str) -> bool:
    """Outlet names and URLs that metadata puts where a person's name belongs."""
    if "://" in name or "www." in name or "@" in name:
        return True
    compact, site = _compact(name), _compact(host.removeprefix("www.").split(".")[0])
    if not compact or (site and (site in compact or compact in _compact(host))):
        return True
    return bool(_words(name) & _OUTLET_WORDS)


def _authors(sources: Iterable[Iterable[str]], host: str) -> list[str]:
    """People named by the first source that names any: JSON-LD, meta, trafilatura, byline."""
    for source in sources:
        found: list[str] = []
        for raw in source:
            for name in re.split(r"\s*(?:;|,|\s-\s|\svà\s)\s*", _plain_text(raw)):
                name = re.sub(r"^(?:theo|tác giả:?)\s+", "", name, flags=re.IGNORECASE)
                name = re.sub(r"\s*\([^)]*\)$", "", name)
                if name.isupper() and " " in name:
                    name = name.title()
                known = {f.casefold() for f in found}
                if name and name.casefold() not in known and not _is_outlet_name(name, host):
                    found.append(name)
        if found:
            return found
    return []


def _tags(raw_tags: Iterable[str]) -> list[str]:
    tags: list[str] = []
    for raw in raw_tags:
        for tag in (clean_text(t) for t in raw.split(",")):
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
    return tags


def _absolute(base: str | None, link: str | None) -> str | None:
    """``link`` resolved against ``base``; None when it cannot be parsed ("http://[::1")."""
    if not link:
        return None
    try:
        urlsplit(link)
        return urljoin(base, link) if base else link
    except ValueError:
        return None


# --- entry points --------------------------------------------------------------------------


@functools.cache
def _base_options() -> Extractor:
    return Extractor(output_format="python", fast=True, precision=True, comments=False, images=True)


def _options(url: str | None) -> Extractor:
    """trafilatura's settings for one page: a copy of shared ones (building them reads its
    config file's values anew, 0.14 ms a page), with the page's URL."""
    options = copy(_base_options())
    options.url = options.source = url
    return options


def extract_article(
    html_text: str, url: str | None = None, *, now: datetime | None = None
) -> ExtractedArticle:
    """Extract the article in ``html_text`` (decoded text: see :mod:`crawlers.encoding`).

    ``now`` bounds plausible dates (default: the current time). Raises ExtractionError when
    no title or no body text can be found.
    """
    tree = load_html(html_text)
    if tree is None:
        raise ExtractionError("not an HTML document")
    page = _read_page(tree)
    document = bare_extraction(tree, options=_options(url), prune_xpath=_PRUNE_XPATH)
    if not isinstance(document, Document):
        raise ExtractionError("trafilatura found no article text")
    fallbacks = _Fallbacks(tree, page, url, html_text)
    title = _plain_text(_pick_title(page, fallbacks))
    if not _WORD_RE.search(title):  # zero-width spaces or lone marks, which normalising drops
        raise ExtractionError("no title")
    lead = _plain_text(_pick_lead(page))
    paragraphs, byline = _body_and_byline(document, title, lead)
    if not paragraphs:
        raise ExtractionError("no body text")

    canonical = _absolute(url, page.canonical_url or page.meta.get("og:url")) or url
    host = urlsplit(canonical or "").hostname or ""
    now = now or datetime.now(ZoneInfo(VIETNAM_TZ))
    rejected: list[str] = []
    published = _first_plausible(_published_candidates(page, fallbacks), now, rejected)
    updated = _first_plausible(_modified_candidates(page), now, rejected)
    if updated is not None and published is not None and updated < published:
        updated = None
    meta_authors = [page.meta[k] for k in _AUTHOR_META if page.meta.get(k)]
    return ExtractedArticle(
        title=title,
        lead=lead,
        body="\n\n".join(paragraphs),
        authors=_authors(
            [_ld_person_names(page), meta_authors, fallbacks.author_texts(), [byline]],
            host,
        ),
        section=_plain_text(_section(page, fallbacks)) or None,
        tags=_tags(_plain_text(t) for t in [*fallbacks.tags, page.meta.get("article:tag", "")]),
        published_at=published,
        updated_at=updated,
        canonical_url=canonical,
        rejected_dates=rejected,
    )


def article_to_json(article: ExtractedArticle) -> dict[str, Any]:
    """The JSON shape printed by ``diemnong extract``; times are ISO 8601 with offset."""
    return {
        "title": article.title,
        "lead": article.lead,
        "body": article.body,
        "authors": list(article.authors),
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "section": article.section,
        "tags": list(article.tags),
        "canonical_url": article.canonical_url,
    }
