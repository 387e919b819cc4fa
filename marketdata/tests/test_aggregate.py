"""Bar roll-ups: list vs pandas equality, bucket/label conventions, properties, the live bar builder."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from marketdata.aggregate import (
    BarBuilder,
    aggregate,
    aggregate_frame,
    bars_to_frame,
    daily_label_for,
    exchange_session_open,
    frame_to_bars,
    utc_midnight,
)
from marketdata.domain import AssetClass, Bar, Quote, Timeframe, bar_problems
from marketdata.providers.simulator import SimulatorProvider

D = Decimal
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def minute_bars(
    start: datetime, count: int, *, symbol: str = "TEST", trade_count: int | None = 3
) -> list[Bar]:
    """Deterministic, sound 1m bars: a zig-zag around 100."""
    bars = []
    for i in range(count):
        open_ = D(100) + D(i % 7) / 4
        close = D(100) + D((i + 3) % 7) / 4
        bars.append(
            Bar(
                symbol,
                Timeframe.M1,
                start + timedelta(minutes=i),
                open_,
                max(open_, close) + D("0.10"),
                min(open_, close) - D("0.10"),
                close,
                D(10 + i),
                trade_count,
            )
        )
    return bars


class TestAggregate:
    def test_five_minute_buckets_are_epoch_aligned(self) -> None:
        bars = minute_bars(datetime(2025, 6, 2, 13, 32, tzinfo=UTC), 10)

        out = aggregate(bars, "5m")

        assert [bar.open_time.minute for bar in out] == [30, 35, 40]
        first = out[0]
        assert first.open == bars[0].open
        assert first.close == bars[2].close
        assert first.high == max(bar.high for bar in bars[:3])
        assert first.low == min(bar.low for bar in bars[:3])
        assert first.volume == sum(bar.volume for bar in bars[:3])
        assert first.trade_count == 9
        assert all(bar.timeframe is Timeframe.M5 for bar in out)

    def test_stock_session_start_falls_in_the_hour_bucket(self) -> None:
        bars = minute_bars(datetime(2025, 6, 2, 13, 30, tzinfo=UTC), 90)

        out = aggregate(bars, Timeframe.H1)

        assert [bar.open_time for bar in out] == [
            datetime(2025, 6, 2, 13, tzinfo=UTC),
            datetime(2025, 6, 2, 14, tzinfo=UTC),
        ]
        assert out[0].volume == sum(bar.volume for bar in bars[:30])

    def test_daily_labels_follow_the_asset_class(self) -> None:
        bars = minute_bars(datetime(2025, 6, 2, 13, 30, tzinfo=UTC), 30)

        stock = aggregate(bars, "1d", session_anchor=AssetClass.STOCK)
        crypto = aggregate(bars, "1d", session_anchor=AssetClass.CRYPTO)
        default = aggregate(bars, "1d")

        assert stock[0].open_time == datetime(2025, 6, 2, 13, 30, tzinfo=UTC)
        assert crypto[0].open_time == default[0].open_time == datetime(2025, 6, 2, tzinfo=UTC)
        assert daily_label_for("etf") is exchange_session_open
        assert daily_label_for(AssetClass.FOREX) is utc_midnight

    def test_one_missing_trade_count_makes_the_sum_unknown(self) -> None:
        bars = minute_bars(datetime(2025, 6, 2, 14, tzinfo=UTC), 5)
        bars[2] = dataclasses.replace(bars[2], trade_count=None)

        assert aggregate(bars, "5m")[0].trade_count is None

    def test_empty_input(self) -> None:
        assert aggregate([], "1h") == []

    def test_rejects_bad_input(self) -> None:
        bars = minute_bars(datetime(2025, 6, 2, 14, tzinfo=UTC), 5)
        with pytest.raises(ValueError, match="increasing"):
            aggregate([bars[1], bars[0]], "5m")
        with pytest.raises(ValueError, match="one symbol"):
            aggregate([bars[0], minute_bars(bars[1].open_time, 1, symbol="OTHER")[0]], "5m")
        with pytest.raises(ValueError, match="do not divide"):
            aggregate(aggregate(bars, "1h"), "5m")
        with pytest.raises(ValueError, match="only intraday"):
            aggregate(aggregate(bars, "1d"), "1d")
        with pytest.raises(ValueError, match="unknown timeframe"):
            aggregate(bars, "2h")

    def test_rolls_five_minute_bars_into_hours(self) -> None:
        bars = minute_bars(datetime(2025, 6, 2, 14, tzinfo=UTC), 120)

        assert aggregate(aggregate(bars, "5m"), "1h") == aggregate(bars, "1h")


@pytest.fixture(scope="module")
def simulated_minutes() -> dict[str, list[Bar]]:
    provider = SimulatorProvider(clock=lambda: NOW)
    start, end = datetime(2025, 11, 26, tzinfo=UTC), datetime(2025, 12, 2, tzinfo=UTC)
    return {symbol: provider.history(symbol, "1m", start, end) for symbol in ("AAPL", "BTC/USD", "EUR/USD")}


ANCHORS = {"AAPL": AssetClass.STOCK, "BTC/USD": AssetClass.CRYPTO, "EUR/USD": AssetClass.FOREX}
TICKS = {"AAPL": (D("0.01"), D(1)), "BTC/USD": (D("0.01"), D("0.0001")), "EUR/USD": (D("0.00001"), D(1))}


class TestAggregateFrame:
    @pytest.mark.parametrize("symbol", ["AAPL", "BTC/USD", "EUR/USD"])
    @pytest.mark.parametrize("timeframe", ["5m", "15m", "1h", "1d"])
    def test_exact_frame_equals_the_list_version(
        self, simulated_minutes: dict[str, list[Bar]], symbol: str, timeframe: str
    ) -> None:
        bars = simulated_minutes[symbol]
        anchor = ANCHORS[symbol]

        expected = aggregate(bars, timeframe, session_anchor=anchor)
        frame = aggregate_frame(bars_to_frame(bars, exact=True), timeframe, session_anchor=anchor)

        assert frame_to_bars(frame, symbol=symbol, timeframe=timeframe) == expected

    @pytest.mark.parametrize("symbol", ["AAPL", "BTC/USD", "EUR/USD"])
    @pytest.mark.parametrize("timeframe", ["15m", "1d"])
    def test_float_frame_equals_the_list_version_after_quantising(
        self, simulated_minutes: dict[str, list[Bar]], symbol: str, timeframe: str
    ) -> None:
        bars = simulated_minutes[symbol]
        tick, lot = TICKS[symbol]

        expected = aggregate(bars, timeframe, session_anchor=ANCHORS[symbol])
        frame = aggregate_frame(bars_to_frame(bars), timeframe, session_anchor=ANCHORS[symbol])

        assert frame["open"].dtype == "float64"
        assert (
            frame_to_bars(frame, symbol=symbol, timeframe=timeframe, tick_size=tick, lot_size=lot) == expected
        )

    def test_unsorted_or_naive_frames_are_refused(self, simulated_minutes: dict[str, list[Bar]]) -> None:
        frame = bars_to_frame(simulated_minutes["AAPL"][:10])
        with pytest.raises(ValueError, match="increasing"):
            aggregate_frame(frame.iloc[::-1], "5m")
        frame["open_time"] = frame["open_time"].dt.tz_localize(None)
        with pytest.raises(ValueError, match="aware"):
            aggregate_frame(frame, "5m")

    def test_empty_frame(self) -> None:
        assert len(aggregate_frame(bars_to_frame([]), "1h")) == 0


# --- properties ------------------------------------------------------------------------------------


@st.composite
def bar_lists(draw: st.DrawFn) -> list[Bar]:
    count = draw(st.integers(min_value=1, max_value=150))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=200), min_size=count, max_size=count))
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 365)))
    with_counts = draw(st.booleans())
    prices = st.integers(min_value=1, max_value=10_000_000)
    bars: list[Bar] = []
    minute = 0
    for gap in gaps:
        minute += gap
        points = sorted(draw(st.lists(prices, min_size=4, max_size=4)))
        low, a, b, high = (D(value) / 100 for value in points)
        open_, close = (a, b) if draw(st.booleans()) else (b, a)
        volume = D(draw(st.integers(min_value=0, max_value=10**9))) / 10_000
        count_value = draw(st.integers(min_value=0, max_value=10_000)) if with_counts else None
        if with_counts and draw(st.integers(0, 20)) == 0:
            count_value = None
        bars.append(
            Bar(
                "PROP",
                Timeframe.M1,
                start + timedelta(minutes=minute),
                open_,
                high,
                low,
                close,
                volume,
                count_value,
            )
        )
    return bars


@settings(max_examples=60, deadline=None)
@given(
    bars=bar_lists(),
    timeframe=st.sampled_from(["5m", "15m", "1h", "1d"]),
    anchor=st.sampled_from(list(AssetClass)),
)
def test_aggregate_properties(bars: list[Bar], timeframe: str, anchor: AssetClass) -> None:
    out = aggregate(bars, timeframe, session_anchor=anchor)

    assert sum((bar.volume for bar in out), D(0)) == sum((bar.volume for bar in bars), D(0))
    assert [bar.open_time for bar in out] == sorted({bar.open_time for bar in out})
    assert all(bar_problems(bar) == [] for bar in out)
    target = Timeframe.parse(timeframe)
    for output in out:
        if target.is_intraday:
            members = [bar for bar in bars if output.open_time <= bar.open_time < output.close_time]
        else:
            day = output.open_time.date()
            members = [bar for bar in bars if bar.open_time.date() == day]
        assert members
        assert output.high == max(bar.high for bar in members) >= max(bar.high for bar in members)
        assert all(output.high >= bar.high and output.low <= bar.low for bar in members)
        assert output.open == members[0].open
        assert output.close == members[-1].close
        counts = [bar.trade_count for bar in members]
        assert output.trade_count == (None if None in counts else sum(c for c in counts if c is not None))
    assert (
        frame_to_bars(
            aggregate_frame(bars_to_frame(bars, exact=True), timeframe, session_anchor=anchor),
            symbol="PROP",
            timeframe=timeframe,
        )
        == out
    )


# --- live bars ----------------------------------------------------------------------------------------


def at(minute: int, second: float = 0.0) -> datetime:
    return datetime(2025, 6, 2, 14, minute, tzinfo=UTC) + timedelta(seconds=second)


class TestBarBuilder:
    def test_closes_a_bar_when_the_minute_rolls(self) -> None:
        builder = BarBuilder("BTC/USD")

        assert builder.add_trade(D("100"), D("1"), at(0, 1)) == []
        assert builder.add_trade(D("101"), D("2"), at(0, 30)) == []
        assert builder.add_trade(D("99"), D("1"), at(0, 59.9)) == []
        closed = builder.add_trade(D("100.5"), D("3"), at(1, 5))

        assert closed == [Bar("BTC/USD", Timeframe.M1, at(0), D(100), D(101), D(99), D(99), D(4), 3)]
        assert builder.current == Bar(
            "BTC/USD", Timeframe.M1, at(1), D("100.5"), D("100.5"), D("100.5"), D("100.5"), D(3), 1
        )

    def test_flush_closes_the_working_bar_only_after_its_end(self) -> None:
        builder = BarBuilder("BTC/USD", "5m")
        builder.add_trade(D("100"), D("1"), at(2))

        assert builder.flush(at(4, 59)) == []
        assert [bar.open_time for bar in builder.flush(at(5))] == [at(0)]
        assert builder.current is None
        assert builder.flush(at(9)) == []

    def test_quiet_minutes_make_no_bars_and_late_updates_are_dropped(self) -> None:
        builder = BarBuilder("BTC/USD")
        builder.add_trade(D("100"), D("1"), at(0))

        closed = builder.add_trade(D("101"), D("1"), at(3))
        late = builder.add_trade(D("102"), D("1"), at(2, 30))

        assert [bar.open_time for bar in closed] == [at(0)]
        assert late == []
        assert builder.dropped == 1
        assert builder.current is not None
        assert builder.current.high == D(101)

    def test_quotes_use_the_growth_of_cumulative_volume(self) -> None:
        builder = BarBuilder("AAPL")

        def quote(second: float, last: str, volume: int) -> Quote:
            return Quote("AAPL", at(0, second), D(last), D(last), D(1), D(1), D(last), D(volume), None)

        builder.add_quote(quote(0, "10", 1000))  # baseline: size unknown, counted as 0
        builder.add_quote(quote(10, "11", 1500))
        builder.add_quote(quote(20, "9", 1500))  # no volume: price update, not a trade
        builder.add_quote(quote(30, "10", 200))  # new session: cumulative volume restarted
        bar = builder.flush(at(1))[0]

        assert (bar.open, bar.high, bar.low, bar.close) == (D(10), D(11), D(9), D(10))
        assert bar.volume == D(700)
        assert bar.trade_count == 2

    def test_rejects_bad_updates_and_daily_bars(self) -> None:
        builder = BarBuilder("AAPL")
        with pytest.raises(ValueError, match="positive"):
            builder.add_trade(D(0), D(1), at(0))
        with pytest.raises(ValueError, match="negative"):
            builder.add_trade(D(1), D(-1), at(0))
        with pytest.raises(ValueError, match="naive"):
            builder.add_trade(D(1), D(1), datetime(2025, 1, 1))  # noqa: DTZ001
        with pytest.raises(ValueError, match="intraday"):
            BarBuilder("AAPL", "1d")


def test_daily_label_for_a_day_without_session_falls_back_to_midnight() -> None:
    assert exchange_session_open(date(2025, 12, 25)) == datetime(2025, 12, 25, tzinfo=UTC)
