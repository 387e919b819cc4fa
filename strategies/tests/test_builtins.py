"""The built-in strategies trade as documented, on one symbol or several."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtests.engine import BacktestConfig, run_backtest
from orders.matching import BpsCommission, ExecutionConfig
from orders.risk import RiskLimits
from orders.states import OrderStatus, OrderType, Side
from strategies.builtins import (
    BUILTINS,
    BollingerMeanReversion,
    DonchianBreakout,
    Momentum,
    MovingAverageCrossover,
)
from strategies.sdk import Strategy, datetime_of, size_for_budget, sma
from strategies.tests.factories import from_closes, goog, random_walk

CONFIG = BacktestConfig(
    initial_cash=Decimal(100_000),
    execution=ExecutionConfig(commission=BpsCommission(Decimal(10))),
    risk_limits=RiskLimits(allow_short=True),
)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_each_builtin_trades_goog_with_its_defaults(name: str) -> None:
    result = run_backtest(BUILTINS[name](), goog(), CONFIG)

    assert len(result.trades) >= 5, name
    assert result.final_equity > 0
    rejected = [
        (order.reason, order.message) for order in result.orders if order.status == OrderStatus.REJECTED
    ]
    assert not rejected
    still_open = [
        order for order in result.orders if order.status not in (OrderStatus.FILLED, OrderStatus.CANCELED)
    ]
    # only a protective leg of the position still open at the end may still be working
    assert all(order.role == "stop_loss" and order.symbol in result.positions for order in still_open)


@pytest.mark.parametrize(
    "strategy",
    [
        MovingAverageCrossover(fast=5, slow=15, allow_short=True),
        Momentum(allow_short=True),
        BollingerMeanReversion(allow_short=True, stop_loss_percent=3.0),
        DonchianBreakout(allow_short=True),
    ],
    ids=lambda strategy: type(strategy).__name__,
)
def test_each_builtin_trades_several_symbols_from_one_cash_account(strategy: Strategy) -> None:
    data = [random_walk(1500, seed=seed, symbol=symbol) for seed, symbol in ((1, "AAA"), (2, "BBB"))]

    result = run_backtest(strategy, data, CONFIG)

    traded = {trade.symbol for trade in result.trades}
    assert traded == {"AAA", "BBB"}
    last_close = {series.symbol: Decimal(f"{series.close[-1]:.2f}") for series in data}
    held = sum(
        (position.quantity * last_close[symbol] for symbol, position in result.positions.items()), Decimal(0)
    )
    assert result.final_equity == result.final_cash + held


def test_crossover_enters_on_the_bar_after_the_cross_and_exits_on_the_cross_back() -> None:
    closes = [10.0] * 6 + [12.0, 14.0, 16.0, 18.0] + [8.0, 6.0, 5.0, 5.0]
    bars = from_closes(closes)
    fast, slow = sma(bars.close, 2), sma(bars.close, 4)
    up = next(i for i in range(1, len(closes)) if fast[i - 1] <= slow[i - 1] and fast[i] > slow[i])
    down = next(i for i in range(up + 1, len(closes)) if fast[i - 1] >= slow[i - 1] and fast[i] < slow[i])

    result = run_backtest(MovingAverageCrossover(fast=2, slow=4), bars, CONFIG)

    buy, sell = result.fills
    assert (buy.side, buy.ts, buy.price) == (
        Side.BUY,
        datetime_of(int(bars.open_time[up + 1])),
        Decimal(f"{closes[up]:.2f}"),
    )
    assert (sell.side, sell.ts, sell.quantity) == (
        Side.SELL,
        datetime_of(int(bars.open_time[down + 1])),
        buy.quantity,
    )
    # all-in: the largest quantity whose cost and 10 bps commission fit in the cash
    assert buy.quantity == size_for_budget(
        Decimal(100_000), buy.price, lot_size=Decimal(1), commission=BpsCommission(Decimal(10))
    )


def test_crossover_reverses_with_shorts_allowed() -> None:
    result = run_backtest(MovingAverageCrossover(fast=10, slow=20, allow_short=True), goog(), CONFIG)

    directions = [trade.direction for trade in result.trades]
    assert "short" in directions
    assert "long" in directions


def test_mean_reversion_attaches_a_protective_stop() -> None:
    result = run_backtest(BollingerMeanReversion(stop_loss_percent=2.0), goog(), CONFIG)

    legs = [order for order in result.orders if order.role == "stop_loss"]
    assert legs
    assert all(leg.order_type == OrderType.STOP and leg.parent_id for leg in legs)
    assert {leg.status for leg in legs} <= {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.ACCEPTED}


def test_breakout_sizes_by_volatility() -> None:
    careful = run_backtest(DonchianBreakout(risk_percent=0.5), goog(), CONFIG)
    bolder = run_backtest(DonchianBreakout(risk_percent=2.0), goog(), CONFIG)

    first_careful = next(order for order in careful.orders if order.role == "entry")
    first_bolder = next(order for order in bolder.orders if order.role == "entry")
    assert first_careful.quantity is not None
    assert first_bolder.quantity is not None
    assert first_bolder.quantity > first_careful.quantity
