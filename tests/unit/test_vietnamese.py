"""Tests for indexer.vietnamese: tone placement, whitespace, folding, segmentation."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.vietnamese import _align, fold, normalize, segment

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEEDS = sorted((FIXTURES / "seeds").glob("*.txt"))
TONES = "\u0300\u0301\u0303\u0309\u0323"

TONE_TABLE = [
    ("hoà", "hòa"),
    ("hòa", "hòa"),
    ("Thanh Hoá", "Thanh Hóa"),
    ("thuỷ", "thủy"),
    ("khoẻ", "khỏe"),
    ("HOÀ", "HÒA"),
    ("Hoà", "Hòa"),
    ("hOà", "hÒa"),
    ("THUỶ LỢI", "THỦY LỢI"),
    ("Uỷ ban", "Ủy ban"),
    ("tuỳ", "tùy"),
    ("thoả", "thỏa"),
    ("hoạ", "họa"),
    ("xoà", "xòa"),
    ("nguỵ", "ngụy"),
    ("loè", "lòe"),
    ("mía", "mía"),
    ("múa", "múa"),
    ("mùa", "mùa"),
    ("hòang", "hoàng"),
    ("hoàng", "hoàng"),
    ("toán", "toán"),
    ("hùynh", "huỳnh"),
    ("khúyên", "khuyến"),
    ("quý", "quý"),
    ("qúy", "quý"),
    ("QÚY", "QUÝ"),
    ("quỳnh", "quỳnh"),
    ("quà", "quà"),
    ("qùa", "quà"),
    ("quốc", "quốc"),
    ("Qúôc", "Quốc"),
    ("quyển", "quyển"),
    ("già", "già"),
    ("gìa", "già"),
    ("GÌA", "GIÀ"),
    ("gì", "gì"),
    ("gìn", "gìn"),
    ("giường", "giường"),
    ("giữa", "giữa"),
    ("gĩưa", "giữa"),
    ("gỉai", "giải"),
    ("giếng", "giếng"),
    ("thuở", "thuở"),
    ("thủơ", "thuở"),
    ("người", "người"),
    ("ngừơi", "người"),
    ("NGỪƠI", "NGƯỜI"),
    ("rựơu", "rượu"),
    ("khuya", "khuya"),
    ("khuỷu", "khuỷu"),
    ("ngoài", "ngoài"),
    ("ngòai", "ngoài"),
    ("xoáy", "xoáy"),
    ("ngoẻo", "ngoẻo"),
    ("khuấy", "khuấy"),
    ("muối", "muối"),
    ("mùôi", "muồi"),
    ("hiếu", "hiếu"),
    ("yêu", "yêu"),
    ("cứu", "cứu"),
    ("Nguỹên", "Nguyễn"),
    ("Ðà Nẵng", "Đà Nẵng"),
]


@pytest.mark.parametrize(("raw", "expected"), TONE_TABLE)
def test_tone_placement(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), TONE_TABLE)
def test_nfd_input_gives_the_same_result(raw: str, expected: str) -> None:
    assert normalize(unicodedata.normalize("NFD", raw)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hoan\u0300", "hoàn"),  # mark typed after the final consonant
        ("ho\u0300a", "hòa"),
        ("hoa\u0300\u0300", "hòa"),  # doubled mark
        ("\u0301khiếu nại", "khiếu nại"),  # mark with no letter to sit on
        ("a \u0300b", "a b"),
        ("ng\u200bười", "người"),  # zero-width space inside a word
    ],
)
def test_stray_and_misplaced_combining_marks(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_conflicting_tone_marks_leave_the_word_alone() -> None:
    assert normalize("ha\u0300\u0301") == unicodedata.normalize("NFC", "ha\u0300\u0301")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\u00a0b", "a b"),
        ("a\u202fb\u2009c", "a b c"),
        ("a \t  b", "a b"),
        ("a\u200b\u200c\u200d\ufeffb", "ab"),
        ("dòng một  \n  dòng hai", "dòng một\ndòng hai"),
        ("đoạn một\n\n\n\nđoạn hai", "đoạn một\n\nđoạn hai"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("  \n lề \n ", "lề"),
    ],
)
def test_whitespace(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox, version 2.0.1 (2024-05-01).",
        "café résumé naïve Zoë São Paulo Việt-Đức",
        "http://baochinhphu.vn/hoà-giải-uỷ-ban.htm?q=thuỷ",
        "www.thanhhoa.gov.vn/Hoà",
        "Giá 1.500.000 đồng, tăng 12,5% so với 2023",
        "COVID-19 H5N1 iPhone e-mail: a@b.vn",
    ],
)
def test_non_vietnamese_words_unchanged(text: str) -> None:
    assert normalize(text) == text


def test_seed_articles_keep_their_words_and_paragraphs() -> None:
    for path in SEEDS:
        raw = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
        out = normalize(raw)
        assert out.split() == raw.split()
        assert "\n\n" in out
        assert "\u00a0" not in out
        assert "  " not in out


VIETNAMESE_ISH = st.text(
    alphabet=st.sampled_from(
        list("aăâeêioôơuưyAĂÂEÊIOÔƠUƯYbcdđĐghklmnpqrstvxGQ")
        + list("àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
        + list(TONES + "\u0302\u0306\u031b")
        + [" ", " ", "\t", "\n", "\u00a0", "\u200b", "\r", ",", ".", "-", "/", ":", "1", "9"]
    ),
    max_size=40,
)


@given(st.one_of(VIETNAMESE_ISH, st.text(max_size=30)))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(VIETNAMESE_ISH)
def test_normalize_output_is_clean_nfc(text: str) -> None:
    out = normalize(text)
    assert unicodedata.is_normalized("NFC", out)
    assert normalize(unicodedata.normalize("NFD", text)) == out
    assert not re.search(r"[\t\u00a0\u200b\r]| {2}|\n{3}", out)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Khiếu nại Thanh Trì", "khieu nai thanh tri"),
        ("ĐẤT ĐAI", "dat dai"),
        ("Đắk Lắk", "dak lak"),
        (unicodedata.normalize("NFD", "Người dân"), "nguoi dan"),
        ("hoà hòa", "hoa hoa"),
        ("Ðà Nẵng", "da nang"),
        ("Straße Øresund", "strasse oresund"),
        ("2024-05-01 COVID-19", "2024-05-01 covid-19"),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


def test_fold_output_is_ascii_for_vietnamese() -> None:
    for path in SEEDS:
        text = path.read_text(encoding="utf-8").replace("\u00a0", " ")
        assert re.sub(r"[–—“”‘’…•·]", "", fold(text)).isascii()


def test_segment_joins_compounds_and_keeps_punctuation() -> None:
    text = "Ngày 1/11, Huyện ủy Thanh Trì tổ chức hội nghị về khiếu nại của nhân dân."
    out = segment(text)
    for compound in ("Thanh_Trì", "khiếu_nại", "nhân_dân", "hội_nghị", "Huyện_ủy"):
        assert compound in out
    assert out.endswith("nhân_dân.")
    assert "1/11," in out
    assert out.replace("_", " ") == normalize(text)


def test_segment_normalizes_first() -> None:
    assert segment("Tỉnh Thanh Hoá\u00a0 có công trình thuỷ lợi") == (
        "Tỉnh Thanh_Hóa có công_trình thủy_lợi"
    )


def test_segment_seed_articles_round_trip() -> None:
    for path in SEEDS:
        raw = path.read_text(encoding="utf-8")
        out = segment(raw)
        assert out.count("_") > 50
        assert out.replace("_", " ") == normalize(raw)


def test_segment_max_chars_leaves_the_tail_unsegmented() -> None:
    text = "Người dân khiếu nại về đất đai. " + "Ủy ban nhân dân tiếp công dân. " * 10
    out = segment(text, max_chars=35)
    assert out.replace("_", " ") == normalize(text)
    assert "khiếu_nại" in out[:35]
    assert "_" not in out[40:]
    assert segment(text, max_chars=10_000) == segment(text)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_segment_empty(text: str) -> None:
    assert segment(text) == ""


@pytest.mark.parametrize(
    ("original", "tokenized", "expected"),
    [
        ("Tp.HCM, nhân dân", "Tp._HCM , nhân_dân", "Tp.HCM, nhân_dân"),
        ("A... b", "A. . . b", "A... b"),
        ("hello_world nhân dân", "hello_world nhân_dân", "hello_world nhân_dân"),
        ("a_b nhân dân", "a_b_nhân_dân", "a_b_nhân_dân"),
        ("x\n\ny", "x \n \n y", "x\n\ny"),
        ("nhân dân", "nhân_dâm", "nhân dân"),
    ],
)
def test_align(original: str, tokenized: str, expected: str) -> None:
    assert _align(original, tokenized) == expected


def _seed_words() -> set[str]:
    words: set[str] = set()
    for path in SEEDS:
        text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
        words.update(re.findall(r"[^\W\d_]+", text))
    return words


def _moved_tone_variants(word: str) -> list[str]:
    """The word with its tone mark put on each of its other vowels ("hoàng" -> "hòang")."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in TONES]
    if len(tones) != 1:
        return []
    base = [c for c in decomposed if c not in TONES]
    variants = []
    for i, char in enumerate(base):
        if char.lower() not in "aeiouy":
            continue
        end = i + 1
        while end < len(base) and unicodedata.combining(base[end]):
            end += 1
        variant = unicodedata.normalize("NFC", "".join([*base[:end], tones[0], *base[end:]]))
        if variant != unicodedata.normalize("NFC", word):
            variants.append(variant)
    return variants


