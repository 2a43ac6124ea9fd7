"""indexer.segmentation gives exactly what pyvi.ViTokenizer.tokenize gives, faster."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyvi.ViTokenizer import ViTokenizer

from indexer.segmentation import tokenize

SEEDS = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "seeds").glob("*.txt"))
SYLLABLES = [
    "Ủy", "ban", "nhân", "dân", "xã", "Tả", "Thanh", "Oai", "huyện", "Trì", "khiếu", "nại",
    "đông", "người", "HÀ", "NỘI", "TP.HCM", "12", "1.300", "3/9/2021", "ông", "Nguyễn", "Văn",
    "A.", "và", "đất", "đai", "bồi", "thường", "ThS.", "a.b@c.vn", "https://x.vn/a-b",
]  # fmt: skip
PUNCTUATION = [" ", " ", " ", ", ", ". ", "\n", " - ", ": ", " (", ") ", "...", " ==> ", "“", "”"]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seed_articles_paragraph_by_paragraph(seed: Path) -> None:
    for paragraph in seed.read_text("utf-8").split("\n\n"):
        for text in (paragraph, paragraph.upper(), paragraph.lower()):
            assert tokenize(text) == ViTokenizer.tokenize(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", "\n", "...", "a", "12", "Ông A.", "==> -> >>", "Σα ΣΑΣ", "x" * 300, "Hà\n\nNội"],
)
def test_edge_cases(text: str) -> None:
    assert tokenize(text) == ViTokenizer.tokenize(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SYLLABLES), st.sampled_from(PUNCTUATION)), max_size=40))
def test_random_sentences(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + gap for word, gap in parts)
    assert tokenize(text) == ViTokenizer.tokenize(text)
