"""Value types of the pure market-data core: timeframes, quotes, bar sanity checks, import purity."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from marketdata.domain import (
    AssetClass,
    Bar,
    Quote,
    Timeframe,
    bar_problems,
    ensure_utc,
    is_aligned,
    quote_problems,
)

D = Decimal
T0 = datetime(2025, 11, 26, 14, 30, tzinfo=UTC)


def make_bar(**changes: object) -> Bar:
    bar = Bar("AAPL", Timeframe.M1, T0, D("10.00"), D("10.50"), D("9.90"), D("10.20"), D("1500"), 12)
    return dataclasses.replace(bar, **changes)  # type: ignore[arg-type]


def make_quote(**changes: object) -> Quote:
    quote = Quote(
        "AAPL", T0, D("99.98"), D("100.02"), D("300"), D("500"), D("100.00"), D("12000"), D("98.00")
    )
    return dataclasses.replace(quote, **changes)  # type: ignore[arg-type]


class TestTimeframe:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1m", Timeframe.M1),
            ("5m", Timeframe.M5),
            (" 15m ", Timeframe.M15),
            ("1h", Timeframe.H1),
            ("1d", "1d"),
        ],
    )
    def test_parse_accepts_the_known_widths(self, text: str, expected: str) -> None:
        assert Timeframe.parse(text) == expected

    def test_parse_passes_a_timeframe_through(self) -> None:
        assert Timeframe.parse(Timeframe.H1) is Timeframe.H1

    @pytest.mark.parametrize("text", ["2m", "", "1M", "1D", "60m", "daily", "1 m"])
    def test_parse_rejects_unknown_values_with_the_choices(self, text: str) -> None:
        with pytest.raises(ValueError, match=r"unknown timeframe .*expected one of 1m, 5m, 15m, 1h, 1d"):
            Timeframe.parse(text)

    def test_parse_rejects_non_strings(self) -> None:
        with pytest.raises(TypeError):
            Timeframe.parse(5)  # type: ignore[arg-type]

    def test_delta_and_seconds(self) -> None:
        assert [tf.delta for tf in Timeframe] == [
            timedelta(minutes=1),
            timedelta(minutes=5),
            timedelta(minutes=15),
            timedelta(hours=1),
            timedelta(days=1),
        ]
        assert Timeframe.H1.seconds == 3600
        assert not Timeframe.D1.is_intraday

    def test_enums_are_strings(self) -> None:
        assert AssetClass("crypto") is AssetClass.CRYPTO
        assert Timeframe.M5 == "5m"


class TestQuote:
    def test_change_mid_and_spread_are_exact(self) -> None:
        quote = make_quote()

        assert quote.change == D("2.00")
        assert quote.change_pct == D("2.00") * 100 / D("98.00")
        assert quote.mid == D("100.00")
        assert quote.spread == D("0.04")

    def test_change_is_none_without_previous_close(self) -> None:
        quote = make_quote(prev_close=None)

        assert quote.change is None
        assert quote.change_pct is None

    def test_quote_problems(self) -> None:
        assert quote_problems(make_quote()) == []
        assert quote_problems(make_quote(bid=D("100.05"))) == ["crossed book: bid 100.05 above ask 100.02"]
        assert "ts is naive (must be timezone-aware UTC)" in quote_problems(
            make_quote(ts=T0.replace(tzinfo=None))
        )
        assert quote_problems(make_quote(bid_size=D(-1))) == ["bid_size -1 is negative"]

    def test_value_types_are_frozen(self) -> None:
        quote = make_quote()
        with pytest.raises(dataclasses.FrozenInstanceError):
            quote.last = D(1)  # type: ignore[misc]


class TestBarProblems:
    def test_a_sound_bar_has_none(self) -> None:
        assert bar_problems(make_bar()) == []

    @pytest.mark.parametrize(
        ("changes", "problem"),
        [
            ({"high": D("9.80")}, "high 9.80 is below low 9.90"),
            ({"open": D("10.60")}, "open 10.60 is outside [low 9.90, high 10.50]"),
            ({"close": D("9.80")}, "close 9.80 is outside [low 9.90, high 10.50]"),
            ({"volume": D("-1")}, "volume -1 is negative"),
            ({"low": D("0"), "open": D("0.5")}, "low 0 is not positive"),
            ({"open_time": T0.replace(tzinfo=None)}, "open_time is naive (must be timezone-aware UTC)"),
            ({"open_time": T0 + timedelta(seconds=30)}, "is not aligned to 1m"),
            ({"timeframe": Timeframe.M5, "open_time": T0 + timedelta(minutes=3)}, "is not aligned to 5m"),
            ({"trade_count": -2}, "trade_count -2 is negative"),
        ],
    )
    def test_reports_each_bad_row(self, changes: dict[str, object], problem: str) -> None:
        problems = bar_problems(make_bar(**changes))

        assert any(problem in text for text in problems), problems

    def test_daily_bars_only_need_whole_minutes(self) -> None:
        session_open = datetime(2025, 7, 1, 13, 30, tzinfo=UTC)

        assert bar_problems(make_bar(timeframe=Timeframe.D1, open_time=session_open)) == []
        assert is_aligned(session_open, Timeframe.D1)
        assert not is_aligned(session_open, Timeframe.H1)

    def test_close_time(self) -> None:
        assert make_bar(timeframe=Timeframe.H1, open_time=T0.replace(minute=0)).close_time == T0.replace(
            hour=15, minute=0
        )


class TestEnsureUtc:
    def test_naive_raises(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            ensure_utc(datetime(2025, 1, 1))  # noqa: DTZ001 - the point of the test

    def test_other_zones_convert_to_utc(self) -> None:
        new_york = datetime(2025, 1, 2, 9, 30, tzinfo=ZoneInfo("America/New_York"))

        converted = ensure_utc(new_york)

        assert converted == datetime(2025, 1, 2, 14, 30, tzinfo=UTC)
        assert converted.tzinfo is UTC