# underthesea's answers we deliberately do not follow: (word, underthesea's output, why).
ACCEPTED_MISMATCHES: dict[str, str] = {}


def test_agrees_with_underthesea_on_seed_words() -> None:
    """Every seed word, and every wrong-tone variant of it underthesea corrects, must agree.

    underthesea only rewrites tokens found in its table of up to 6 letters, so a variant it
    leaves alone is no disagreement (we still correct it, e.g. "Nguỹên" -> "Nguyễn").
    """
    underthesea = pytest.importorskip("underthesea")
    words = _seed_words()
    assert len(words) > 500
    mismatches = {w for w in words if normalize(w) != underthesea.text_normalize(w)}
    corrected = 0
    for word in words:
        for variant in _moved_tone_variants(word):
            theirs = underthesea.text_normalize(variant)
            if theirs != variant:
                corrected += 1
                if normalize(variant) != theirs:
                    mismatches.add(variant)
    assert corrected > 100
    assert mismatches <= set(ACCEPTED_MISMATCHES), sorted(mismatches)


PAIRS = json.loads((FIXTURES / "vietnamese_pairs.json").read_text(encoding="utf-8"))


def _terms(text: str) -> list[str]:
    return re.findall(r"\w+", fold(normalize(text)))


def test_pairs_fixture_is_consistent_with_folding() -> None:
    pairs = PAIRS["pairs"]
    assert len(pairs) >= 30
    assert sum(not p["match"] for p in pairs) >= 5
    assert sum(not unicodedata.is_normalized("NFC", p["query"] + p["text"]) for p in pairs) >= 3
    for pair in pairs:
        query, text = set(_terms(pair["query"])), set(_terms(pair["text"]))
        if pair["match"]:
            assert query <= text, pair
        else:
            assert not query & text, pair


def test_ranking_groups_collide_only_when_folded() -> None:
    groups = PAIRS["ranking"]
    assert len(groups) >= 5
    for group in groups:
        exact, folded_only = group["rank"]
        query = normalize(group["query"]).lower().split()
        assert set(query) <= set(normalize(exact).lower().split()), group
        assert not set(query) <= set(normalize(folded_only).lower().split()), group
        assert set(_terms(group["query"])) <= set(_terms(folded_only)), group
