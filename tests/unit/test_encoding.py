import unicodedata
from pathlib import Path

import pytest

from crawlers.encoding import (
    beyond_latin1_share,
    convert_tcvn3,
    convert_vni,
    decode_html,
    detect_legacy_font,
)

PAGES = Path(__file__).parents[1] / "fixtures" / "realpages" / "pages"
SENTENCE = (
    "Người dân xã Ninh Hòa, tỉnh Khánh Hòa phản ánh việc bồi thường đất đai chậm trễ; "
    "Đà Nẵng và thành phố Hồ Chí Minh cũng ghi nhận nhiều đơn thư khiếu nại."
)
# SENTENCE as produced by glibc `iconv -f UTF-8 -t TCVN5712-1`, an implementation of the
# standard independent of ours, read back through Latin-1 as a browser without the font would.
SENTENCE_TCVN3 = (
    b"Ng\xad\xeai d\xa9n x\xb7 Ninh H\xdfa, t\xd8nh Kh\xb8nh H\xdfa ph\xb6n \xb8nh vi\xd6c "
    b"b\xe5i th\xad\xeang \xae\xcat \xaeai ch\xcbm tr\xd4; \xa7\xb5 N\xbdng v\xb5 th\xb5nh "
    b"ph\xe8 H\xe5 Ch\xdd Minh c\xf2ng ghi nh\xcbn nhi\xd2u \xae\xacn th\xad khi\xd5u n\xb9i."
)
# SENTENCE typed in a VNI font: letter, then one mark character per diacritic group.
SENTENCE_VNI = (
    "Ngöôøi daân xaõ Ninh Hoøa, tænh Khaùnh Hoøa phaûn aùnh vieäc boài thöôøng ñaát ñai "
    "chaäm treã; Ñaø Naüng vaø thaønh phoá Hoà Chí Minh cuõng ghi nhaän nhieàu ñôn thö "
    "khieáu naïi."
)


def _page(body: str) -> str:
    return f"<html><head><title>t</title></head><body><p>{body}</p></body></html>"


