"""The pure analytics: round trips, curve ranges, the regular equity grid, exposure, allocation, and
realised P&L grouped by symbol and by strategy (exact Decimals)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from orders.states import Side
from portfolio import analytics
from portfolio.analytics import EquityPoint, FillRecord, Holding
from portfolio.ledger import RoundTrip, round_trips
from portfolio.metrics import compute_metrics

D = Decimal
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BUY, SELL = Side.BUY, Side.SELL


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- round trips -----------------------------------------------------------------------------------------


def test_a_round_trip_runs_from_flat_to_flat_and_counts_every_commission():
    trips = round_trips(
        [
            ("AAA", (BUY, D(10), D(100), D(1))),
            ("AAA", (BUY, D(10), D(110), D(1))),
            ("AAA", (SELL, D(20), D(120), D(2))),
        ]
    )

    assert trips == [RoundTrip("AAA", D(300) - D(4), D(2100))]
    assert trips[0].trade_return == D(296) / D(2100)


def test_a_flip_closes_one_trip_and_opens_the_next_with_the_rest():
    trips = round_trips(
        [
            ("AAA", (BUY, D(10), D(100), D(0))),
            ("AAA", (SELL, D(15), D(90), D(0))),  # closes the long at a loss, opens 5 short at 90
            ("AAA", (BUY, D(5), D(80), D(0))),
        ]
    )

    assert trips == [RoundTrip("AAA", D(-100), D(1000)), RoundTrip("AAA", D(50), D(450))]


def test_symbols_keep_their_own_positions_and_open_trips_are_left_out():
    trips = round_trips(
        [
            ("AAA", (BUY, D(1), D(10), D(0))),
            ("BBB", (SELL, D(2), D(50), D(0))),
            ("AAA", (SELL, D("0.5"), D(12), D(0))),
            ("BBB", (BUY, D(2), D(40), D(0))),
        ]
    )

    assert trips == [RoundTrip("BBB", D(20), D(100))]  # AAA is still half open


@given(
    st.lists(
        st.tuples(st.sampled_from(["AAA", "BBB"]), st.sampled_from([BUY, SELL]), st.integers(1, 50)),
        max_size=30,
    )
)
def test_closed_trips_add_up_to_the_realised_pnl_of_the_symbols_that_end_flat(moves):
    from portfolio.ledger import replay

    fills = [
        (symbol, (side, D(quantity), D(100 + index), D("0.5")))
        for index, (symbol, side, quantity) in enumerate(moves)
    ]

    trips = round_trips(fills)

    for symbol in ("AAA", "BBB"):
        own = [fill for key, fill in fills if key == symbol]
        final = replay(own)
        if final.is_flat:
            assert sum((t.pnl for t in trips if t.key == symbol), D(0)) == final.realized_pnl


# --- curve ranges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1D", "1D"),
        ("1w", "1W"),
        (" 3m ", "3M"),
        ("All", "ALL"),
        ("all", "ALL"),
        ("2D", None),
        ("", None),
        (None, None),
    ],
)
def test_range_names(text, expected):
    assert analytics.parse_range(text) == expected


def test_a_window_ends_now_and_never_starts_before_the_account_opened():
    now = at(60 * 24 * 400)
    opened = now - timedelta(days=3)

    week = analytics.curve_window("1W", now=now, opened_at=opened)
    day = analytics.curve_window("1D", now=now, opened_at=opened)

    assert (week.start, week.end, week.bucket) == (opened, now, timedelta(minutes=10))
    assert (day.start, day.bucket) == (now - timedelta(days=1), timedelta(minutes=1))


@pytest.mark.parametrize("age", [timedelta(minutes=5), timedelta(days=2), timedelta(days=900)])
def test_all_picks_a_bucket_of_whole_minutes_bounding_the_points(age):
    now = at(0)

    window = analytics.curve_window("ALL", now=now, opened_at=now - age)

    assert window.bucket.total_seconds() % 60 == 0
    assert window.bucket >= timedelta(minutes=1)
    assert age / window.bucket <= analytics.MAX_CURVE_POINTS


def test_every_fixed_range_has_at_most_the_point_budget_plus_a_few():
    for spec in analytics.RANGES.values():
        if spec.window is not None:
            assert spec.window / spec.bucket <= 2 * analytics.MAX_CURVE_POINTS, spec.name


def test_joined_points_have_strictly_increasing_times_the_later_one_winning():
    first = EquityPoint(at(0), D(100))

    points = analytics.join_points(
        first,
        [EquityPoint(at(0), D(101)), EquityPoint(at(5), D(102)), EquityPoint(at(5), D(103))],
        EquityPoint(at(5), D(104)),
    )

    assert points == [first, EquityPoint(at(5), D(104))]


# --- the metrics' grid -----------------------------------------------------------------------------------


def test_the_grid_ends_now_in_whole_steps_after_the_opening():
    times = analytics.grid_times(start=at(0), end=at(150), step=timedelta(hours=1))

    assert times == [at(0), at(30), at(90), at(150)]
    assert analytics.grid_times(start=at(0), end=at(0), step=timedelta(hours=1)) == [at(0)]


def test_values_on_the_grid_are_the_last_known_equity():
    points = [EquityPoint(at(0), D(100)), EquityPoint(at(40), D(90)), EquityPoint(at(90), D(120))]

    values = analytics.value_at(points, [at(0), at(30), at(90), at(150)])

    assert values == [100.0, 100.0, 120.0, 120.0]


def test_exposure_marks_periods_with_a_position_open_or_a_fill():
    changes = [(at(10), True), (at(20), False), (at(100), True)]

    flags = analytics.exposure_flags([at(0), at(30), at(60), at(90), at(120)], changes)

    assert flags == [False, True, False, False, True]


def test_account_metrics_are_portfolio_metrics_and_wait_30_days_to_annualise():
    times = [at(60 * k) for k in range(5)]
    equity = [100.0, 101.0, 99.0, 103.0, 104.0]
    trips = [RoundTrip("AAA", D(5), D(100)), RoundTrip("AAA", D(-2), D(100))]

    young = analytics.account_metrics(
        times=times, equity=equity, trips=trips, in_market=[True] * 5, period=analytics.HOURLY
    )

    expected = compute_metrics(
        equity=equity,
        times=times,
        trade_pnls=[5.0, -2.0],
        trade_returns=[0.05, -0.02],
        in_market=[True] * 5,
        periods_per_year=8760.0,
    )
    assert young.max_drawdown == expected.max_drawdown
    assert (young.win_rate, young.profit_factor, young.trades) == (0.5, 2.5, 2)
    assert (young.annualized_return, young.calmar) == (None, None)
    assert expected.annualized_return is not None
    # four returns: no volatility, Sharpe or Sortino yet
    assert (young.volatility, young.sharpe, young.sortino) == (None, None, None)
    assert expected.sharpe is not None

    months = [T0 + timedelta(days=10 * k) for k in range(5)]
    grown = analytics.account_metrics(
        times=months, equity=equity, trips=trips, in_market=[True] * 5, period=analytics.DAILY
    )
    assert grown.annualized_return == pytest.approx((104 / 100) ** (365 / 4) - 1)


def test_live_ratios_appear_after_enough_returns_and_annualising_after_30_days():
    times = [at(60 * k) for k in range(analytics.MIN_RATIO_PERIODS + 1)]
    equity = [100.0 + (k % 3) for k in range(len(times))]
    expected = compute_metrics(equity=equity, times=times, periods_per_year=8760.0)

    hourly = analytics.account_metrics(
        times=times, equity=equity, trips=[], in_market=[True] * len(times), period=analytics.HOURLY
    )
    month = analytics.reliable(expected, span=analytics.MIN_ANNUALIZED_SPAN)

    assert (hourly.sharpe, hourly.sortino, hourly.volatility) == (
        expected.sharpe,
        expected.sortino,
        expected.volatility,
    )
    assert hourly.annualized_return is None  # 30 hours of history
    assert month == expected


def test_the_metrics_period_is_hourly_for_two_weeks_then_daily():
    assert analytics.metrics_period(opened_at=at(0), now=at(60 * 24 * 13)) is analytics.HOURLY
    assert analytics.metrics_period(opened_at=at(0), now=at(60 * 24 * 14)) is analytics.DAILY


# --- allocation ------------------------------------------------------------------------------------------


def test_allocation_by_symbol_and_asset_class_adds_up_to_100_with_shorts_negative():
    holdings = [
        Holding("AAPL", "stock", D("2300.50")),
        Holding("TSLA", "stock", D("-1200.25")),
        Holding("BTC/USD", "crypto", D("5000")),
    ]
    cash = D("9899.75")  # includes the short's proceeds
    equity = cash + D("2300.50") - D("1200.25") + D(5000)

    result = analytics.allocation(holdings, cash=cash, equity=equity)

    assert [row.key for row in result.by_symbol] == ["BTC/USD", "AAPL", "TSLA", "cash"]
    assert [row.side for row in result.by_symbol] == ["long", "long", "short", "cash"]
    assert result.by_symbol[2].value == D("-1200.25")
    assert result.by_symbol[2].pct < 0
    for rows in (result.by_symbol, result.by_asset_class):
        assert math.isclose(sum(row.pct for row in rows), 100, abs_tol=1e-20)
    stocks = result.by_asset_class[1]
    assert (stocks.key, stocks.label, stocks.side) == ("stock", "Stocks", "mixed")
    assert (stocks.long_value, stocks.short_value, stocks.value) == (
        D("2300.50"),
        D("-1200.25"),
        D("1100.25"),
    )
    assert result.gross_exposure_pct == D("8500.75") * 100 / equity
    assert result.net_exposure_pct == D("6100.25") * 100 / equity


def test_allocation_without_positive_equity_has_no_percentages():
    result = analytics.allocation([Holding("AAPL", "stock", D(10))], cash=D(-10), equity=D(0))

    assert [row.pct for row in result.by_symbol] == [None, None]


# --- realised P&L ---------------------------------------------------------------------------------------


def record(symbol, side, realized, *, deployment=None, commission="0.10", when=0):
    return FillRecord(
        symbol=symbol,
        asset_class="stock",
        side=side,
        quantity=D(1),
        price=D(10),
        commission=D(commission),
        realized_pnl=D(realized),
        executed_at=at(when),
        deployment_id=deployment,
    )


def test_realised_pnl_by_symbol_and_by_strategy_is_exact_and_best_first():
    fills = [
        record("AAA", "buy", "-0.1", deployment="d1"),
        record("AAA", "sell", "1.234567891", deployment="d1"),
        record("BBB", "buy", "-0.1"),
        record("BBB", "sell", "-0.3000000001"),
        record("AAA", "buy", "-0.1", deployment="gone"),
    ]
    trips = [RoundTrip("AAA", D("1.134567891"), D(10)), RoundTrip("BBB", D("-0.4000000001"), D(10))]

    by_symbol = analytics.realized_by_symbol(fills, trips)
    by_strategy = analytics.realized_by_strategy(fills, {"d1": "Crossover"})

    assert [(r.key, r.realized_pnl, r.fills, r.trades, r.wins) for r in by_symbol] == [
        ("AAA", D("1.034567891"), 3, 1, 1),
        ("BBB", D("-0.4000000001"), 2, 1, 0),
    ]
    assert by_symbol[0].commission == D("0.30")
    assert [(r.label, r.realized_pnl, r.fills, r.symbols) for r in by_strategy] == [
        ("Crossover", D("1.134567891"), 2, ["AAA"]),
        ("Deleted strategy", D("-0.1"), 1, ["AAA"]),
        ("Manual", D("-0.4000000001"), 2, ["BBB"]),
    ]
    total = sum((r.realized_pnl for r in by_symbol), D(0))
    assert total == sum((r.realized_pnl for r in by_strategy), D(0)) == D("0.6345678909")


def test_realised_today_counts_the_fills_from_the_day_start():
    fills = [
        record("AAA", "sell", "5", when=-1),
        record("AAA", "sell", "2", when=0),
        record("AAA", "sell", "1", when=9),
    ]

    assert analytics.realized_since(fills, at(0)) == D(3)
