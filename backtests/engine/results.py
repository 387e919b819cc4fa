"""Building a backtest's results (pure, no Django): round-trip trades booked fill by fill during the
run, then after the loop the order records, the equity curve and the metrics.

Trades: a round trip runs from flat (or a flip) back to flat (or the next flip); prices are
volume-weighted (10 places), the P&L is exact and net of every commission (a flip fill's commission is
split pro rata, to 4 places, between the trade it closes and the one it opens). The equity curve is
float64, from the exact cash and positions after each step's fills, valued at each step's closes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, cast

import numpy as np

from backtests.engine.config import BacktestConfig, data_hash, describe_config
from backtests.engine.records import BacktestResult, DataRange, EquityCurve, OrderRecord, Trade
from backtests.engine.state import SimulatedOrder, SymbolData
from orders.matching import AVERAGE_PRICE_STEP, Fill
from orders.states import OrderClass, Side
from portfolio.ledger import FillEffect, PositionState
from portfolio.metrics import compute_metrics
from strategies.sdk import (
    BarSeries,
    FloatArray,
    IntArray,
    LogLine,
    Signal,
    Strategy,
    datetime_of,
    strategy_path,
)

_ZERO = Decimal(0)
_COMMISSION_STEP = Decimal("0.0001")
_EXACT = Context(prec=100)  # cash sums: exact for any realistic account

FillLogEntry = tuple[int, int, Decimal, Decimal]  # step, slot, quantity after, cash after


class OpenTrade:
    """A round trip still open: what it has bought and sold so far."""

    __slots__ = (
        "commission",
        "direction",
        "entry_bar",
        "entry_ns",
        "entry_quantity",
        "entry_value",
        "exit_quantity",
        "exit_value",
        "largest",
        "pnl",
    )

    def __init__(self, direction: int, entry_ns: int, entry_bar: int) -> None:
        self.direction = direction
        self.entry_ns = entry_ns
        self.entry_bar = entry_bar
        self.entry_quantity = _ZERO
        self.entry_value = _ZERO
        self.exit_quantity = _ZERO
        self.exit_value = _ZERO
        self.largest = _ZERO
        self.pnl = _ZERO
        self.commission = _ZERO


class TradeBook:
    """Round trips per symbol slot, booked fill by fill (:meth:`book`); ``closed`` in closing order.
    ``moment`` turns int64 ns into datetimes (the engine's cache)."""

    def __init__(self, symbols: Sequence[SymbolData], moment: Callable[[int], datetime]) -> None:
        self.symbols = symbols
        self.moment = moment
        self.open: list[OpenTrade | None] = [None] * len(symbols)
        self.closed: list[Trade] = []

    def book(self, slot: int, fill: Fill, effect: FillEffect, *, step: int, step_ns: int) -> None:
        """Take one fill of ``slot`` (``effect``: what ``portfolio.ledger.apply_fill`` made of it)."""
        opened, closed = effect.opened_quantity, effect.closed_quantity
        direction = 1 if fill.side == Side.BUY else -1
        opening_commission = _ZERO
        if opened > 0 and closed > 0:  # a flip: split the commission pro rata, exactly
            opening_commission = (fill.commission * opened / fill.quantity).quantize(
                _COMMISSION_STEP, ROUND_HALF_EVEN
            )
        trade = self.open[slot]
        if closed > 0:
            assert trade is not None
            trade.exit_quantity += closed
            trade.exit_value += closed * fill.price
            trade.pnl = _EXACT.add(trade.pnl, effect.realized_pnl + opening_commission)
            trade.commission += fill.commission - opening_commission
            if effect.position.quantity == 0 or opened > 0:
                self.closed.append(self.closed_record(slot, trade, fill, step))
                self.open[slot] = trade = None
        if opened > 0:
            if trade is None:
                trade = OpenTrade(direction, step_ns, step)
                self.open[slot] = trade
            trade.entry_quantity += opened
            trade.entry_value += opened * fill.price
            paid = fill.commission if closed == 0 else opening_commission
            trade.pnl = _EXACT.add(trade.pnl, -paid)
            trade.commission += paid
            trade.largest = max(trade.largest, abs(effect.position.quantity))

    def closed_record(self, slot: int, trade: OpenTrade, fill: Fill, step: int) -> Trade:
        exit_price = (trade.exit_value / trade.exit_quantity).quantize(AVERAGE_PRICE_STEP, ROUND_HALF_EVEN)
        return self._record(
            slot, trade, exit_price=exit_price, pnl=trade.pnl, exit_time=fill.ts, step=step, is_open=False
        )

    def open_records(
        self, positions: Sequence[PositionState], cursor: Sequence[int], step: int
    ) -> list[Trade]:
        """The trades still open, marked at each symbol's last close seen (``cursor``)."""
        records = []
        for slot, trade in enumerate(self.open):
            last_row = cursor[slot]
            if trade is None or last_row < 0:
                continue
            symbol = self.symbols[slot]
            exit_price = symbol.close(last_row)
            remaining = trade.entry_quantity - trade.exit_quantity
            pnl = _EXACT.add(
                trade.pnl, trade.direction * remaining * (exit_price - positions[slot].average_cost)
            )
            exit_time = datetime_of(int(symbol.series.open_time[last_row]))
            records.append(
                self._record(
                    slot, trade, exit_price=exit_price, pnl=pnl, exit_time=exit_time, step=step, is_open=True
                )
            )
        return records

    def _record(
        self,
        slot: int,
        trade: OpenTrade,
        *,
        exit_price: Decimal,
        pnl: Decimal,
        exit_time: datetime,
        step: int,
        is_open: bool,
    ) -> Trade:
        entry_price = (trade.entry_value / trade.entry_quantity).quantize(AVERAGE_PRICE_STEP, ROUND_HALF_EVEN)
        return Trade(
            self.symbols[slot].symbol,
            "long" if trade.direction > 0 else "short",
            trade.largest,
            self.moment(trade.entry_ns),
            exit_time,
            entry_price,
            exit_price,
            pnl,
            trade.commission,
            float(pnl / trade.entry_value) if trade.entry_value else 0.0,
            trade.entry_bar,
            step,
            is_open,
        )


def order_record(order: SimulatedOrder, symbol: str, moment: Callable[[int], datetime]) -> OrderRecord:
    """``order`` in its final state, for the result."""
    group = order.group
    order_class = OrderClass.SIMPLE if group is None else group.state.order_class
    return OrderRecord(
        order.order_id,
        symbol,
        order.side,
        order.order_type,
        order_class,
        order.role,
        order.parent_id,
        order.quantity,
        order.limit_price,
        order.stop_price,
        order.trail_amount,
        order.trail_percent,
        order.time_in_force,
        order.status,
        order.filled_quantity,
        order.average_fill_price,
        tuple(order.statuses),
        order.reason,
        order.message,
        moment(order.created_ns),
        None if order.submitted_ns is None else moment(order.submitted_ns),
        order.tag,
    )


def equity_curve(
    data: Sequence[BarSeries],
    timeline: IntArray,
    first_step: int,
    fill_log: Sequence[FillLogEntry],
    initial_cash: Decimal,
) -> EquityCurve:
    """Cash and positions after each step's fills (``fill_log``), forward-filled, valued at each step's
    closes (in place where possible: a million-step run allocates a handful of arrays)."""
    steps = len(timeline) - first_step
    if steps <= 0:
        empty = np.zeros(0)
        return EquityCurve(np.zeros(0, dtype=np.int64), empty, empty, empty, empty, np.zeros(0, dtype=bool))
    log = fill_log
    fill_steps = np.fromiter((entry[0] for entry in log), dtype=np.int64, count=len(log)) - first_step
    fill_slots = np.fromiter((entry[1] for entry in log), dtype=np.int64, count=len(log))
    cash_after = np.fromiter((float(entry[3]) for entry in log), dtype=np.float64, count=len(log))
    cash = forward_filled(fill_steps, cash_after, steps, float(initial_cash))
    equity = cash.copy()
    gross = np.zeros(steps)
    in_market = np.zeros(steps, dtype=bool)
    times = timeline[first_step:]
    single = len(data) == 1
    for slot, series in enumerate(data):
        mine = fill_slots == slot
        if not mine.any():
            continue
        quantities = np.array([float(entry[2]) for entry in log if entry[1] == slot])
        value = forward_filled(fill_steps[mine], quantities, steps, 0.0)
        in_market |= value != 0
        if single:
            closes = series.close[first_step:]
        else:
            rows = np.searchsorted(series.open_time, times, "right") - 1
            closes = np.where(rows >= 0, series.close[np.maximum(rows, 0)], 0.0)
        value *= closes
        equity += value
        np.abs(value, out=value)
        gross += value
    peaks = np.maximum.accumulate(equity)
    no_peak = peaks <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.divide(equity, peaks, out=peaks, where=~no_peak)
        drawdown[no_peak] = 1.0
        drawdown -= 1.0
        exposure = np.divide(gross, equity, out=gross, where=equity > 0)
        exposure[equity <= 0] = 0.0
    return EquityCurve(times, equity, cash, drawdown, exposure, in_market)


def forward_filled(steps: IntArray, values: FloatArray, length: int, initial: float) -> FloatArray:
    """A per-step array holding, at each step, the value of the last entry at or before it (entries
    in step order), ``initial`` before the first."""
    marks = np.zeros(length, dtype=np.int64)  # 1 + index of the step's last entry, 0 for none
    if len(steps):
        last_of_step = np.ones(len(steps), dtype=bool)
        last_of_step[:-1] = steps[1:] != steps[:-1]
        marks[steps[last_of_step]] = np.flatnonzero(last_of_step) + 1
        np.maximum.accumulate(marks, out=marks)
    table = np.concatenate([[initial], values])
    return cast(FloatArray, np.take(table, marks))


def build_result(
    *,
    strategy: Strategy,
    config: BacktestConfig,
    data: Sequence[BarSeries],
    symbols: Sequence[SymbolData],
    timeline: IntArray,
    first_step: int,
    fill_log: Sequence[FillLogEntry],
    orders: Sequence[SimulatedOrder],
    fills: Sequence[Fill],
    trades: TradeBook,
    positions: Sequence[PositionState],
    cursor: Sequence[int],
    final_cash: Decimal,
    final_equity: Decimal,
    signals: Sequence[Signal],
    logs: Sequence[LogLine],
    elapsed: float,
) -> BacktestResult:
    """Everything a finished run produced, with its provenance and metrics."""
    curve = equity_curve(data, timeline, first_step, fill_log, config.initial_cash)
    open_trades = tuple(trades.open_records(positions, cursor, len(timeline) - 1))
    first_series = data[0]
    benchmark = first_series.close[
        np.searchsorted(first_series.open_time, curve.time[0], "left") if len(curve.time) else 0 :
    ]
    metrics = compute_metrics(
        equity=curve.equity,
        times=curve.time,
        trade_pnls=[float(trade.pnl) for trade in trades.closed],
        trade_returns=[trade.return_pct for trade in trades.closed],
        in_market=curve.in_market,
        benchmark=benchmark,
        timeframe=first_series.timeframe,
        asset_class=symbols[0].asset_class,
        periods_per_year=config.periods_per_year,
    )
    parameters: dict[str, Any] = strategy.parameters
    return BacktestResult(
        strategy=strategy_path(type(strategy)),
        parameters=parameters,
        symbols=tuple(symbol.symbol for symbol in symbols),
        timeframe=first_series.timeframe,
        data_ranges=tuple(
            DataRange(
                series.symbol,
                datetime_of(int(series.open_time[0])),
                datetime_of(int(series.open_time[-1])),
                len(series),
            )
            for series in data
        ),
        data_hash=data_hash(data),
        code_version=config.code_version,
        config=describe_config(config),
        initial_cash=config.initial_cash,
        final_cash=final_cash,
        final_equity=final_equity,
        positions={
            symbol.symbol: position
            for symbol, position in zip(symbols, positions, strict=True)
            if position.quantity
        },
        orders=tuple(order_record(order, symbols[order.slot].symbol, trades.moment) for order in orders),
        fills=tuple(fills),
        trades=tuple(trades.closed),
        open_trades=open_trades,
        equity=curve,
        metrics=metrics,
        signals=tuple(signals),
        logs=tuple(logs),
        bars=len(timeline) - first_step,
        elapsed_seconds=elapsed,
    )
