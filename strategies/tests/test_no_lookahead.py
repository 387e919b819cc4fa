"""A strategy never sees data beyond the current bar: changing the future changes nothing it saw."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from backtests.engine import BacktestConfig, StrategyError, run_backtest
from orders.matching import BpsCommission, ExecutionConfig
from strategies.builtins import MovingAverageCrossover
from strategies.sdk import BarSeries, Context, Strategy
from strategies.tests.factories import random_walk

CUT = 250


def observe(ctx: Context) -> tuple[Any, ...]:
    """Everything the strategy can read on this bar, as plain values."""
    history = ctx.history(length=30)
    values = [
        ctx.sma(5).value,
        ctx.ema(8).value,
        ctx.rsi(6).value,
        ctx.atr(5).value,
        *(line.value for line in (ctx.macd(3, 8, 4).macd, ctx.macd(3, 8, 4).signal)),
        *(band.value for band in (ctx.bollinger(10).upper, ctx.bollinger(10).lower)),
        *(band.value for band in (ctx.donchian(10).upper, ctx.donchian(10).lower)),
        ctx.sma(5).crossing(ctx.sma(12))(),
    ]
    return (
        ctx.time,
        ctx.bar(),
        tuple(history.close.tolist()),
        tuple(history.high.tolist()),
        tuple(0.0 if math.isnan(value) else value for value in values),
        ctx.position(),
        ctx.cash,
        ctx.equity,
        tuple(ctx.open_orders()),
    )


class Recorder(MovingAverageCrossover):
    def on_start(self, ctx: Context) -> None:
        super().on_start(ctx)
        self.seen: list[tuple[Any, ...]] = []
        self.fills: list[Any] = []

    def on_bar(self, ctx: Context) -> None:
        self.seen.append(observe(ctx))
        super().on_bar(ctx)

    def on_fill(self, ctx: Context, fill: Any) -> None:
        self.fills.append((fill, observe(ctx)))


def future_changed(bars: BarSeries, seed: int) -> BarSeries:
    """The same bars up to CUT, then a different random walk (still valid bars on the tick grid)."""
    other = random_walk(len(bars), seed=seed, start_price=float(bars.close[CUT]) * 1.5)
    columns = {}
    for name in ("open", "high", "low", "close", "volume"):
        column = getattr(bars, name).copy()
        column[CUT + 1 :] = getattr(other, name)[CUT + 1 :]
        columns[name] = column
    return BarSeries(bars.instrument, bars.timeframe, bars.open_time, **columns)


def run(bars: BarSeries) -> Recorder:
    strategy = Recorder(fast=3, slow=7, allow_short=True, allocation_percent=50.0)
    config = BacktestConfig(
        initial_cash=Decimal(50_000), execution=ExecutionConfig(commission=BpsCommission(Decimal(5)))
    )
    run_backtest(strategy, bars, config)
    return strategy


@pytest.mark.parametrize("seed", [11, 12])
def test_changing_the_future_changes_nothing_seen_before_it(seed: int) -> None:
    bars = random_walk(500, seed=2)
    changed = future_changed(bars, seed)
    assert not np.array_equal(bars.close, changed.close)

    original, altered = run(bars), run(changed)

    assert original.seen[: CUT + 1] == altered.seen[: CUT + 1]
    assert original.seen[CUT + 1 :] != altered.seen[CUT + 1 :]
    early = [fill for fill, _ in original.fills if fill.ts <= original.seen[CUT][0]]
    assert early == [fill for fill, _ in altered.fills if fill.ts <= original.seen[CUT][0]]
    assert len(early) > 4  # the strategy did trade before the cut


def test_the_same_as_running_on_the_truncated_data() -> None:
    bars = random_walk(500, seed=2)

    whole, prefix = run(bars), run(bars.slice(0, CUT + 1))

    assert whole.seen[: CUT + 1] == prefix.seen


def test_a_fill_is_seen_before_the_bar_it_happened_on() -> None:
    strategy = run(random_walk(300, seed=2))

    for fill, seen in strategy.fills:
        # the fill is at the open of a bar the strategy has not seen closing yet
        assert seen[1].open_time < fill.ts


class Peeker(Strategy):
    def on_bar(self, ctx: Context) -> None:
        closes = ctx.price_series()
        closes[len(closes)]  # one bar ahead


def test_reading_ahead_stops_the_run_with_a_clear_message() -> None:
    with pytest.raises(
        StrategyError, match=r"Peeker raised IndexError: .*no look-ahead.* on the bar of 2024-01-02"
    ) as raised:
        run_backtest(Peeker(), random_walk(20), BacktestConfig())

    assert isinstance(raised.value.__cause__, IndexError)
