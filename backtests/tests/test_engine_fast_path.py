"""The engine's shortcuts give exactly what the Decimal path (orders.matching) gives.

- ``market_fill_at_open`` equals ``on_submit`` for every simple market order it is used for;
- ``may_change_on_bar`` never skips a bar on which ``on_market_event`` would change the order;
- a whole run with the shortcut on equals the run with ``on_submit`` everywhere, and the one-symbol
  loop equals the several-symbol loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings, strategies as st

from backtests.engine import BacktestConfig, market_fill_at_open, may_change_on_bar, run_backtest
from marketdata.domain import Bar, Timeframe
from orders.matching import (
    AVERAGE_PRICE_STEP,
    BpsCommission,
    BpsSlippage,
    ExecutionConfig,
    NoCommission,
    NoSlippage,
    PerOrder,
    PerShare,
    TickSlippage,
    WorkingOrder,
    on_market_event,
    on_submit,
    validate_order,
)
from orders.risk import RiskLimits
from orders.states import OrderStatus, OrderType, Side, TimeInForce
from strategies.sdk import BarSeries, Context, Strategy
from strategies.tests.factories import random_walk, series

NOW = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
TICKS = {"0.01": Decimal("0.01"), "0.25": Decimal("0.25"), "1": Decimal(1), "0.00001": Decimal("0.00001")}

configs = st.builds(
    ExecutionConfig,
    slippage=st.one_of(
        st.just(NoSlippage()),
        st.builds(TickSlippage, st.integers(0, 5).map(Decimal)),
        st.builds(BpsSlippage, st.integers(0, 80).map(Decimal)),
    ),
    commission=st.one_of(
        st.just(NoCommission()),
        st.builds(BpsCommission, st.integers(0, 50).map(Decimal)),
        st.builds(
            PerShare,
            st.sampled_from([Decimal("0.005"), Decimal("0.01")]),
            st.sampled_from([Decimal(0), Decimal(1)]),
        ),
        st.builds(PerOrder, st.sampled_from([Decimal(1), Decimal("4.95")])),
    ),
)


def bar_of(open_ticks: int, low_ticks: int, high_ticks: int, tick: Decimal) -> Bar:
    return Bar(
        "X",
        Timeframe.M1,
        NOW,
        open_ticks * tick,
        high_ticks * tick,
        low_ticks * tick,
        open_ticks * tick,
        Decimal(1000),
    )


@settings(max_examples=300, deadline=None)
@given(
    config=configs,
    tick_name=st.sampled_from(sorted(TICKS)),
    side=st.sampled_from(Side),
    lots=st.integers(1, 5000),
    lot=st.sampled_from([Decimal(1), Decimal("0.001"), Decimal(100)]),
    open_ticks=st.integers(1, 10_000_000),
    time_in_force=st.sampled_from(TimeInForce),
)
def test_the_market_fill_shortcut_equals_on_submit(
    config: ExecutionConfig,
    tick_name: str,
    side: Side,
    lots: int,
    lot: Decimal,
    open_ticks: int,
    time_in_force: TimeInForce,
) -> None:
    tick = TICKS[tick_name]
    quantity = lots * lot
    expires = NOW + timedelta(hours=6) if time_in_force == TimeInForce.DAY else None
    order = WorkingOrder(
        order_id="7",
        symbol="X",
        side=side,
        order_type=OrderType.MARKET,
        quantity=quantity,
        time_in_force=time_in_force,
        expires_at=expires,
    )
    bar = bar_of(open_ticks, open_ticks, open_ticks, tick)

    result = on_submit(order, bar, config=config, tick_size=tick, lot_size=lot)
    fill = market_fill_at_open(
        "7", "X", side=side, quantity=quantity, open_price=bar.open, ts=NOW, config=config, tick_size=tick
    )

    assert validate_order(order, tick_size=tick, lot_size=lot, min_quantity=lot) == []
    assert result.fills == (fill,)
    assert result.statuses == (OrderStatus.ACCEPTED, OrderStatus.FILLED)
    assert result.order.filled_quantity == quantity
    assert result.order.average_fill_price == fill.price.quantize(AVERAGE_PRICE_STEP)


resting = st.sampled_from(
    [
        (OrderType.LIMIT, False),
        (OrderType.STOP, False),
        (OrderType.STOP_LIMIT, False),
        (OrderType.STOP_LIMIT, True),
        (OrderType.STOP, True),
        (OrderType.MARKET, False),
        (OrderType.TRAILING_STOP, False),
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    kind=resting,
    side=st.sampled_from(Side),
    level=st.integers(50, 150),
    other=st.integers(0, 40),
    bar=st.tuples(st.integers(40, 160), st.integers(0, 30), st.integers(0, 30)),
    expiring=st.booleans(),
    partial=st.booleans(),
)
def test_a_skipped_bar_never_changes_the_order(
    kind: tuple[OrderType, bool],
    side: Side,
    level: int,
    other: int,
    bar: tuple[int, int, int],
    expiring: bool,
    partial: bool,
) -> None:
    tick = Decimal("0.25")
    order_type, triggered = kind
    buy = side == Side.BUY
    limit = stop = None
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        limit = level * tick
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        stop = (
            (level - other if buy else level + other) * tick
            if order_type == OrderType.STOP_LIMIT
            else level * tick
        )
    order = WorkingOrder(
        order_id="1",
        symbol="X",
        side=side,
        order_type=order_type,
        quantity=Decimal(3),
        time_in_force=TimeInForce.GTC,
        status=OrderStatus.ACCEPTED,
        limit_price=limit,
        stop_price=stop,
        trail_amount=Decimal(1) if order_type == OrderType.TRAILING_STOP else None,
        triggered=triggered,
        expires_at=NOW + timedelta(minutes=1) if expiring else None,
    )
    open_ticks, down, up = bar
    low, high = max(open_ticks - down, 1), open_ticks + up
    config = ExecutionConfig(partial_fills=partial)

    result = on_market_event(
        order, bar_of(open_ticks, low, high, tick), config=config, tick_size=tick, lot_size=Decimal(1)
    )

    if not may_change_on_bar(order, low_ticks=low, high_ticks=high, tick_size=tick, partial_fills=partial):
        assert not result.changed
        assert result.order is order


class Busy(Strategy):
    """Places a seeded mix of every order type, brackets, OCO exits, closes and cancels."""

    def on_start(self, ctx: Context) -> None:
        self.rng = random.Random(5)

    def targets(self, ctx: Context) -> tuple[str, ...]:
        return ctx.symbols

    def on_bar(self, ctx: Context) -> None:
        for symbol in self.targets(ctx):
            if ctx.has_bar(symbol):
                self.act(ctx, symbol, self.rng.random())

    def act(self, ctx: Context, symbol: str, roll: float) -> None:
        rng, price = self.rng, ctx.close_price(symbol)
        choices: list[tuple[float, Callable[[], object]]] = [
            (0.05, lambda: ctx.buy(rng.randint(1, 20), symbol=symbol)),
            (0.10, lambda: ctx.sell(rng.randint(1, 20), symbol=symbol)),
            (0.13, lambda: ctx.buy(equity_percent=rng.choice([10, 30]), symbol=symbol, time_in_force="day")),
            (0.16, lambda: ctx.buy(5, symbol=symbol, limit_price=price * 0.99)),
            (0.19, lambda: ctx.sell(5, symbol=symbol, stop_price=price * 0.98)),
            (0.21, lambda: ctx.buy(4, symbol=symbol, take_profit=price * 1.03, stop_loss=price * 0.97)),
            (0.22, lambda: ctx.sell(3, symbol=symbol, trail_percent=1.5)),
            (0.225, lambda: ctx.buy(2, symbol=symbol, stop_price=price * 1.01, limit_price=price * 1.015)),
            (
                0.23,
                lambda: (
                    ctx.position(symbol) > 0
                    and ctx.exit_oco(take_profit=price * 1.02, stop_loss=price * 0.98, symbol=symbol)
                ),
            ),
            (0.25, lambda: ctx.close(symbol)),
            (0.27, lambda: ctx.open_orders(symbol) and ctx.cancel(ctx.open_orders(symbol)[0].order_id)),
        ]
        for threshold, action in choices:
            if roll < threshold:
                action()
                return


def run(data: Any, *, fast: bool) -> Any:
    config = BacktestConfig(
        initial_cash=Decimal(200_000),
        execution=ExecutionConfig(slippage=TickSlippage(Decimal(1)), commission=BpsCommission(Decimal(5))),
        risk_limits=RiskLimits(allow_short=True),
        fast_market_fills=fast,
    )
    return run_backtest(Busy(), data, config)


def test_a_busy_run_is_the_same_with_and_without_the_shortcut() -> None:
    data = random_walk(2500, seed=8, timeframe=Timeframe.M1)

    quick, plain = run(data, fast=True), run(data, fast=False)

    assert len(quick.fills) > 200
    assert {order.order_type for order in quick.orders} == set(OrderType)
    assert quick.orders == plain.orders
    assert quick.fills == plain.fills
    assert quick.trades == plain.trades
    assert quick.fingerprint() == plain.fingerprint()


class FirstSymbolOnly(Busy):
    def targets(self, ctx: Context) -> tuple[str, ...]:
        return ctx.symbols[:1]


def test_the_one_symbol_loop_equals_the_several_symbol_loop() -> None:
    data = random_walk(1500, seed=6, timeframe=Timeframe.M1)
    idle = series([50.0] * len(data), symbol="IDLE", timeframe=Timeframe.M1)
    config = BacktestConfig(initial_cash=Decimal(200_000), risk_limits=RiskLimits(allow_short=True))

    alone = run_backtest(FirstSymbolOnly(), data, config)
    together = run_backtest(FirstSymbolOnly(), [data, idle], config)

    assert alone.fills == together.fills
    assert alone.orders == together.orders
    assert (alone.equity.equity == together.equity.equity).all()
    assert isinstance(idle, BarSeries)
