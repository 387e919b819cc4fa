"""The engine: next-bar-open fills through orders.matching, the paper broker's checks, the ledger, results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from backtests.engine import (
    BacktestCancelled,
    BacktestConfig,
    BacktestError,
    StrategyError,
    run_backtest,
)
from marketdata.domain import Timeframe
from orders.matching import BpsCommission, ExecutionConfig, PerShare, TickSlippage
from orders.risk import RiskLimits
from orders.states import OrderClass, OrderStatus, Reason, Side, replay
from strategies.builtins import MovingAverageCrossover
from strategies.sdk import Context, Strategy, datetime_of
from strategies.tests.factories import goog, instrument, random_walk, series

Action = Callable[[Context], Any]


class Script(Strategy):
    """Runs ``actions[bar]`` on that bar; records fills and what the actions returned."""

    def __init__(self, actions: dict[int, Action]) -> None:
        super().__init__()
        self.actions = actions
        self.returned: dict[int, Any] = {}
        self.fills: list[Any] = []

    def on_bar(self, ctx: Context) -> None:
        bar = ctx.bar_count() - 1
        if bar in self.actions:
            self.returned[bar] = self.actions[bar](ctx)

    def on_fill(self, ctx: Context, fill: Any) -> None:
        self.fills.append(fill)


# bars: open, high, low, close
BARS = series(
    [100.00, 101.00, 103.00, 99.00, 98.00, 104.00, 104.00, 104.00],
    [101.00, 103.50, 104.00, 100.00, 99.00, 105.00, 104.50, 104.50],
    [99.50, 100.50, 102.00, 97.00, 96.00, 103.00, 103.50, 103.50],
    [100.50, 103.00, 103.00, 98.00, 98.50, 104.00, 104.00, 104.00],
)
CASH = BacktestConfig(initial_cash=Decimal(10_000), risk_limits=RiskLimits(allow_short=True))


def at(bar: int) -> Any:
    return datetime_of(int(BARS.open_time[bar]))


def test_a_market_order_fills_at_the_next_bar_open() -> None:
    script = Script({0: lambda ctx: ctx.buy(10)})

    result = run_backtest(script, BARS, CASH)

    (fill,) = result.fills
    assert (fill.side, fill.quantity, fill.price, fill.ts, fill.sequence) == (
        Side.BUY,
        10,
        Decimal("101.00"),
        at(1),
        1,
    )
    (order,) = result.orders
    assert order.statuses == (OrderStatus.ACCEPTED, OrderStatus.FILLED)
    assert replay(order.statuses) == OrderStatus.FILLED
    assert (order.created_at, order.submitted_at) == (at(0), at(1))
    assert result.final_cash == Decimal(10_000) - Decimal("1010.00")
    assert result.final_equity == result.final_cash + 10 * Decimal("104.00")
    assert script.fills == [fill]


def test_slippage_and_commission_come_from_the_matching_models() -> None:
    config = BacktestConfig(
        initial_cash=Decimal(10_000),
        execution=ExecutionConfig(
            slippage=TickSlippage(Decimal(2)), commission=PerShare(Decimal("0.01"), minimum=Decimal(1))
        ),
    )

    result = run_backtest(Script({0: lambda ctx: ctx.buy(10)}), BARS, config)

    (fill,) = result.fills
    assert (fill.price, fill.commission) == (Decimal("101.02"), Decimal("1.0000"))
    assert result.final_cash == Decimal(10_000) - Decimal("1010.20") - 1


def test_a_limit_order_rests_until_the_range_reaches_it() -> None:
    result = run_backtest(Script({0: lambda ctx: ctx.buy(5, limit_price=97.5)}), BARS, CASH)

    (fill,) = result.fills
    assert (fill.price, fill.ts) == (Decimal("97.50"), at(3))  # bar 3's low 97 reaches 97.50


def test_a_stop_triggers_inside_the_bar_at_its_price_or_at_a_gapping_open() -> None:
    script = Script(
        {0: lambda ctx: ctx.buy(5, stop_price=103.25), 3: lambda ctx: ctx.buy(5, stop_price=100.00)}
    )

    result = run_backtest(script, BARS, CASH)

    first, second = result.fills
    assert (first.price, first.ts) == (Decimal("103.25"), at(1))  # high 103.50 reaches it
    assert (second.price, second.ts) == (Decimal("104.00"), at(5))  # opens above the stop: fills at the open


def test_bracket_legs_work_from_the_bar_after_the_entry_and_one_cancels_the_other() -> None:
    script = Script({0: lambda ctx: ctx.buy(10, take_profit=103.75, stop_loss=96.5)})

    result = run_backtest(script, BARS, CASH)

    entry, take_profit, stop_loss = (
        next(order for order in result.orders if order.role == role)
        for role in ("entry", "take_profit", "stop_loss")
    )
    assert entry.order_class == OrderClass.BRACKET
    assert [(fill.order_id, fill.price, fill.ts) for fill in result.fills] == [
        (entry.order_id, Decimal("101.00"), at(1)),
        (take_profit.order_id, Decimal("103.75"), at(2)),  # bar 1's high 103.50 did not reach it
    ]
    assert stop_loss.status == OrderStatus.CANCELED
    assert stop_loss.reason == Reason.OCO_SIBLING_FILLED
    assert stop_loss.statuses == (OrderStatus.HELD, OrderStatus.ACCEPTED, OrderStatus.CANCELED)
    assert take_profit.parent_id == entry.order_id
    assert (len(result.trades), result.trades[0].pnl) == (1, Decimal("27.50"))


def test_when_both_legs_could_fill_on_one_bar_the_stop_loss_goes_first() -> None:
    wide = series([100, 100, 100], [100, 100, 110], [100, 100, 90], [100, 100, 100])
    script = Script({0: lambda ctx: ctx.buy(1, take_profit=105, stop_loss=95)})

    result = run_backtest(script, wide, CASH)

    exits = [order for order in result.orders if order.status == OrderStatus.FILLED and order.role != "entry"]
    assert [order.role for order in exits] == ["stop_loss"]


def test_an_oco_exit_and_a_user_cancel() -> None:
    script = Script(
        {
            0: lambda ctx: ctx.buy(10),
            1: lambda ctx: ctx.exit_oco(take_profit=110, stop_loss=96.5),
            2: lambda ctx: ctx.buy(1, limit_price=50),
            3: lambda ctx: ctx.cancel(ctx.open_orders()[-1].order_id),
        }
    )

    result = run_backtest(script, BARS, CASH)

    by_role = {order.role: order for order in result.orders if order.role}
    assert by_role["stop_loss"].status == OrderStatus.FILLED  # bar 3 low 97 > 96.5; bar 4 low 96 reaches it
    assert by_role["oco"].status == OrderStatus.CANCELED
    assert by_role["oco"].reason == Reason.OCO_SIBLING_FILLED
    cheap = [order for order in result.orders if order.limit_price == Decimal(50)]
    assert cheap[0].status == OrderStatus.CANCELED
    assert cheap[0].reason == Reason.USER_CANCELED
    assert script.returned[3] is True
    assert result.positions == {}


def test_close_flattens_whatever_the_position_is_when_it_reaches_the_market() -> None:
    script = Script({0: lambda ctx: ctx.sell(7), 1: lambda ctx: ctx.close(), 2: lambda ctx: ctx.close()})

    result = run_backtest(script, BARS, CASH)

    assert [(fill.side, fill.quantity) for fill in result.fills] == [(Side.SELL, 7), (Side.BUY, 7)]
    assert script.returned[2] is None  # already flat: no order
    (trade,) = result.trades
    assert (trade.direction, trade.quantity, trade.pnl) == (
        "short",
        Decimal(7),
        7 * (Decimal("101") - Decimal("103")),
    )


def test_risk_rejections_use_the_paper_brokers_codes() -> None:
    long_only = BacktestConfig(initial_cash=Decimal(1_000))
    script = Script(
        {0: lambda ctx: ctx.buy(100), 1: lambda ctx: ctx.sell(1), 2: lambda ctx: ctx.buy(Decimal("2.5"))}
    )

    result = run_backtest(script, BARS, long_only)

    too_big, short, fractional = result.orders
    assert (too_big.status, too_big.reason) == (OrderStatus.REJECTED, "insufficient_buying_power")
    assert "Buying power is 1,000.00 USD" in too_big.message
    assert short.reason == "short_selling_not_allowed"
    assert fractional.reason == "off_lot_size"
    assert result.fills == ()


def test_equity_percent_orders_are_sized_at_the_market_with_commission() -> None:
    config = BacktestConfig(
        initial_cash=Decimal(10_000), execution=ExecutionConfig(commission=BpsCommission(Decimal(20)))
    )

    result = run_backtest(
        Script({0: lambda ctx: ctx.buy(equity_percent=100), 1: lambda ctx: ctx.buy(equity_percent=1)}),
        BARS,
        config,
    )

    all_in, tiny = result.orders
    assert all_in.quantity == 98  # 98 * 101.00 * 1.002 = 9918.80 <= 10 000 < 99 * 101.00 * 1.002
    assert tiny.status == OrderStatus.REJECTED
    assert tiny.reason == "below_min_quantity"


def test_day_orders_expire_at_the_session_close() -> None:
    minute = series([100.0] * 4, timeframe=series([1]).timeframe.parse("1h"))
    script = Script({0: lambda ctx: ctx.buy(1, limit_price=90, time_in_force="day")})

    result = run_backtest(
        script, minute, BacktestConfig(session_close=lambda opened: opened + timedelta(hours=2))
    )

    (order,) = result.orders
    assert (order.status, order.reason) == (OrderStatus.EXPIRED, Reason.DAY_SESSION_CLOSED)


def test_several_symbols_share_one_cash_account() -> None:
    first = series([10.0, 10.0, 11.0], symbol="A")
    second = series([20.0, 20.0, 20.0, 21.0], symbol="B")
    script = Script({0: lambda ctx: (ctx.buy(600, symbol="A"), ctx.buy(300, symbol="B"))})

    result = run_backtest(script, [first, second], BacktestConfig(initial_cash=Decimal(10_000)))

    a_order, b_order = result.orders
    assert a_order.status == OrderStatus.FILLED
    assert (b_order.status, b_order.reason) == (OrderStatus.REJECTED, "insufficient_buying_power")
    assert result.equity.equity[-1] == pytest.approx(10_000 - 6_000 + 600 * 11.0)
    assert len(result.equity.time) == 4


def test_results_curves_and_trades_add_up() -> None:
    config = BacktestConfig(
        initial_cash=Decimal(100_000),
        execution=ExecutionConfig(commission=BpsCommission(Decimal(10))),
        risk_limits=RiskLimits(allow_short=True),
    )

    result = run_backtest(MovingAverageCrossover(fast=10, slow=20, allow_short=True), goog(), config)

    last = Decimal(f"{goog().close[-1]:.2f}")
    held = sum((position.quantity * last for position in result.positions.values()), Decimal(0))
    assert result.final_equity == result.final_cash + held
    assert float(result.final_equity) == pytest.approx(result.equity.equity[-1], abs=1e-6)
    # every fill's cash went through the ledger: cash = initial + the fills' cash flows, exactly
    flows = sum(
        (
            (-1 if fill.side == Side.BUY else 1) * fill.quantity * fill.price - fill.commission
            for fill in result.fills
        ),
        Decimal(0),
    )
    assert result.final_cash == config.initial_cash + flows
    # trades account for all of it: closed trades' P&L + the open trade's (realised + unrealised)
    # equals the gain, up to the ledger's 1e-10 rounding of average costs
    traded = sum((trade.pnl for trade in (*result.trades, *result.open_trades)), Decimal(0))
    assert abs(traded - (result.final_equity - config.initial_cash)) < Decimal("1e-6")
    assert np.all(result.equity.drawdown <= 0)
    assert result.equity.drawdown.min() == pytest.approx(-result.metrics.max_drawdown)
    assert 0 < result.metrics.exposure_time <= 1
    assert result.metrics.trades == len(result.trades)
    assert all(trade.exit_time > trade.entry_time for trade in result.trades)
    assert all(trade.duration == trade.exit_time - trade.entry_time for trade in result.trades)


def test_the_run_records_its_inputs_and_is_reproducible() -> None:
    config = BacktestConfig(initial_cash=Decimal(50_000), code_version="abc123")
    data = random_walk(800, seed=9)

    first = run_backtest(MovingAverageCrossover(fast=5, slow=12), data, config)
    second = run_backtest(MovingAverageCrossover(fast=5, slow=12), data, config)
    other = run_backtest(MovingAverageCrossover(fast=5, slow=12), random_walk(800, seed=10), config)

    assert first.fingerprint() == second.fingerprint()
    assert first.orders == second.orders
    assert first.data_hash == second.data_hash != other.data_hash
    assert first.code_version == "abc123"
    assert first.parameters == {
        "fast": 5,
        "slow": 12,
        "average": "sma",
        "allow_short": False,
        "allocation_percent": 100.0,
    }
    assert first.strategy == "strategies.builtins.moving_average_crossover:MovingAverageCrossover"
    (span,) = first.data_ranges
    assert (span.symbol, span.first, span.bars) == ("TEST", datetime_of(int(data.open_time[0])), 800)
    assert first.config["initial_cash"] == "50000"


def test_warm_up_bars_before_start_are_history_only() -> None:
    data = random_walk(300, seed=4)
    start = datetime_of(int(data.open_time[100]))

    result = run_backtest(MovingAverageCrossover(fast=5, slow=20), data, BacktestConfig(start=start))

    assert result.bars == 200
    assert result.equity.time[0] == data.open_time[100]
    assert all(fill.ts > start for fill in result.fills)
    assert result.data_ranges[0].first == datetime_of(int(data.open_time[0]))


class Exploding(Strategy):
    def on_bar(self, ctx: Context) -> None:
        if ctx.bar_count() == 3:
            raise ZeroDivisionError("boom")


def test_a_strategy_that_raises_stops_the_run_with_where_and_why() -> None:
    with pytest.raises(StrategyError) as raised:
        run_backtest(Exploding(), BARS, CASH)

    assert raised.value.code == "strategy_error"
    assert raised.value.bar_time == at(2)
    assert "Exploding raised ZeroDivisionError: boom on the bar of 2024-01-04" in raised.value.message


@pytest.mark.parametrize(
    ("data", "config", "code", "words"),
    [
        (series([]), CASH, "no_data", "has no 1d bars"),
        (
            BARS,
            BacktestConfig(end=datetime_of(int(BARS.open_time[0])) - timedelta(days=5)),
            "no_data",
            "no 1d bars between",
        ),
        (BARS, BacktestConfig(start=at(7) + timedelta(days=3)), "no_data", "no 1d bars between"),
        (series([10.005, 10.0]), CASH, "invalid_data", "not multiples of the tick size"),
        ([], CASH, "no_data", "at least one symbol"),
        (
            [BARS, series([1.0], symbol="B", timeframe=series([1]).timeframe.parse("1h"))],
            CASH,
            "invalid_data",
            "one timeframe",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(data: Any, config: BacktestConfig, code: str, words: str) -> None:
    with pytest.raises(BacktestError) as raised:
        run_backtest(Strategy(), data, config)

    assert raised.value.code == code
    assert words in raised.value.message


def test_a_run_can_be_cancelled_and_reports_progress() -> None:
    seen: list[float] = []
    data = random_walk(100_000, seed=1, timeframe=Timeframe.M1)

    with pytest.raises(BacktestCancelled):
        run_backtest(Strategy(), data, CASH, progress=seen.append, should_stop=lambda: len(seen) >= 2)

    assert seen == sorted(seen)
    assert 0 <= seen[0] < seen[1] < 1


def test_config_is_checked() -> None:
    with pytest.raises(BacktestError):
        BacktestConfig(initial_cash=Decimal(0))
    with pytest.raises(BacktestError):
        BacktestConfig(start=at(3), end=at(1))


def test_instrument_facts_are_used() -> None:
    lots = series([100.0, 100.0, 100.0], spec=instrument(lot_size="10", shortable=False))
    script = Script({0: lambda ctx: ctx.buy(equity_percent=50), 1: lambda ctx: ctx.sell(100)})

    result = run_backtest(
        script, lots, BacktestConfig(initial_cash=Decimal(10_000), risk_limits=RiskLimits(allow_short=True))
    )

    buy, short = result.orders
    assert buy.quantity == 50  # on the lot grid
    assert short.reason == "insufficient_quantity"  # holds 50, cannot short the rest: not shortable
