"""Trading sessions: NYSE hours with holidays/early closes/DST, crypto 24/7, forex 24/5."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from marketdata import calendar
from marketdata.domain import AssetClass


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


STOCK, ETF, CRYPTO, FOREX = AssetClass.STOCK, AssetClass.ETF, AssetClass.CRYPTO, AssetClass.FOREX


class TestStocks:
    def test_regular_session_is_half_open(self) -> None:
        assert calendar.session_bounds(STOCK, date(2025, 11, 26)) == (
            utc(2025, 11, 26, 14, 30),
            utc(2025, 11, 26, 21),
        )
        assert not calendar.is_open(STOCK, utc(2025, 11, 26, 14, 29, 59))
        assert calendar.is_open(STOCK, utc(2025, 11, 26, 14, 30))
        assert calendar.is_open(STOCK, utc(2025, 11, 26, 20, 59, 59))
        assert not calendar.is_open(STOCK, utc(2025, 11, 26, 21))

    def test_early_close_day_after_thanksgiving(self) -> None:
        assert calendar.session_bounds(ETF, date(2025, 11, 28)) == (
            utc(2025, 11, 28, 14, 30),
            utc(2025, 11, 28, 18),
        )
        assert calendar.is_open(STOCK, utc(2025, 11, 28, 17, 59))
        assert not calendar.is_open(STOCK, utc(2025, 11, 28, 18))
        assert calendar.next_close(STOCK, utc(2025, 11, 28, 15)) == utc(2025, 11, 28, 18)

    @pytest.mark.parametrize(
        "day", [date(2025, 12, 25), date(2025, 11, 27), date(2025, 11, 29), date(2026, 1, 1)]
    )
    def test_holidays_and_weekends_have_no_session(self, day: date) -> None:
        assert calendar.session_bounds(STOCK, day) is None
        assert not calendar.is_open(
            STOCK, datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=16)
        )

    @pytest.mark.parametrize(
        ("day", "opens_at_utc"),
        [
            (date(2025, 3, 7), 14),  # Friday before US daylight saving starts (EST)
            (date(2025, 3, 10), 13),  # Monday after (EDT)
            (date(2025, 10, 31), 13),  # Friday before it ends (EDT)
            (date(2025, 11, 3), 14),  # Monday after (EST)
        ],
    )
    def test_open_is_0930_new_york_across_dst(self, day: date, opens_at_utc: int) -> None:
        bounds = calendar.session_bounds(STOCK, day)

        assert bounds is not None
        assert bounds[0] == datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(
            hour=opens_at_utc, minute=30
        )
        assert bounds[0].astimezone(calendar.NEW_YORK).strftime("%H:%M") == "09:30"
        assert bounds[1].astimezone(calendar.NEW_YORK).strftime("%H:%M") == "16:00"

    def test_next_open_and_close(self) -> None:
        friday_evening = utc(2025, 3, 7, 23)

        assert calendar.next_open(STOCK, friday_evening) == utc(2025, 3, 10, 13, 30)
        assert calendar.next_close(STOCK, friday_evening) == utc(2025, 3, 10, 20)
        # while open, next_open is the following session's open
        assert calendar.next_open(STOCK, utc(2025, 3, 10, 15)) == utc(2025, 3, 11, 13, 30)
        # exactly at an open, that open is not "next"
        assert calendar.next_open(STOCK, utc(2025, 3, 10, 13, 30)) == utc(2025, 3, 11, 13, 30)
        # skips Christmas
        assert calendar.next_open(STOCK, utc(2025, 12, 24, 19)) == utc(2025, 12, 26, 14, 30)

    def test_next_open_crosses_year_and_cache_blocks(self) -> None:
        assert calendar.next_open(STOCK, utc(2025, 12, 31, 22)) == utc(2026, 1, 2, 14, 30)
        assert calendar.next_open(STOCK, utc(2029, 12, 31, 22)) == utc(2030, 1, 2, 14, 30)
        assert calendar.next_close(STOCK, utc(2029, 12, 31, 22)) == utc(2030, 1, 2, 21)

    def test_session_days(self) -> None:
        days = calendar.session_days(STOCK, date(2025, 1, 1), date(2026, 1, 1))

        assert len(days) == 250
        assert date(2025, 12, 25) not in days
        assert date(2025, 11, 28) in days
        assert calendar.session_days(STOCK, date(2025, 1, 1), date(2025, 1, 1)) == []

    def test_accepts_other_zones_and_strings(self) -> None:
        new_york = datetime(2025, 11, 26, 9, 30, tzinfo=ZoneInfo("America/New_York"))

        assert calendar.is_open("stock", new_york)
        assert calendar.next_close("etf", new_york) == utc(2025, 11, 26, 21)


class TestCrypto:
    def test_always_open(self) -> None:
        assert calendar.is_open(CRYPTO, utc(2025, 12, 25, 3))
        assert calendar.next_open(CRYPTO, utc(2025, 12, 25, 3)) is None
        assert calendar.next_close(CRYPTO, utc(2025, 12, 25, 3)) is None

    def test_a_session_is_a_utc_day(self) -> None:
        assert calendar.session_bounds(CRYPTO, date(2025, 12, 25)) == (utc(2025, 12, 25), utc(2025, 12, 26))
        assert len(calendar.session_days(CRYPTO, date(2025, 1, 1), date(2026, 1, 1))) == 365


class TestForex:
    def test_closes_friday_1700_new_york_in_winter(self) -> None:
        assert calendar.is_open(FOREX, utc(2025, 3, 7, 21, 59, 59))
        assert not calendar.is_open(FOREX, utc(2025, 3, 7, 22))
        assert calendar.next_close(FOREX, utc(2025, 3, 5, 12)) == utc(2025, 3, 7, 22)

    def test_reopens_sunday_1700_new_york_after_the_dst_switch(self) -> None:
        # US daylight saving starts at 02:00 on Sunday 2025-03-09, so Sunday's open is 21:00 UTC
        assert not calendar.is_open(FOREX, utc(2025, 3, 8, 12))
        assert not calendar.is_open(FOREX, utc(2025, 3, 9, 20, 59, 59))
        assert calendar.is_open(FOREX, utc(2025, 3, 9, 21))
        assert calendar.next_open(FOREX, utc(2025, 3, 7, 22)) == utc(2025, 3, 9, 21)

    def test_autumn_switch(self) -> None:
        # Friday 2025-10-31 is still EDT (closes 21:00 UTC); Sunday 2025-11-02 is EST (opens 22:00 UTC)
        assert calendar.next_close(FOREX, utc(2025, 10, 29)) == utc(2025, 10, 31, 21)
        assert calendar.next_open(FOREX, utc(2025, 10, 31, 21)) == utc(2025, 11, 2, 22)
        assert not calendar.is_open(FOREX, utc(2025, 11, 2, 21, 59))
        assert calendar.is_open(FOREX, utc(2025, 11, 2, 22))

    def test_next_open_while_open_is_next_week(self) -> None:
        assert calendar.next_open(FOREX, utc(2025, 3, 9, 21)) == utc(2025, 3, 16, 21)

    def test_session_bounds_cut_at_utc_midnight(self) -> None:
        assert calendar.session_bounds(FOREX, date(2025, 3, 8)) is None
        assert calendar.session_bounds(FOREX, date(2025, 3, 9)) == (utc(2025, 3, 9, 21), utc(2025, 3, 10))
        assert calendar.session_bounds(FOREX, date(2025, 3, 10)) == (utc(2025, 3, 10), utc(2025, 3, 11))
        assert calendar.session_bounds(FOREX, date(2025, 3, 7)) == (utc(2025, 3, 7), utc(2025, 3, 7, 22))
        assert calendar.session_bounds(FOREX, date(2025, 12, 25)) is not None  # no forex holidays

    def test_session_days_skip_saturdays(self) -> None:
        days = calendar.session_days(FOREX, date(2025, 3, 3), date(2025, 3, 17))

        assert len(days) == 12
        assert all(day.weekday() != 5 for day in days)


@pytest.mark.parametrize("kind", list(AssetClass))
@pytest.mark.parametrize("function", [calendar.is_open, calendar.next_open, calendar.next_close])
def test_naive_datetimes_raise(kind: AssetClass, function: object) -> None:
    with pytest.raises(ValueError, match="naive"):
        function(kind, datetime(2025, 3, 10, 15))  # type: ignore[operator]  # noqa: DTZ001


def test_session_bounds_wants_a_date() -> None:
    with pytest.raises(TypeError):
        calendar.session_bounds(STOCK, utc(2025, 3, 10))


def test_ten_thousand_is_open_calls_are_fast() -> None:
    start = utc(2025, 1, 1)
    moments = [start + timedelta(minutes=37 * i) for i in range(10_000)]
    calendar.is_open(STOCK, start)  # warm the schedule cache

    began = time.perf_counter()
    opened = sum(calendar.is_open(STOCK, moment) for moment in moments)
    elapsed = time.perf_counter() - began

    assert 0 < opened < len(moments)
    assert elapsed < 1.0, f"10,000 is_open calls took {elapsed:.3f} s"
