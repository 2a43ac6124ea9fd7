"""Parse the date strings Vietnamese outlets print, and reject impossible ones.

Outlets write day-first dates with a weekday, a separator and an optional zone
("Thứ Sáu, 03/09/2021, 05:57 (GMT+7)", "Ngày đăng 04/11/2018 | 20:39", "14:30 22/10/2025",
"Cập nhật: 10:05 ngày 1/11/2018") and metadata carries ISO 8601. Rather than a general
parser (dateparser guesses month-first orders and is slow), the string is searched for one
date, one time and one zone, each with a strict pattern, and the parts are validated by
``datetime`` itself. A value without a zone is Vietnam time: that is what the outlets mean.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

VIETNAM_TZ = "Asia/Ho_Chi_Minh"
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=ZoneInfo(VIETNAM_TZ))
CLOCK_SKEW = timedelta(minutes=5)

_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"(?:\s*(Z|[+-]\d{2}(?::?\d{2})?)(?![\d:]))?"
)
_DMY = re.compile(r"(?<![\d/.-])(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4})(?!\d)")
_DMY_WORDS = re.compile(
    r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s*(?:,\s*)?năm\s+(\d{4})", re.IGNORECASE
)
_TIME = re.compile(
    r"(?<![\d:])(\d{1,2})\s*(?::|h|g|giờ)\s*(\d{2})(?:\s*:\s*(\d{2}))?(?![\d:])"
    r"(?:\s*(AM|PM|SA|CH)\b)?",
    re.IGNORECASE,
)
_ZONE = re.compile(r"\b(?:GMT|UTC)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


def _offset(sign: str, hours: str, minutes: str | None) -> timezone | None:
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _iso_offset(raw: str) -> timezone | None:
    if raw == "Z":
        return UTC
    digits = raw[1:].replace(":", "")
    return _offset(raw[0], digits[:2], digits[2:] or None)


def _parse_iso(match: re.Match[str], zone: ZoneInfo) -> datetime | None:
    year, month, day, hour, minute, second, off = match.groups()
    try:
        naive = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if off is None:
        return naive.replace(tzinfo=zone)
    tzinfo = _iso_offset(off)
    if tzinfo is None:
        return None
    return naive.replace(tzinfo=tzinfo).astimezone(zone)


def _find_date(text: str) -> tuple[int, int, int, tuple[int, int]] | None:
    """Day, month, year and the span they occupy, day-first as Vietnamese writes them."""
    match = _DMY.search(text)
    if match:
        return int(match[1]), int(match[3]), int(match[4]), match.span()
    match = _DMY_WORDS.search(text)
    if match:
        return int(match[1]), int(match[2]), int(match[3]), match.span()
    return None


def _clock(match: re.Match[str]) -> tuple[int, int, int] | None:
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    meridiem = (match[4] or "").upper()
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        if meridiem in {"PM", "CH"} and hour != 12:
            hour += 12
        elif meridiem in {"AM", "SA"} and hour == 12:
            hour = 0
    return hour, minute, second


def parse_vietnamese_datetime(text: str, tz: str = VIETNAM_TZ) -> datetime | None:
    """Return the first date (with its time and zone, if given) in ``text``, aware in ``tz``.

    A date without a time is midnight; an impossible date or time gives ``None`` rather
    than a guess, so that callers fall back to another source.
    """
    if not text:
        return None
    zone = ZoneInfo(tz)
    iso = _ISO.search(text)
    if iso:
        return _parse_iso(iso, zone)
    found = _find_date(text)
    if found is None:
        return None
    day, month, year, (start, end) = found
    rest = text[:start] + " " + text[end:]
    clock: tuple[int, int, int] | None = (0, 0, 0)
    time_match = _TIME.search(rest)
    if time_match:
        clock = _clock(time_match)
    if clock is None:
        return None
    try:
        naive = datetime(year, month, day, *clock)
    except ValueError:
        return None
    zone_match = _ZONE.search(rest)
    if zone_match is None:
        return naive.replace(tzinfo=zone)
    offset = _offset(zone_match[1], zone_match[2], zone_match[3])
    if offset is None:
        return None
    return naive.replace(tzinfo=offset).astimezone(zone)


def check_plausible(
    dt: datetime,
    now: datetime,
    *,
    earliest: datetime = EARLIEST_PLAUSIBLE,
    skew: timedelta = CLOCK_SKEW,
) -> str | None:
    """Why ``dt`` cannot be a publication time, or ``None`` when it can.

    Future dates beyond clock skew come from template clocks and scheduled pages; dates
    before ``earliest`` (1990 by default: before Vietnamese news sites existed, or the
    outlet's founding date when known) come from parsing the wrong number.
    Naive datetimes are taken as Vietnam time.
    """
    zone = ZoneInfo(VIETNAM_TZ)
    dt_aware = dt if dt.tzinfo else dt.replace(tzinfo=zone)
    now_aware = now if now.tzinfo else now.replace(tzinfo=zone)
    if dt_aware > now_aware + skew:
        return f"in the future: {dt_aware.isoformat()} is after {now_aware.isoformat()}"
    if dt_aware < earliest:
        return f"too early: {dt_aware.isoformat()} is before {earliest.date().isoformat()}"
    return None
