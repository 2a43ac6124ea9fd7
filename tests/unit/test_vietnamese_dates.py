from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.vietnamese_dates import check_plausible, parse_vietnamese_datetime

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thứ Sáu, 03/09/2021, 05:57 (GMT+7)", datetime(2021, 9, 3, 5, 57, tzinfo=VN)),
        ("Ngày đăng 04/11/2018 | 20:39", datetime(2018, 11, 4, 20, 39, tzinfo=VN)),
        ("Thứ hai, 22/10/2025 - 14:30", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("22/10/2025 14:30 GMT+7", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("14:30 22/10/2025", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("Cập nhật: 10:05 ngày 1/11/2018", datetime(2018, 11, 1, 10, 5, tzinfo=VN)),
        ("Thứ bảy, 7/3/2026, 00:05 (GMT+7)", datetime(2026, 3, 7, 0, 5, tzinfo=VN)),
        (" - 07/03/2026 08:47", datetime(2026, 3, 7, 8, 47, tzinfo=VN)),
        ("07/03/2026 08:01:53", datetime(2026, 3, 7, 8, 1, 53, tzinfo=VN)),
        ("14h30 ngày 22/10/2025", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("22-10-2025 2:30 PM", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("ngày 2 tháng 9 năm 2025", datetime(2025, 9, 2, tzinfo=VN)),
        ("22/10/2025", datetime(2025, 10, 22, tzinfo=VN)),
        # another zone is converted to Vietnam time
        ("22/10/2025 14:30 GMT-5", datetime(2025, 10, 23, 2, 30, tzinfo=VN)),
        # ISO 8601, as in metadata
        ("2025-10-22T14:30:00+07:00", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("2025-10-22T07:30:00Z", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("2025-10-22T07:30:00+0000", datetime(2025, 10, 22, 14, 30, tzinfo=VN)),
        ("2026-03-07T08:52:11.000 +07:00", datetime(2026, 3, 7, 8, 52, 11, tzinfo=VN)),
        ("2026-03-07T00:01:00", datetime(2026, 3, 7, 0, 1, tzinfo=VN)),
        ("2026-03-07 08:07", datetime(2026, 3, 7, 8, 7, tzinfo=VN)),
        ("2023-11-02", datetime(2023, 11, 2, tzinfo=VN)),
    ],
)
def test_parses_outlet_and_iso_formats(text: str, expected: datetime) -> None:
    parsed = parse_vietnamese_datetime(text)
    assert parsed == expected
    assert parsed is not None
    assert str(parsed.tzinfo) == "Asia/Ho_Chi_Minh"
    assert parsed.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hôm qua",
        "14:30",  # a time without a date
        "31/02/2021 10:00",
        "29/02/2023",  # not a leap year
        "32/01/2020",
        "10/13/2020",  # month-first is not guessed
        "25:10 01/01/2020",
        "10:61 01/01/2020",
        "13:00 PM 01/01/2020",
        "01/01/2020 10:00 GMT+15",
        "2020-13-01",
        "2021-02-30T10:00:00+07:00",
    ],
)
def test_rejects_impossible_dates(text: str) -> None:
    assert parse_vietnamese_datetime(text) is None


def test_other_target_zone() -> None:
    parsed = parse_vietnamese_datetime("22/10/2025 14:30", tz="UTC")
    assert parsed == datetime(2025, 10, 22, 14, 30, tzinfo=ZoneInfo("UTC"))
    assert str(parsed.tzinfo) == "UTC"


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)))
def test_round_trips_outlet_styles(moment: datetime) -> None:
    moment = moment.replace(second=0, microsecond=0)
    expected = moment.replace(tzinfo=VN)
    for text in (
        moment.strftime("Thứ Hai, %d/%m/%Y, %H:%M (GMT+7)"),
        moment.strftime("%H:%M %d/%m/%Y"),
        f"Cập nhật: {moment:%H:%M} ngày {moment.day}/{moment.month}/{moment.year}",
    ):
        assert parse_vietnamese_datetime(text) == expected, text


NOW = datetime(2026, 3, 7, 12, 0, tzinfo=VN)


@pytest.mark.parametrize(
    ("dt", "reason_part"),
    [
        (NOW + timedelta(hours=1), "future"),
        (NOW + timedelta(days=365), "future"),
        (datetime(1989, 12, 31, 23, 59, tzinfo=VN), "before 1990"),
        (datetime(1975, 4, 30, tzinfo=VN), "before 1990"),
    ],
)
def test_check_plausible_rejects(dt: datetime, reason_part: str) -> None:
    reason = check_plausible(dt, NOW)
    assert reason is not None
    assert reason_part in reason


@pytest.mark.parametrize(
    "dt",
    [
        NOW,
        NOW - timedelta(days=3),
        NOW + timedelta(minutes=2),  # clock skew between the outlet and us
        datetime(1990, 1, 1, tzinfo=VN),
        datetime(2026, 3, 7, 11, 0),  # naive: taken as Vietnam time
        datetime(2026, 3, 7, 4, 30, tzinfo=ZoneInfo("UTC")),
    ],
)
def test_check_plausible_accepts(dt: datetime) -> None:
    assert check_plausible(dt, NOW) is None


def test_check_plausible_outlet_founding_date() -> None:
    founded = datetime(2001, 2, 26, tzinfo=VN)
    reason = check_plausible(datetime(2000, 1, 1, tzinfo=VN), NOW, earliest=founded)
    assert reason is not None
    assert "2001-02-26" in reason
