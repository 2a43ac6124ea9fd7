"""The extraction's fallback finders agree with the trafilatura functions they stand in for.

`crawlers.extraction` runs trafilatura without its metadata pass and looks for authors and tag
links itself, only when the page's metadata has none; these cases pin the rules to
trafilatura's ``extract_author`` and ``extract_catstags``.
"""

from __future__ import annotations

import pytest
from trafilatura import load_html
from trafilatura.metadata import extract_author, extract_catstags

from crawlers.extraction import _Fallbacks, _read_page

AUTHOR_LAYOUTS = [
    '<div class="detail-author"><div class="author-info"><p class="name">NGỌC ÁNH</p></div></div>',
    '<div class="author-wrap"><div class="author-name dt-x"><a href="/tac-gia/a">Đức Trí</a>'
    "</div></div>",
    '<p class="author">Thu Hà - Phương Linh</p>',
    '<div class="author-share-top"><a class="author cl_green" href="/author/x/">An Nhiên</a>'
    '<span class="date">22/11/2026</span></div>',
    '<div class="news-author" style="text-align: right;">Đức Trí</div>',
    '<div class="ArticleAuthor" align="right">Thùy Dương</div>',
    '<p class="detail__author"><time>10:00</time>Lê Vy</p>',
    '<div class="comments"><span class="author">Bạn đọc</span></div>'
    '<span class="byline">Minh Khang</span>',
    '<a rel="author" href="/u/1">Hải Đăng</a><div class="author">Gia Bảo</div>',
    '<span itemprop="author">Quốc Việt</span>',
    '<div class="post-writer">Vân Anh</div>',
    '<div class="sidebar"><div class="author">Không phải</div></div>',
    "<p>Không có tác giả</p>",
]


def _page(body: str) -> str:
    return (
        "<html><head><title>Tin</title></head><body><article><h1>Tin</h1>"
        f"{body}<p>{'Nội dung bài viết về khiếu nại đất đai. ' * 20}</p></article></body></html>"
    )


def _fallbacks(html: str) -> _Fallbacks:
    tree = load_html(html)
    return _Fallbacks(tree, _read_page(tree), None, html)


@pytest.mark.parametrize("body", AUTHOR_LAYOUTS)
def test_author_as_trafilatura_finds_it(body: str) -> None:
    html = _page(body)
    assert _fallbacks(html).author == (extract_author(load_html(html)) or "")


TAG_LAYOUTS = [
    '<div class="tags"><a href="/tag/dat-dai.htm">Đất đai</a><a href="/x">X</a></div>',
    '<p class="entry-tags z"><a href="/tags/khieu-nai/">Khiếu nại</a></p>',
    '<div class="meta-box"><a href="/tag/a/">A</a><a href="/tag/a/">A</a></div>',
    '<section class="tags-links"><div><a href="/tagies/b">B</a></div></section>',
    '<div class="rowx"><a href="/tag/c/">C</a></div><div class="my-topics"><a href="/tag/d/">D</a>'
    "</div>",
    '<ul class="tags"><li><a href="/tag/e/">E</a></li></ul>',
    '<a href="/tag/f/">F</a>',
]


@pytest.mark.parametrize("body", TAG_LAYOUTS)
def test_tag_links_as_trafilatura_finds_them(body: str) -> None:
    html = _page(body)
    assert _fallbacks(html).tags == extract_catstags("tag", load_html(html))


def test_keyword_metadata_comes_first() -> None:
    html = _page(TAG_LAYOUTS[0]).replace(
        "<title>", '<meta name="keywords" content="khiếu nại, &quot;đất&quot;"><title>'
    )
    assert _fallbacks(html).tags == ["khiếu nại, đất"]
