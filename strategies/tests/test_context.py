"""The Context a strategy sees: bounded views, the crossover rule, order calls, sizing, signals."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from orders.matching import BpsCommission, CommissionModel, NoCommission
from orders.states import OrderType, Side, TimeInForce
from portfolio.ledger import PositionState
from strategies import sdk
from strategies.tests.factories import from_closes, instrument, random_walk, series


class FakeBroker:
    """Records what the Context sends; holds a settable position and cash."""

    def __init__(self, cash: Decimal = Decimal(10_000), commission: CommissionModel | None = None) -> None:
        self.requests: list[sdk.OrderRequest] = []
        self.canceled: list[str] = []
        self.signals: list[sdk.Signal] = []
        self.lines: list[sdk.LogLine] = []
        self.positions: dict[str, PositionState] = {}
        self.balance = cash
        self.commission = commission or NoCommission()
        self.orders: list[sdk.OrderView] = []

    def submit(self, request: sdk.OrderRequest) -> str:
        self.requests.append(request)
        return str(len(self.requests))

    def cancel(self, order_id: str) -> bool:
        self.canceled.append(order_id)
        return True

    def open_orders(self, symbol: str | None) -> list[sdk.OrderView]:
        return [order for order in self.orders if symbol is None or order.symbol == symbol]

    def get_order(self, order_id: str) -> sdk.OrderView | None:
        return None

    def position(self, symbol: str) -> PositionState:
        return self.positions.get(symbol, PositionState())

    def cash(self) -> Decimal:
        return self.balance

    def equity(self) -> Decimal:
        return self.balance

    def record_signal(self, signal: sdk.Signal) -> None:
        self.signals.append(signal)

    def record_log(self, line: sdk.LogLine) -> None:
        self.lines.append(line)


def context(
    *data: sdk.BarSeries, at: int = 0, broker: FakeBroker | None = None
) -> tuple[sdk.Context, FakeBroker]:
    broker = broker or FakeBroker()
    ctx = sdk.Context(list(data), broker)
    for slot in range(len(data)):
        ctx.cursor[slot] = at
    return ctx, broker


def test_series_never_reads_past_the_current_bar() -> None:
    ctx, _ = context(from_closes([10, 11, 12, 13, 14]), at=2)
    closes = ctx.price_series("close")

    assert (closes[-1], closes[-2], closes[0], closes.value, closes.previous) == (
        12.0,
        11.0,
        10.0,
        12.0,
        11.0,
    )
    assert len(closes) == 3
    assert closes.values.tolist() == [10.0, 11.0, 12.0]
    for index in (3, 4, -4):
        with pytest.raises(IndexError, match="no look-ahead"):
            closes[index]
    with pytest.raises(ValueError, match="read-only"):
        closes.values[0] = 1.0


def test_history_and_frame_end_at_the_current_bar() -> None:
    ctx, _ = context(from_closes([10, 11, 12, 13, 14]), at=3)

    history = ctx.history(length=2)
    frame = ctx.frame()

    assert history.close.tolist() == [12.0, 13.0]
    assert len(ctx.history()) == 4
    assert frame["close"].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert str(frame.index.tz) == "UTC"
    assert ctx.bar().close == 13.0
    assert ctx.bar().index == 3
    assert ctx.price() == Decimal("13.00")


@pytest.mark.parametrize(
    ("fast", "slow", "expected"),
    [
        # was at or below, now strictly above: a tie followed by "above" is a cross, on the bar it happens
        ([1, 2, 3], [2, 2, 2], [0, 0, 1]),
        ([1, 2, 2, 3], [2, 2, 2, 2], [0, 0, 0, 1]),
        # touching from below is no cross above; falling back from the tie is a cross BELOW (the mirror
        # rule: was at or above, now strictly below)
        ([1, 2, 1], [2, 2, 2], [0, 0, -1]),
        # crossing below mirrors it
        ([3, 2, 1], [2, 2, 2], [0, 0, -1]),
        # warm-up NaNs never cross
        ([math.nan, 3, 4], [2, 2, 2], [0, 0, 0]),
    ],
)
def test_the_crossover_rule(fast: list[float], slow: list[float], expected: list[int]) -> None:
    ctx, _ = context(from_closes([10] * len(fast)))
    first = sdk.Series("fast", np.array(fast, dtype=float), ctx.cursor, 0)
    second = sdk.Series("slow", np.array(slow, dtype=float), ctx.cursor, 0)
    crossing = first.crossing(second)

    seen = []
    for bar in range(len(fast)):
        ctx.cursor[0] = bar
        seen.append(first.cross(second))
        assert crossing() == seen[-1]
        assert first.crossed_above(second) == (seen[-1] == 1)
        assert first.crossed_below(second) == (seen[-1] == -1)

    assert seen == expected


def test_crossing_a_level_and_a_series_of_another_symbol() -> None:
    one, two = from_closes([1, 3, 3, 1], symbol="A"), from_closes([2, 2, 2, 2], symbol="B")
    ctx, _ = context(one, two)
    a, b = ctx.price_series(symbol="A"), ctx.price_series(symbol="B")

    seen = []
    for bar in range(4):
        ctx.cursor[0] = ctx.cursor[1] = bar
        seen.append((a.cross(2.0), a.cross(b), a.crossing(b)()))

    assert seen == [(0, 0, 0), (1, 1, 1), (0, 0, 0), (-1, -1, -1)]


def test_indicators_are_cached_and_bounded() -> None:
    ctx, _ = context(random_walk(100), at=49)

    assert ctx.sma(10) is ctx.sma(10)
    assert len(ctx.ema(10)) == 50
    assert ctx.bollinger(20).middle is ctx.bollinger(20, 2.0).middle
    assert len(ctx.macd().histogram.values) == 50
    assert math.isfinite(ctx.rsi().value)
    assert math.isfinite(ctx.atr().value)
    assert ctx.donchian(10).upper.value >= ctx.donchian(10).lower.value


def test_order_calls_build_requests() -> None:
    ctx, broker = context(from_closes([100, 101]), at=1)

    ctx.buy(10)
    ctx.sell(Decimal(5), limit_price=101.005)
    ctx.buy(3, stop_price=101.001, time_in_force="day")
    ctx.buy(1, limit_price=Decimal("99.50"), stop_price=Decimal("99.00"))
    ctx.sell(2, trail_percent=2.5)
    ctx.buy(equity_percent=50, take_profit=110.004, stop_loss=95.006, tag="entry")

    market, limit, stop, stop_limit, trailing, bracket = broker.requests
    assert (market.side, market.order_type, market.quantity) == (Side.BUY, OrderType.MARKET, Decimal(10))
    # floats are rounded onto the tick, never more aggressive than asked
    assert (limit.order_type, limit.limit_price) == (OrderType.LIMIT, Decimal("101.01"))
    assert (stop.order_type, stop.stop_price, stop.time_in_force) == (
        OrderType.STOP,
        Decimal("101.01"),
        TimeInForce.DAY,
    )
    assert stop_limit.order_type == OrderType.STOP_LIMIT
    assert (trailing.order_type, trailing.trail_percent) == (OrderType.TRAILING_STOP, Decimal("2.5"))
    assert bracket.quantity is None
    assert bracket.equity_percent == Decimal(50)
    assert (bracket.take_profit, bracket.stop_loss, bracket.tag) == (
        Decimal("110.01"),
        Decimal("95.00"),
        "entry",
    )


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"quantity": 1, "equity_percent": 10},
        {"quantity": 1.5},
        {"quantity": True},
        {"equity_percent": -5},
        {"quantity": 1, "stop_loss_limit": 90},
        {"quantity": 1, "limit_price": float("inf")},
        {"quantity": 1, "symbol": "OTHER"},
    ],
)
def test_bad_order_calls_raise(arguments: dict[str, Any]) -> None:
    ctx, broker = context(from_closes([100]))

    with pytest.raises(sdk.StrategyProblem):
        ctx.buy(**arguments)

    assert broker.requests == []


def test_close_cancels_open_orders_and_flattens() -> None:
    ctx, broker = context(from_closes([100]))
    broker.orders = [
        sdk.OrderView(
            "7",
            "TEST",
            Side.SELL,
            OrderType.STOP,
            sdk.OrderStatus.ACCEPTED,
            Decimal(5),
            Decimal(0),
            None,
            Decimal(90),
            "stop_loss",
            "",
        )
    ]

    assert ctx.close() is None  # flat: nothing to close
    broker.positions["TEST"] = PositionState(Decimal(-5), Decimal(100))
    order_id = ctx.close()

    assert order_id is not None
    assert broker.canceled == ["7", "7"]
    request = broker.requests[-1]
    assert (request.side, request.close_position, request.quantity) == (Side.BUY, True, None)


def test_oco_exit_protects_the_position() -> None:
    ctx, broker = context(from_closes([100]))
    with pytest.raises(sdk.StrategyProblem):
        ctx.exit_oco(take_profit=110, stop_loss=90)
    broker.positions["TEST"] = PositionState(Decimal(8), Decimal(100))

    ctx.exit_oco(take_profit=110.004, stop_loss=90.006)

    request = broker.requests[-1]
    assert (request.side, request.quantity, request.order_type) == (Side.SELL, Decimal(8), OrderType.LIMIT)
    assert (request.limit_price, request.oco_stop_price) == (Decimal("110.01"), Decimal("90.00"))


def test_sizing_helpers() -> None:
    bars = random_walk(60, seed=5, spec=instrument(lot_size="5"))
    ctx, broker = context(bars, at=59, broker=FakeBroker(cash=Decimal(100_000)))
    price = ctx.price()

    assert ctx.size_fixed(Decimal(12)) == Decimal(10)
    assert ctx.size_percent_of_equity(50) == sdk.floor_to(Decimal(50_000) / price, Decimal(5))
    atr = Decimal(repr(ctx.atr(14).value))
    expected = sdk.floor_to(Decimal(1000) / (atr * 2), Decimal(5))
    assert ctx.size_atr_risk(1.0, atr_multiple=2) == min(expected, ctx.size_percent_of_equity(100))
    assert ctx.size_atr_risk(1.0, max_percent_of_equity=1) <= ctx.size_percent_of_equity(1)
    warm, _ = context(bars, at=5, broker=broker)
    assert warm.size_atr_risk(1.0) == 0  # the ATR is still warming up


@pytest.mark.parametrize(
    ("budget", "price", "bps"), [("10000", "179.13", "20"), ("10000", "100", "0"), ("5", "10", "20")]
)
def test_size_for_budget_is_the_largest_affordable_quantity(budget: str, price: str, bps: str) -> None:
    model = BpsCommission(Decimal(bps))
    money, at = Decimal(budget), Decimal(price)

    quantity = sdk.size_for_budget(money, at, lot_size=Decimal(1), commission=model)

    def cost(units: Decimal) -> Decimal:
        return units * at + model.commission(units, at)

    assert quantity >= 0
    assert quantity == 0 or cost(quantity) <= money
    assert cost(quantity + 1) > money


def test_signals_and_log_are_recorded_with_the_bar_time() -> None:
    bars = from_closes([100, 101])
    ctx, broker = context(bars, at=1)

    emitted = ctx.signal("buy", 0.75, stop_loss=98.005, take_profit=105.001, note="breakout")
    ctx.log("hello")

    assert broker.signals == [emitted]
    assert emitted.ts == sdk.datetime_of(int(bars.open_time[1]))
    assert (emitted.direction, emitted.confidence) == (sdk.Direction.BUY, 0.75)
    assert (emitted.stop_loss, emitted.take_profit) == (Decimal("98.00"), Decimal("105.01"))
    assert broker.lines == [sdk.LogLine(emitted.ts, "hello")]
    with pytest.raises(sdk.StrategyProblem):
        ctx.signal("buy", 1.5)
    with pytest.raises(ValueError, match="maybe"):
        ctx.signal("maybe")


def test_several_symbols_have_their_own_clocks() -> None:
    daily = series([10, 11, 12], symbol="A")
    other = series([20, 21, 22], symbol="B")
    ctx, _ = context(daily, other)
    ctx.cursor[:] = [2, 1]

    assert ctx.has_bar("A")
    assert not ctx.has_bar("B")
    assert ctx.bar_count("B") == 2
    assert ctx.close_price("B") == 21.0
    assert ctx.time == sdk.datetime_of(int(daily.open_time[2]))
    with pytest.raises(sdk.StrategyProblem):
        sdk.Context([daily, series([1], symbol="A")], FakeBroker())


def test_bar_series_problems_are_found() -> None:
    assert series([]).problems() == ["TEST has no bars for 1d in this period"]
    assert (
        "not strictly increasing"
        in sdk.BarSeries(
            instrument(),
            series([1]).timeframe,
            np.array([2, 1]),
            np.ones(2),
            np.ones(2),
            np.ones(2),
            np.ones(2),
            np.ones(2),
        ).problems()[0]
    )
    assert "tick size" in series([10.001, 10.0]).problems()[0]
    assert "outside [low, high]" in series([10.0], [9.0], [8.0], [10.0]).problems()[0]
    assert "not positive" in series([0.0]).problems()[0]
