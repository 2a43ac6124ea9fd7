"""Markup searches for what a page's metadata leaves out: author elements, tag links, sections.

They stand in for the parts of trafilatura's metadata pass (``with_metadata``) that
`crawlers.extraction` still needs once it reads the page's metadata itself, and they follow
trafilatura's rules (`tests/unit/test_extraction_fallbacks.py` pins them to its
``extract_author`` and ``extract_catstags``), at a fraction of the cost: trafilatura tests every
element of the page against each rule, these start from the few elements that can match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from lxml.etree import Element, XPath
from lxml.html import HtmlElement
from trafilatura.baseline import block_text
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_catstags
from trafilatura.utils import line_processing

__all__ = ["find_author", "find_categories", "find_tag_links"]

# trafilatura's author search (three tiers of class/id/itemprop tests, run after dropping
# dates, comments and figures), as one cheap pass that collects candidates and tiers in Python:
# its own XPath version costs 0.5-0.7 ms a page, about a third of the body extraction.
_AUTHOR_TIERS = (
    (
        frozenset({"a", "address", "div", "link", "p", "span", "strong", "author"}),
        re.compile(r"^author$|author-?name|AuthorName|authorName"),
        re.compile(r"^author$"),
    ),
    (
        frozenset({"a", "div", "h3", "h4", "p", "span"}),
        re.compile(r"^(?:byline|byl|BBL)$|author"),
        re.compile(r"author"),
    ),
    (None, re.compile(r"[Aa]uthor|writer|[Bb]yline"), re.compile(r"[Aa]uthor")),
)
_AUTHOR_DISCARD_CLASS = re.compile(
    r"^(?:comments|title|date)$|^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote"
    r"|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
_AUTHOR_DISCARD_ID = re.compile(r"^comments|comment-?list")
_AUTHOR_DISCARD_TAGS = frozenset({"time", "figure"})
_TAG_LINK_XPATH = XPath("//a[@href][contains(@href, '/tag')]")
_TAG_HREF = re.compile(r"/tag(?:y|ies|s)?/")
_TAG_BOX_DIVS = frozenset({"row", "jp-relatedposts", "entry-utility"})
_TAG_BOX_PREFIX = re.compile(r"^(?:tag|postmeta|meta)")
# The containers trafilatura's TAGS_XPATHS accept, in its order of preference.
_TAG_BOXES: tuple[Callable[[HtmlElement], bool], ...] = (
    lambda e: e.tag == "div" and e.get("class") == "tags",
    lambda e: e.tag == "p" and (e.get("class") or "").startswith("entry-tags"),
    lambda e: (
        e.tag == "div"
        and (e.get("class") in _TAG_BOX_DIVS or bool(_TAG_BOX_PREFIX.match(e.get("class") or "")))
    ),
    lambda e: (
        e.get("class") == "entry-meta"
        or any(k in (e.get("class") or "") for k in ("topics", "tags-links"))
    ),
)


def _discarded(element: HtmlElement) -> bool:
    """Dates, comments, figures and the like: where an author search must not look."""
    if element.tag in _AUTHOR_DISCARD_TAGS:
        return True
    if element.tag not in ("a", "div", "section", "span"):
        return False
    return bool(
        _AUTHOR_DISCARD_CLASS.search(element.get("class") or "")
        or _AUTHOR_DISCARD_ID.search(element.get("id") or "")
        or "Figure" in (element.get("data-component") or "")
    )


def _kept_texts(element: HtmlElement) -> Iterator[str]:
    """The element's text nodes, as ``itertext`` gives them, without discarded descendants."""
    if element.text:
        yield element.text
    for child in element:
        if isinstance(child.tag, str) and not _discarded(child):
            yield from _kept_texts(child)
        if child.tail:
            yield child.tail


def _author_marked(element: HtmlElement) -> bool:
    """Any tier could accept it: an author, byline or writer class, id, rel, itemprop."""
    attributes = element.attrib
    classes = attributes.get("class", "")
    return (
        "uthor" in classes
        or "yline" in classes
        or "writer" in classes
        or classes in ("byl", "BBL")
        or "uthor" in attributes.get("id", "")
        or attributes.get("rel") == "author"
        or "author" in attributes.get("itemprop", "")
        or "Byline" in attributes.get("data-component", "")
    )


def _author_candidates(tree: HtmlElement) -> Iterator[HtmlElement]:
    """The elements an author tier could accept, in document order. A pass in Python: as one
    XPath, libxml2 evaluated each attribute test on every element at twice the cost."""
    for element in tree.iter(Element):
        if element.tag == "author" or (element.attrib and _author_marked(element)):
            yield element


def _author_tier(element: HtmlElement) -> int | None:
    classes, ident = element.get("class") or "", element.get("id") or ""
    itemprop, tag = element.get("itemprop") or "", element.tag
    for tier, (tags, class_test, id_test) in enumerate(_AUTHOR_TIERS):
        if tags is not None and tag not in tags:
            continue
        if tier == 0 and (
            tag == "author" or element.get("rel") == "author" or itemprop == "author name"
        ):
            return tier
        if tier > 0 and ("author" in itemprop or "Byline" in (element.get("data-component") or "")):
            return tier
        if class_test.search(classes) or id_test.search(ident):
            return tier
    return None


def find_author(tree: HtmlElement) -> str:
    """The text of the first author-marked element, as trafilatura's tiers rank them."""
    ranked: list[tuple[int, int, HtmlElement]] = []
    for order, element in enumerate(_author_candidates(tree)):
        tier = _author_tier(element)
        if tier is not None and not any(_discarded(a) for a in element.iterancestors()):
            ranked.append((tier, order, element))
    for _, _, element in sorted(ranked, key=lambda r: r[:2]):
        if _discarded(element):
            continue
        text = " ".join(" ".join(_kept_texts(element)).split())
        if 2 < len(text) < 120:
            return normalize_authors(None, text) or ""
    return ""


def find_tag_links(tree: HtmlElement, html_text: str) -> list[str]:
    """The text of links to "/tag/" or "/tags/" pages inside a tag box (`_TAG_BOXES`),
    starting from the few such links; the raw text is checked for "/tag" first."""
    if "/tag" not in html_text:
        return []
    links = [a for a in _TAG_LINK_XPATH(tree) if _TAG_HREF.search(a.get("href", ""))]
    # Every box test reads the class: each link's ancestors that have one, listed once.
    chains = [(a, [e for e in a.iterancestors() if e.get("class")]) for a in links]
    for in_box in _TAG_BOXES:
        boxed = [a for a, ancestors in chains if any(map(in_box, ancestors))]
        if boxed:
            found = (line_processing(block_text(a)) for a in boxed)
            return [t for t in dict.fromkeys(found) if t]
    return []


def find_categories(tree: HtmlElement, html_text: str) -> list[str]:
    """Links to "/category/" pages in a post-meta box, else ``article:section`` or
    ``*subject*`` metadata (trafilatura's own search), run only when the raw text holds one
    of these."""
    if not any(key in html_text for key in ("/categor", "article:section", "subject")):
        return []
    return extract_catstags("category", tree)
