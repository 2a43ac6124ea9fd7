"""The shortcuts in normalisation and legacy-font detection give what the plain rules give.

`indexer.vietnamese.normalize` skips steps with nothing to do and re-tones word by word;
`crawlers.encoding._non_ascii_words` skips ASCII slices. Each is checked here against the
straightforward formulation it replaced.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from crawlers import encoding
from indexer import vietnamese as vi

PIECES = [
    "hoà", "Hòa", "thuỷ", "THUỶ", "khoẻ", "quý", "già", "gì", "người", "Uỷ ban", "café", "x\u0301",
    "\u0301", "ho\u0300a", "https://hoà.vn/thuỷ", "www.oà.vn", "ñandú", "Ðà", "12,5", "A.",
    " ", "  ", "\t", "\u00a0", "\u200b", "\r\n", "\r", "\n", "\n\n\n", " \n ", "\u2028", ".", ",",
]  # fmt: skip


def reference_normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").translate(vi._WHITESPACE_TABLE)
    text = unicodedata.normalize("NFC", text)
    text = vi._STRAY_MARKS.sub("", text)
    text = vi._SPACE_RUN.sub(" ", text)
    text = vi._SPACE_AROUND_NEWLINE.sub("\n", text)
    text = vi._BLANK_LINES.sub("\n\n", text).strip(" \n")
    return vi._CANDIDATE.sub(vi._normalize_match, text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_normalize_matches_the_plain_rules(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert vi.normalize(text) == reference_normalize(text)


def test_normalize_rebuilds_only_changed_words_and_keeps_spacing() -> None:
    assert vi.normalize("Hoà  bình\tthuỷ\nlợi hoà") == "Hòa bình thủy\nlợi hòa"
    clean = "Ủy ban nhân dân xã Tả Thanh Oai.\n\nNgười dân khiếu nại."
    assert vi.normalize(clean) == clean


WORD = re.compile(r"[A-Za-z\u00a1-\u024f\u0300-\u036f\u1ea0-\u1ef9]+")


def reference_words(text: str, limit: int) -> list[str]:
    return [w for w in WORD.findall(text) if not w.isascii()][:limit]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["abc", "Khaùnh", "Kh¸nh", "hòa", " ", "  ", "\n", "x" * 5000, "“", "đ"]),
        max_size=40,
    ),
    st.sampled_from([1, 5, 300, 2000]),
)
def test_non_ascii_words_match_a_plain_scan(pieces: list[str], limit: int) -> None:
    text = "".join(pieces)
    assert encoding._non_ascii_words(text, limit) == reference_words(text, limit)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30), st.lists(st.sampled_from(PIECES)))
def test_a_normalised_article_is_written_as_it_would_be_normalised_again(
    title: list[str], body: list[str]
) -> None:
    """The crawl's index stage skips normalising again what its normalise stage produced."""
    from datetime import UTC, datetime

    from indexer.models import Article
    from indexer.writer import article_document

    article = Article(
        id="a",
        url="https://x.vn/a",
        canonical_url="https://x.vn/a",
        outlet="x",
        title=vi.normalize("".join(title)),
        body=vi.normalize("".join(body)),
        fetched_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert article_document(article, normalized=True) == article_document(article)
