"""Turn fetched bytes into correct Unicode Vietnamese text.

Order of trust: byte-order mark, the HTTP charset, the page's own ``<meta charset>``, then
detection. Two Vietnamese peculiarities are handled on top of that:

* windows-1258 (Python codec ``cp1258``) writes tones as separate combining marks, so every
  result is NFC-normalised (UTF-8 pages with decomposed text are fixed by the same step).
* Pages from the legacy *font* era (TCVN3/ABC ".VnTime" and VNI fonts) store Vietnamese in
  Latin-1 code points that only look right with the font installed: TCVN3 "Kh¸nh Hßa", VNI
  "Khaùnh Hoøa". They are detected by the share of words carrying the encoding's telltale
  characters (see :func:`detect_legacy_font`) and mapped to Unicode with the tables below.
  Text already holding Vietnamese Unicode letters is never converted.

A page declared as Latin-1/windows-1252 whose bytes are valid UTF-8 is read as UTF-8: that
mislabel is common, and reading it as declared would produce mojibake that looks like TCVN3.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

LEGACY_MIN_RATIO = 0.3
"""Share of non-ASCII words that must look like a legacy font before converting."""
UNICODE_VIETNAMESE_RATIO = 0.1
"""Share of non-ASCII characters beyond Latin-1 (see :func:`beyond_latin1_share`) above which
text is already Unicode."""

# TCVN 5712:1993 (the ABC fonts' VN3 set, plus the VN1 capitals that share the 0xA1-0xFF
# range), keyed by the Latin-1 character the byte decodes to, one row per 16 bytes. The VN1
# combining marks at 0xB0-0xB4 are left out: in real pages those bytes are a degree sign or ±.
# fmt: off
_TCVN3_SRC = (
    "¡¢£¤¥¦§¨©ª«¬\xad®¯"  # 0xA1-0xAF
    "µ¶·¸¹º»¼½¾¿"  # 0xB5-0xBF
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ"
    "ÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß"
    "àáâãäåæçèéêëìíîï"
    "ðñòóôõö÷øùúûüýþÿ"
)
_TCVN3_DST = (
    "ĂÂÊÔƠƯĐăâêôơưđẰ"
    "àảãáạẲằẳẵắẴ"
    "ẮẦẨẪẤỀặầẩẫấậèỂẻẽ"
    "éẹềểễếệìỉỄẾỒĩíịò"
    "Ổỏõóọồổỗốộờởỡớợù"
    "ỖủũúụừửữứựỳỷỹýỵỐ"
)
# fmt: on
_TCVN3 = str.maketrans(_TCVN3_SRC, _TCVN3_DST)
# Characters that are symbols in Latin-1 but letters in TCVN3. Guillemets and ß are left
# out because French and German text use them inside words.
_TCVN3_TELLTALE_RE = re.compile("[¡¢£¤¥¦§¨©ª¬\xad®¯µ¶·¸¹º¼½¾¿×÷Þþ]")

# VNI-Windows: a base vowel followed by one mark character, which stands for a shape
# (circumflex, breve), a tone, or both; the combining characters are folded by NFC.
_CIRCUMFLEX, _BREVE = "\u0302", "\u0306"
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_VNI_MARK_TABLE = {
    "ù": ("", _ACUTE), "ø": ("", _GRAVE), "û": ("", _HOOK), "õ": ("", _TILDE), "ï": ("", _DOT),
    "â": (_CIRCUMFLEX, ""), "á": (_CIRCUMFLEX, _ACUTE), "à": (_CIRCUMFLEX, _GRAVE),
    "å": (_CIRCUMFLEX, _HOOK), "ã": (_CIRCUMFLEX, _TILDE), "ä": (_CIRCUMFLEX, _DOT),
    "ê": (_BREVE, ""), "é": (_BREVE, _ACUTE), "è": (_BREVE, _GRAVE),
    "ú": (_BREVE, _HOOK), "ü": (_BREVE, _TILDE), "ë": (_BREVE, _DOT),
}  # fmt: skip
_VNI_MARKS = _VNI_MARK_TABLE | {k.upper(): v for k, v in _VNI_MARK_TABLE.items()}
# Letters VNI stores as one character: ơ, ư, đ and the toned i and ỵ.
_VNI_SINGLE = {"ô": "ơ", "ö": "ư", "ñ": "đ", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}
_VNI_SINGLE |= {k.upper(): v.upper() for k, v in _VNI_SINGLE.items()}
_VNI_BASES = "aeouyôö"
_VNI_RE = re.compile(
    f"([{_VNI_BASES}{_VNI_BASES.upper()}])([{''.join(_VNI_MARKS)}])|([{''.join(_VNI_SINGLE)}])"
)

_VNI_MARK_MISPLACED_RE = re.compile(
    f"(?<![{_VNI_BASES}{_VNI_BASES.upper()}])[{''.join(_VNI_MARKS)}]"
)
_WORD_RE = re.compile(r"[A-Za-z\u00a1-\u024f\u0300-\u036f\u1ea0-\u1ef9]+")
_SLICE = 4096
_ASCII_LETTER_RE = re.compile("[A-Za-z]")
_LEGACY_SAMPLE = 2000
_VIETNAMESE_MARKS = "\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323\u0340\u0341"
_MARK_RE = re.compile(f"[{_VIETNAMESE_MARKS}]")
# UTF-8 lead bytes of U+0100-U+01BF (ă, đ, ĩ, ũ, ơ, ư) and U+1000-U+1FFF (ạ ... ỹ); every
# byte below 0xC0 is ASCII or a continuation byte, which is no character of its own.
_BEYOND_LATIN1_LEADS = (0xC4, 0xC5, 0xC6, 0xE1)
_NOT_A_LEAD = bytes(range(0xC0))
_SINGLE_BYTE_WESTERN = frozenset({"cp1252", "latin_1", "iso8859-1", "ascii"})


@dataclass(frozen=True)
class LegacyFontGuess:
    """What :func:`detect_legacy_font` saw: the encoding it picked (or None) and the ratios."""

    font: str | None
    tcvn3_ratio: float
    vni_ratio: float
    unicode_ratio: float


@dataclass(frozen=True)
class DecodedPage:
    """Decoded page text and how it was obtained (for logs and fetch records)."""

    text: str
    encoding: str
    source: str
    """bom, http, meta, utf8-override (declared Latin-1 but valid UTF-8) or detected."""
    legacy_font: str | None = None
    legacy: LegacyFontGuess | None = None


def _vni_mark(base: str, mark: str) -> str | None:
    shape, tone = _VNI_MARKS[mark]
    letter = _VNI_SINGLE.get(base, base)
    plain = letter.lower()
    if (shape == _CIRCUMFLEX and plain not in "aeo") or (shape == _BREVE and plain != "a"):
        return None
    if tone and not shape and plain not in "aeouyơư":
        return None
    return unicodedata.normalize("NFC", letter + shape + tone)


def _vni_replace(match: re.Match[str]) -> str:
    if match[3]:
        return _VNI_SINGLE[match[3]]
    combined = _vni_mark(match[1], match[2])
    if combined is None:
        return _VNI_SINGLE.get(match[1], match[1]) + match[2]
    return combined


def convert_tcvn3(text: str) -> str:
    """Map TCVN3 (ABC font) text, as read through Latin-1, to Unicode."""
    return unicodedata.normalize("NFC", text.translate(_TCVN3))


def convert_vni(text: str) -> str:
    """Map VNI-Windows font text, as read through Latin-1, to Unicode."""
    return unicodedata.normalize("NFC", _VNI_RE.sub(_vni_replace, text))


def _non_ascii_words(text: str, limit: int) -> list[str]:
    """The first ``limit`` words (runs of letters) holding a non-ASCII letter.

    The text is read a slice at a time, cut at a space so that no word is split, and a slice
    without any non-ASCII character (scripts and styles, most of a page's head) is skipped
    whole; the scan stops once it has enough words.
    """
    words: list[str] = []
    start, size = 0, len(text)
    while start < size and len(words) < limit:
        end = text.find(" ", start + _SLICE)
        end = size if end == -1 else end
        piece = text[start:end]
        start = end
        if piece.isascii():
            continue
        tokens = " ".join(t for t in piece.split() if not t.isascii())
        words += (w for w in _WORD_RE.findall(tokens) if not w.isascii())
    return words[:limit]


def _vni_evidence(word: str) -> int:
    """+1 for a word with a VNI letter pair, -1 for a mark character no VNI text has there."""
    if _VNI_MARK_MISPLACED_RE.search(word):
        return -1
    return int(any(m[1] and _vni_mark(m[1], m[2]) for m in _VNI_RE.finditer(word)))


def beyond_latin1_share(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that are Vietnamese letters beyond
    Latin-1: U+0100-U+01BF (ă, đ, ĩ, ũ, ơ, ư) and U+1000-U+1FFF (ạ ... ỹ).

    Legacy-font text read as Latin-1 holds none of them (windows-1252 adds a handful: Œ, Š,
    Ž, ƒ), Unicode Vietnamese is more than half made of them. Counted over UTF-8 lead bytes,
    a C-speed pass: about 0.02 ms for a 6 kB article page, where scanning its words took 0.2.
    """
    leads = text.encode("utf-8", "surrogatepass").translate(None, _NOT_A_LEAD)
    if not leads:
        return 0.0
    return sum(map(leads.count, _BEYOND_LATIN1_LEADS)) / len(leads)


def detect_legacy_font(text: str) -> LegacyFontGuess:
    """Decide whether ``text`` is TCVN3 or VNI font text by counting telltale words.

    Nothing is picked when the text already holds Unicode Vietnamese: at least
    UNICODE_VIETNAMESE_RATIO of its non-ASCII characters are letters beyond Latin-1
    (:func:`beyond_latin1_share`); the legacy ratios are then not computed (reported as 0).
    Otherwise, among the first 2,000 words holding non-ASCII characters, a word counts for
    TCVN3 when it mixes ASCII letters with a character that is a symbol in Latin-1 but a
    letter in TCVN3 ("Kh¸nh"). For VNI a word counts +1 when a vowel is directly followed by
    a VNI mark character that forms a Vietnamese letter ("Khaùnh") and -1 when a mark
    character follows a consonant (French "déjà": VNI never writes that). The larger share
    wins when it reaches LEGACY_MIN_RATIO.
    """
    unicode_ratio = beyond_latin1_share(text)
    if unicode_ratio >= UNICODE_VIETNAMESE_RATIO:
        return LegacyFontGuess(None, 0.0, 0.0, unicode_ratio)
    words = _non_ascii_words(text, _LEGACY_SAMPLE)
    if not words:
        return LegacyFontGuess(None, 0.0, 0.0, unicode_ratio)
    total = len(words)
    tcvn3 = sum(1 for w in words if _ASCII_LETTER_RE.search(w) and _TCVN3_TELLTALE_RE.search(w))
    vni = sum(_vni_evidence(w) for w in words)
    tcvn3_ratio, vni_ratio = tcvn3 / total, max(vni, 0) / total
    best, ratio = ("vni", vni_ratio) if vni_ratio > tcvn3_ratio else ("tcvn3", tcvn3_ratio)
    font = best if ratio >= LEGACY_MIN_RATIO else None
    return LegacyFontGuess(font, tcvn3_ratio, vni_ratio, unicode_ratio)


def _declared_charset(declared: str | None) -> str | None:
    if not declared:
        return None
    header = declared if "charset" in declared.lower() else f"text/html; charset={declared}"
    return http_content_type_encoding(header)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> str:
    """Undeclared bytes: UTF-8 if valid, else windows-1258 if that reads as Vietnamese."""
    if _is_utf8(body):
        return "utf-8"
    western = body.decode("cp1252", errors="replace")
    if detect_legacy_font(western).font:
        return "cp1252"
    vietnamese = _compose(body.decode("cp1258", errors="replace"))
    if detect_legacy_font(vietnamese).unicode_ratio >= 2 * UNICODE_VIETNAMESE_RATIO:
        return "cp1258"
    return "cp1252"


def _choose_encoding(body: bytes, declared: str | None) -> tuple[str, str, bytes]:
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        return bom_encoding, "bom", body[len(bom) :]
    for source, encoding in (
        ("http", _declared_charset(declared)),
        ("meta", html_body_declared_encoding(body)),
    ):
        if encoding:
            name = resolve_encoding(encoding) or encoding
            if source == "meta" and name.startswith(("utf-16", "utf-32")):
                name = "utf-8"  # a page that can read its own <meta> is not UTF-16 (WHATWG)
            if name in _SINGLE_BYTE_WESTERN and not body.isascii() and _is_utf8(body):
                return "utf-8", "utf8-override", body
            return name, source, body
    return _detect(body), "detected", body


def _compose(text: str) -> str:
    """NFC around Vietnamese combining marks, which is where windows-1258 and decomposed
    UTF-8 differ from NFC; normalising a whole 300 kB page costs as much as parsing it."""
    if not _MARK_RE.search(text):
        return text
    positions = []
    for mark in _VIETNAMESE_MARKS:
        found = text.find(mark)
        while found != -1:
            positions.append(found)
            found = text.find(mark, found + 1)
    if not positions:
        return text
    positions.sort()
    pieces: list[str] = []
    last = k = 0
    while k < len(positions):
        start, end = max(positions[k] - 1, last), positions[k] + 1
        k += 1
        while k < len(positions) and positions[k] == end:
            end, k = end + 1, k + 1
        pieces += [text[last:start], unicodedata.normalize("NFC", text[start:end])]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def decode_html(body: bytes, declared: str | None) -> DecodedPage:
    """Decode a fetched page; ``declared`` is the HTTP Content-Type header or its charset."""
    encoding, source, payload = _choose_encoding(body, declared)
    text = _compose(to_unicode(payload, encoding))
    guess = detect_legacy_font(text)
    if guess.font == "tcvn3":
        text = convert_tcvn3(text)
    elif guess.font == "vni":
        text = convert_vni(text)
    return DecodedPage(text, encoding, source, guess.font, guess)