def _cp1258(text: str) -> bytes:
    """Encode as windows-1258 does: a base letter it has, then a combining tone mark."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = b""
    for char in text:
        decomposed = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        out += (base + "".join(c for c in decomposed if c in tones)).encode("cp1258")
    return out


def test_cp1258_round_trip_gives_composed_unicode() -> None:
    raw = _cp1258(_page("Ủy ban nhân dân " + SENTENCE))
    assert b"\xec" in raw
    assert b"\xd2" in raw
    for declared in ("text/html; charset=windows-1258", "windows-1258"):
        page = decode_html(raw, declared)
        assert page.encoding == "cp1258"
        assert page.source == "http"
        assert page.text == _page("Ủy ban nhân dân " + SENTENCE)
        assert unicodedata.is_normalized("NFC", page.text)


def test_cp1258_from_meta_and_from_detection() -> None:
    raw = _cp1258('<html><head><meta charset="windows-1258"></head><body>' + SENTENCE)
    assert decode_html(raw, None).source == "meta"
    assert SENTENCE in decode_html(raw, None).text
    undeclared = decode_html(_cp1258(_page(SENTENCE)), None)
    assert (undeclared.encoding, undeclared.source) == ("cp1258", "detected")
    assert SENTENCE in undeclared.text


def test_http_charset_wins_over_meta() -> None:
    raw = _cp1258('<html><head><meta charset="utf-8"></head><body>' + SENTENCE)
    page = decode_html(raw, "text/html; charset=windows-1258")
    assert page.source == "http"
    assert SENTENCE in page.text


# Every lowercase Vietnamese letter (each vowel with each tone), đ and the seven capitals
# TCVN3 fonts have, in the same order as the bytes glibc `iconv -t TCVN5712-1` gives for them.
ALL_LETTERS = "aàáãảạăằắẵẳặâầấẫẩậeèéẽẻẹêềếễểệiìíĩỉịoòóõỏọôồốỗổộơờớỡởợuùúũủụưừứữửựyỳýỹỷỵđĂÂÊÔƠƯĐ"
ALL_LETTERS_TCVN3 = (
    b"a\xb5\xb8\xb7\xb6\xb9\xa8\xbb\xbe\xbd\xbc\xc6\xa9\xc7\xca\xc9\xc8\xcbe\xcc\xd0\xcf\xce"
    b"\xd1\xaa\xd2\xd5\xd4\xd3\xd6i\xd7\xdd\xdc\xd8\xdeo\xdf\xe3\xe2\xe1\xe4\xab\xe5\xe8\xe7\xe6"
    b"\xe9\xac\xea\xed\xec\xeb\xeeu\xef\xf3\xf2\xf1\xf4\xad\xf5\xf8\xf7\xf6\xf9y\xfa\xfd\xfc"
    b"\xfb\xfe\xae\xa1\xa2\xa3\xa4\xa5\xa6\xa7"
)


def test_tcvn3_table_covers_every_letter() -> None:
    assert convert_tcvn3(ALL_LETTERS_TCVN3.decode("latin-1")) == ALL_LETTERS


@pytest.mark.parametrize(
    ("legacy", "unicode"),
    [
        ("Kh¸nh Hßa", "Khánh Hòa"),
        ("B¶o Th¾ng", "Bảo Thắng"),
        ("M\xadêng Kh\xad¬ng", "Mường Khương"),  # \xad (soft hyphen) is ư
        ("§µ N½ng", "Đà Nẵng"),
        ("Thõa Thiªn HuÕ", "Thừa Thiên Huế"),
        ("Hµ Néi", "Hà Nội"),
        (SENTENCE_TCVN3.decode("latin-1"), SENTENCE),
    ],
)
def test_tcvn3_words(legacy: str, unicode: str) -> None:
    assert convert_tcvn3(legacy) == unicode


@pytest.mark.parametrize(
    ("legacy", "unicode"),
    [
        ("Khaùnh Hoøa", "Khánh Hòa"),
        ("Xin chaøo caùc baïn", "Xin chào các bạn"),
        ("Ñaø Naüng, ÑAØ NAÜNG", "Đà Nẵng, ĐÀ NẴNG"),
        ("Thöøa Thieân Hueá", "Thừa Thiên Huế"),
        ("Haø Noäi, tænh, ñaëc, Myõ, kî", "Hà Nội, tỉnh, đặc, Mỹ, kỵ"),
        ("Thaéng, ngoïc, hoûi, nhö", "Thắng, ngọc, hỏi, như"),
        ("NGÖÔØI, KHAÙNH HOØA", "NGƯỜI, KHÁNH HÒA"),
        (SENTENCE_VNI, SENTENCE),
    ],
)
def test_vni_words(legacy: str, unicode: str) -> None:
    assert convert_vni(legacy) == unicode


# The VNI-Windows table letter by letter, in the order of the xvnkb keyboard driver's table:
# each vowel plain, then acute, grave, hook, tilde, dot below; then i, y and đ.
VNI_LETTERS = (
    "a aù aø aû aõ aï aâ aá aà aå aã aä aê aé aè aú aü aë e eù eø eû eõ eï eâ eá eà eå eã eä "
    "o où oø oû oõ oï oâ oá oà oå oã oä ô ôù ôø ôû ôõ ôï u uù uø uû uõ uï ö öù öø öû öõ öï "
    "i í ì æ ó ò y yù yø yû yõ î ñ"
)
UNICODE_LETTERS = (
    "a á à ả ã ạ â ấ ầ ẩ ẫ ậ ă ắ ằ ẳ ẵ ặ e é è ẻ ẽ ẹ ê ế ề ể ễ ệ "
    "o ó ò ỏ õ ọ ô ố ồ ổ ỗ ộ ơ ớ ờ ở ỡ ợ u ú ù ủ ũ ụ ư ứ ừ ử ữ ự "
    "i í ì ỉ ĩ ị y ý ỳ ỷ ỹ ỵ đ"
)


def test_vni_table_covers_every_letter() -> None:
    assert convert_vni(VNI_LETTERS) == UNICODE_LETTERS
    assert convert_vni(VNI_LETTERS.upper()) == UNICODE_LETTERS.upper()


def test_tcvn3_page_declared_latin1_is_converted() -> None:
    raw = _page(SENTENCE_TCVN3.decode("latin-1")).encode("latin-1")
    page = decode_html(raw, "text/html; charset=iso-8859-1")
    assert page.legacy_font == "tcvn3"
    assert page.legacy is not None
    assert page.legacy.tcvn3_ratio >= 0.3
    assert page.text == _page(SENTENCE)


def test_vni_page_undeclared_is_converted() -> None:
    page = decode_html(_page(SENTENCE_VNI).encode("cp1252"), None)
    assert (page.encoding, page.legacy_font) == ("cp1252", "vni")
    assert page.text == _page(SENTENCE)


def test_vni_text_stored_as_utf8_is_converted() -> None:
    page = decode_html(_page(SENTENCE_VNI).encode("utf-8"), "text/html; charset=utf-8")
    assert page.legacy_font == "vni"
    assert page.text == _page(SENTENCE)


def test_unicode_vietnamese_is_untouched() -> None:
    text = _page(SENTENCE + " Giá vàng giảm 900.000 đồng/lượng, «bất ngờ» ©2026")
    page = decode_html(text.encode("utf-8"), "text/html; charset=utf-8")
    assert page.text == text
    assert page.legacy_font is None
    assert page.legacy is not None
    assert page.legacy.unicode_ratio > 0.5


def test_utf8_mislabelled_as_latin1_is_read_as_utf8() -> None:
    """Read as declared, it would be mojibake ("Ngæ°á»i") full of TCVN3 telltales."""
    page = decode_html(_page(SENTENCE).encode("utf-8"), "text/html; charset=ISO-8859-1")
    assert (page.encoding, page.source, page.legacy_font) == ("utf-8", "utf8-override", None)
    assert page.text == _page(SENTENCE)


def test_decomposed_utf8_is_composed() -> None:
    page = decode_html(_page("Tin no\u0301ng, Khánh Ho\u0300a, ê\u0301").encode(), None)
    assert page.text == _page("Tin nóng, Khánh Hòa, ế")


def test_bom_wins() -> None:
    page = decode_html(b"\xef\xbb\xbf" + _page(SENTENCE).encode(), "text/html; charset=cp1252")
    assert (page.encoding, page.source) == ("utf-8", "bom")
    assert page.text == _page(SENTENCE)


@pytest.mark.parametrize(
    "text",
    [
        "Où est le goût du café? C'est déjà l'été, « Bonjour » à la française, naïf, août.",
        "Die Straße ist groß, daß weiß ich. Müller, Größe, Übung, schön.",
        "España, año, niño, mañana, aún, Raúl, corazón, canción.",
        "Price: 30°C ± 2, ©2026, «quoted», 1º, ½ cup, ¿qué?",
    ],
)
def test_western_text_is_not_taken_for_a_legacy_font(text: str) -> None:
    assert detect_legacy_font(text).font is None
    assert decode_html(_page(text).encode("cp1252"), "text/html; charset=cp1252").text == (
        _page(text)
    )


def test_beyond_latin1_share_tells_unicode_from_legacy_fonts() -> None:
    assert beyond_latin1_share(SENTENCE) > 0.5
    assert beyond_latin1_share(SENTENCE_TCVN3.decode("latin-1")) == 0
    assert beyond_latin1_share(SENTENCE_VNI) == 0
    assert beyond_latin1_share("ASCII only") == 0
    assert beyond_latin1_share("đ\ud800") == 0.5  # a lone surrogate is a character, no crash


def test_unicode_text_with_a_legacy_font_quote_is_left_alone() -> None:
    """A tenth of Unicode Vietnamese is enough: converting would garble the Unicode part."""
    text = SENTENCE + " " + SENTENCE_VNI
    assert detect_legacy_font(text).font is None
    assert detect_legacy_font(SENTENCE_VNI).font == "vni"


@pytest.mark.parametrize("path", sorted(PAGES.glob("*.html")), ids=lambda p: p.name)
def test_real_pages_decode_as_utf8_without_conversion(path: Path) -> None:
    raw = path.read_bytes()
    page = decode_html(raw, None)
    assert page.encoding == "utf-8"
    assert page.legacy_font is None
    assert page.text == unicodedata.normalize("NFC", raw.decode("utf-8"))


def test_a_page_cut_off_inside_a_meta_tag_decodes() -> None:
    """w3lib 2.6.0's sniffer panicked here (a BaseException): pinned below it (decision 36)."""
    decoded = decode_html(b"<!DOCTYPE html><html lang=vi><head><meta", None)
    assert decoded.text.startswith("<!DOCTYPE html>")
