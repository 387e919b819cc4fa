"""The analytics read paths against the database: the equity curve of each range (the opening equity,
the last snapshot of each bucket, the live valuation), day P&L, allocation, the account's metrics
(portfolio.metrics on its hourly equity and round trips) and realised P&L by symbol and by strategy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import TradingAccount
from orders import services as order_services
from orders.tests.factories import request
from portfolio import analytics, selectors
from portfolio.metrics import compute_metrics
from portfolio.models import EquitySnapshot
from portfolio.services import take_equity_snapshot
from tradeapp.core import clock
from tradeapp.core.errors import DomainError

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 3, 20, 15, 30, tzinfo=UTC)


def opened(account: TradingAccount, at: datetime) -> TradingAccount:
    TradingAccount.objects.filter(pk=account.pk).update(created_at=at)
    account.refresh_from_db()
    return account


def snap(account: TradingAccount, at: datetime, equity: str, reason: str = "fill") -> EquitySnapshot:
    return EquitySnapshot.objects.create(
        account=account, taken_at=at, cash=D(equity), positions_value=D(0), equity=D(equity), reason=reason
    )


def points(curve) -> list[tuple[datetime, Decimal]]:
    return [(p.time, p.equity) for p in curve.points]


# --- the equity curve ---------------------------------------------------------------------------------


def test_the_1d_curve_opens_at_the_equity_24h_ago_keeps_each_minutes_last_snapshot_and_ends_live(account):
    account = opened(account, NOW - timedelta(days=10))
    start = NOW - timedelta(days=1)
    snap(account, start - timedelta(hours=2), "100500")  # before the range: its opening equity
    snap(account, start + timedelta(minutes=5, seconds=10), "100700")
    snap(account, start + timedelta(minutes=5, seconds=50), "100800")  # same minute: this one stays
    snap(account, start + timedelta(minutes=7), "100600")  # exactly on a bucket's end: in that bucket
    snap(account, start + timedelta(minutes=7, seconds=1), "100650")  # the next bucket
    snap(account, NOW + timedelta(minutes=1), "1")  # after now: not shown

    with clock.frozen_clock(NOW):
        curve = selectors.equity_curve(account, "1D")

    assert curve.window.bucket == timedelta(minutes=1)
    assert points(curve) == [
        (start, D("100500")),
        (start + timedelta(minutes=5, seconds=50), D("100800")),
        (start + timedelta(minutes=7), D("100600")),
        (start + timedelta(minutes=7, seconds=1), D("100650")),
        (NOW, account.starting_cash),  # the live valuation: cash, no positions
    ]
    assert curve.change == account.starting_cash - D("100500")
    assert curve.change_pct == curve.change * 100 / D("100500")


def test_a_range_longer_than_the_account_opens_at_its_opening_with_the_starting_cash(account):
    account = opened(account, NOW - timedelta(days=3))
    snap(account, NOW - timedelta(days=2), "99000", reason="daily")

    with clock.frozen_clock(NOW):
        year = selectors.equity_curve(account, "1Y")
        every = selectors.equity_curve(account, "ALL")

    assert year.window.start == every.window.start == account.created_at
    assert points(year)[0] == (account.created_at, account.starting_cash)
    assert points(year)[1] == (NOW - timedelta(days=2), D("99000"))
    assert every.window.bucket == timedelta(minutes=6)  # 3 days / 720 points, whole minutes
    assert len(every.points) == 3


def test_snapshots_from_before_a_reset_do_not_count(account):
    account = opened(account, NOW - timedelta(days=30))
    snap(account, NOW - timedelta(days=20), "50000")
    TradingAccount.objects.filter(pk=account.pk).update(reset_at=NOW - timedelta(days=5))
    account.refresh_from_db()

    with clock.frozen_clock(NOW):
        curve = selectors.equity_curve(account, "1M")

    assert points(curve)[0] == (NOW - timedelta(days=5), account.starting_cash)
    assert selectors.equity_at(account, NOW - timedelta(days=1)) == account.starting_cash


def test_the_long_ranges_read_one_row_per_bucket(account):
    account = opened(account, NOW - timedelta(days=400))
    for hour in range(24 * 4):  # four days of hourly snapshots
        snap(account, NOW - timedelta(days=4) + timedelta(hours=hour, minutes=30), str(100_000 + hour))

    with clock.frozen_clock(NOW):
        three_months = selectors.equity_curve(account, "3M")
        year = selectors.equity_curve(account, "1Y")

    assert len(three_months.points) == 2 + 4 * 24 // 3  # opening, one per 3 hours, live
    assert len(year.points) == 2 + 4 * 2
    assert three_months.points[-2].equity == D(100_000 + 95)  # the last one of the last bucket


@pytest.mark.parametrize("text", ["1d", "1W", "all", "3m"])
def test_range_names_are_checked(text):
    assert selectors.check_range(text) in analytics.RANGES


def test_an_unknown_range_names_the_field():
    with pytest.raises(DomainError) as refused:
        selectors.check_range("5Y")

    assert (refused.value.code, refused.value.field) == ("invalid_range", "range")
    assert "1D, 1W, 1M, 3M, 1Y, ALL" in refused.value.message


# --- analytics ----------------------------------------------------------------------------------------


@pytest.fixture
def history(account, btc, eth, quote):
    """Four hours of trading: BTC bought, sold in two parts (a win and a loss), ETH bought by a
    strategy, sold short by hand; snapshots after each fill; marks moved at the end."""
    from marketdata.models import Instrument
    from orders.models import RiskSettings

    account = opened(account, NOW - timedelta(hours=4))
    Instrument.objects.filter(pk=eth.pk).update(shortable=True)
    RiskSettings.objects.create(account=account, allow_short=True)
    crossover = _deployment(account)
    moves = [
        (0, "BTC/USD", "buy", "2", "100.00", None),
        (60, "BTC/USD", "sell", "1", "110.00", None),
        (90, "ETH/USD", "buy", "10", "20.00", crossover.pk),
        (120, "BTC/USD", "sell", "1", "95.00", None),
        (150, "ETH/USD", "sell", "10", "21.50", crossover.pk),
        (180, "ETH/USD", "sell", "4", "21.00", uuid.uuid4()),  # a deployment deleted since
    ]
    for minutes, symbol, side, quantity, price, deployment in moves:
        with clock.frozen_clock(NOW - timedelta(hours=4) + timedelta(minutes=minutes)):
            quote(symbol, bid=price, ask=price)
            order_services.place_order(
                account=account,
                request=request(symbol, side, quantity=quantity, deployment_id=deployment),
            )
            take_equity_snapshot(account=account, reason="fill")
    with clock.frozen_clock(NOW):
        quote("ETH/USD", bid="20.00", ask="20.00")
    return account, crossover


def _deployment(account):
    from strategies.services import deploy

    with clock.frozen_clock(NOW - timedelta(hours=5)):
        return deploy(
            owner=account.owner,
            account=account,
            symbols=["ETH/USD"],
            timeframe="1h",
            strategy="moving_average_crossover",
            name="Crossover",
        )


def test_realised_pnl_by_symbol_and_strategy_is_the_exact_sum_of_the_fills(history):
    account, crossover = history

    with clock.frozen_clock(NOW):
        result = selectors.account_analytics(account)

    by_symbol = {row.key: row for row in result.realized_by_symbol}
    assert by_symbol["BTC/USD"].realized_pnl == D("10.00") - D("5.00")
    assert (by_symbol["BTC/USD"].trades, by_symbol["BTC/USD"].wins, by_symbol["BTC/USD"].fills) == (1, 1, 3)
    assert by_symbol["ETH/USD"].realized_pnl == D("15.00")
    assert (by_symbol["ETH/USD"].trades, by_symbol["ETH/USD"].fills) == (1, 3)  # the short is open
    by_strategy = {row.label: row for row in result.realized_by_strategy}
    assert by_strategy["Crossover"].realized_pnl == D("15.00")
    assert by_strategy["Crossover"].key == str(crossover.pk)
    assert by_strategy["Manual"].realized_pnl == D("5.00")
    assert by_strategy["Deleted strategy"].realized_pnl == D(0)  # opening a short realises nothing
    assert result.realized_pnl == D("20.00") == sum((r.realized_pnl for r in by_strategy.values()), D(0))


def test_allocation_shows_the_short_and_adds_up_to_100(history):
    account, _ = history

    with clock.frozen_clock(NOW):
        result = selectors.account_analytics(account)

    alloc = result.allocation
    assert [(row.key, row.side, row.value) for row in alloc.by_symbol] == [
        ("ETH/USD", "short", D("-80.00")),
        ("cash", "cash", alloc.cash),
    ]
    assert alloc.cash == D(100_000) + D("20.00") + D("84.00")  # realised P&L plus the short's proceeds
    assert alloc.equity == alloc.cash - D("80.00")
    assert sum(row.pct for row in alloc.by_symbol) == pytest.approx(100, abs=1e-18)
    assert [row.key for row in alloc.by_asset_class] == ["crypto", "cash"]


def test_day_pnl_splits_the_change_into_realised_and_the_rest(history):
    account, _ = history

    with clock.frozen_clock(NOW):
        result = selectors.account_analytics(account)

    day = result.day
    assert day.start_equity == account.starting_cash  # the account opened today
    assert day.realized == D("20.00")
    assert day.pnl == D("24.00")  # + the short's 4 x (21.00 - 20.00)
    assert day.unrealized_change == D("4.00")


def test_the_metrics_are_portfolio_metrics_of_the_hourly_equity_and_the_round_trips(history, monkeypatch):
    account, _ = history
    monkeypatch.setattr(analytics, "MIN_RATIO_PERIODS", 2)  # four hours: show the ratios anyway

    with clock.frozen_clock(NOW):
        result = selectors.account_analytics(account)

    start = NOW - timedelta(hours=4)
    # the equity after each fill (every fill was snapshotted), then the live valuation
    expected_equity = [
        float(account.starting_cash),  # 11:30 the opening
        100_020.0,  # 12:30: after the BTC sale at 110 (one BTC still held, marked at 110)
        100_005.0,  # 13:30: after the BTC sale at 95 (flat), ETH held at its cost
        100_020.0,  # 14:30: after the short at 21 (the short at cost)
        100_024.0,  # 15:30: now, the short marked at 20
    ]
    expected = compute_metrics(
        equity=expected_equity,
        times=[start + timedelta(hours=k) for k in range(5)],
        trade_pnls=[5.0, 15.0],
        trade_returns=[5 / 200, 15 / 200],
        in_market=[True, True, True, True, True],
        periods_per_year=8760.0,
    )
    metrics = result.metrics
    assert result.metrics_period is analytics.HOURLY
    assert metrics.start_equity == expected.start_equity
    assert metrics.end_equity == expected.end_equity
    assert metrics.total_return == pytest.approx(expected.total_return)
    assert metrics.sharpe == pytest.approx(expected.sharpe)
    assert metrics.sortino == pytest.approx(expected.sortino)
    assert metrics.max_drawdown == pytest.approx(expected.max_drawdown)
    assert metrics.var_historical == pytest.approx(expected.var_historical)
    assert metrics.var_monte_carlo == pytest.approx(expected.var_monte_carlo)
    assert (metrics.trades, metrics.win_rate, metrics.profit_factor) == (2, 1.0, float("inf"))
    assert metrics.expectancy == pytest.approx(10.0)
    assert metrics.exposure_time == 1.0
    assert metrics.annualized_return is None  # four hours of history


def test_an_account_without_fills_has_empty_analytics(account):
    result = selectors.account_analytics(account)

    assert result.realized_by_symbol == result.realized_by_strategy == []
    assert result.metrics.trades == 0
    assert result.metrics.win_rate is None
    assert [row.key for row in result.allocation.by_symbol] == ["cash"]
    assert result.allocation.by_symbol[0].pct == 100
    assert result.day.pnl == 0
