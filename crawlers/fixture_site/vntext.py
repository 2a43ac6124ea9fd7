"""Vietnamese text helpers for the fixture site: URL slugs, outlet date styles, windows-1258.

Each outlet prints its dates its own way; the styles here copy the shapes seen on real pages
(tests/fixtures/realpages) so that date parsers meet every variant they will meet in the wild.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7))

_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def slugify(text: str, max_len: int = 80) -> str:
    """ASCII slug as Vietnamese sites build them: tones dropped, đ→d, words joined by '-'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0]
    return slug or "bai-viet"


def weekday(dt: datetime, lower: bool = False) -> str:
    name = _WEEKDAYS[dt.weekday()]
    return name[:4] + name[4:].lower() if lower and name.startswith("Thứ") else name


def _vne(dt: datetime) -> str:
    return f"{weekday(dt, lower=True)}, {dt.day}/{dt.month}/{dt.year}, {dt:%H:%M} (GMT+7)"


def _tto(dt: datetime) -> str:
    return f"{dt:%d/%m/%Y %H:%M} GMT+7"


def _dantri(dt: datetime) -> str:
    return f"{weekday(dt, lower=True)}, {dt:%d/%m/%Y - %H:%M}"


def _vnn(dt: datetime) -> str:
    return f"{weekday(dt)}, {dt:%d/%m/%Y - %H:%M}"


def _cafef(dt: datetime) -> str:
    return f"{dt:%d-%m-%Y - %I:%M %p}"


def _plain(dt: datetime) -> str:
    return f"{dt:%d/%m/%Y %H:%M}"


def _ninhbinh(dt: datetime) -> str:
    return f"Cập nhật: {dt:%H:%M, %d/%m/%Y}"


def _hue(dt: datetime) -> str:
    return f"{weekday(dt)}, {dt:%d/%m/%Y, %H:%M} (GMT+7)"


def _portal(dt: datetime) -> str:
    return f"Ngày đăng {dt:%d/%m/%Y | %H:%M}"


DATE_STYLES: dict[str, Callable[[datetime], str]] = {
    "vne": _vne,
    "tto": _tto,
    "dantri": _dantri,
    "vnn": _vnn,
    "cafef": _cafef,
    "plain": _plain,
    "ninhbinh": _ninhbinh,
    "hue": _hue,
    "portal": _portal,
}


def format_date(style: str, dt: datetime) -> str:
    return DATE_STYLES[style](dt.astimezone(VN_TZ))


def vn_number(value: float, decimals: int = 1) -> str:
    """'12,5' / '1.200': Vietnamese decimal comma and dot thousands separator."""
    text = f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    if decimals and text.endswith("," + "0" * decimals):
        text = text[: -(decimals + 1)]
    return text


def _cp1258_char(char: str) -> str:
    """Rewrite one character into the shape windows-1258 can hold.

    cp1258 has the base letters with circumflex, breve and horn (â ă ê ô ơ ư) but most tone
    marks only as combining characters, so 'ậ' must travel as 'â' + U+0323.
    """
    try:
        char.encode("cp1258")
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in decomposed if c in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
        return base + tones
    return char


def encode_cp1258(text: str) -> bytes:
    """Encode as windows-1258 the way Vietnamese Windows software does (tones combining)."""
    shaped = "".join(_cp1258_char(c) for c in text)
    return shaped.encode("cp1258", errors="xmlcharrefreplace")


def encode(text: str, encoding: str) -> bytes:
    if encoding.lower() in ("windows-1258", "cp1258"):
        return encode_cp1258(text)
    return text.encode(encoding)
