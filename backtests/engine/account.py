"""The simulated account of a backtest (pure, no Django): cash and positions changed only by fills
through ``portfolio.ledger.apply_fill``, and their valuation as risk checks and the strategy see them,
the paper broker's way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Context, Decimal

import numpy as np

from backtests.engine.state import SimulatedOrder, SymbolData
from orders.matching import Fill, reference_price
from orders.risk import AccountSnapshot, PositionExposure
from orders.states import OrderStatus, Side
from portfolio.ledger import FillEffect, PositionState, apply_fill
from strategies.sdk import BarSeries, IntArray

_ZERO = Decimal(0)
_EXACT = Context(prec=100)  # cash sums: exact for any realistic account
_DAY_NS = 86_400 * 1_000_000_000

FillLogEntry = tuple[int, int, Decimal, Decimal]  # step, slot, quantity after, cash after


def order_reference_price(order: SimulatedOrder, book: Decimal) -> Decimal:
    """``orders.matching.reference_price`` of ``order`` against ``book`` (the open, or the latest close
    for a symbol without a bar now): the price risk and reservations assume."""
    price = reference_price(
        order.side, order.order_type, limit_price=order.limit_price, stop_price=order.stop_price, book=book
    )
    assert price is not None  # a book is given, so there is always a reference
    return price


class SimulatedAccount:
    """Cash, positions (per symbol slot) and every fill of a run, in order.

    Valuation needs the run's clock: ``cursor`` is the strategy Context's (the bars it has seen) and
    ``step_rows`` the engine's rows of the symbols with a bar at the current step (-1 for none), both
    moved by the engine; ``timeline`` is set when the run starts."""

    def __init__(
        self,
        data: Sequence[BarSeries],
        symbols: Sequence[SymbolData],
        initial_cash: Decimal,
        cursor: list[int],
    ) -> None:
        self.data = data
        self.symbols = symbols
        self.initial_cash = initial_cash
        self.cursor = cursor
        self.cash = initial_cash
        self.positions = [PositionState() for _ in symbols]
        self.fills: list[Fill] = []
        self.fill_log: list[FillLogEntry] = []
        self.step_rows = [-1] * len(symbols)
        self.timeline: IntArray = np.zeros(0, dtype=np.int64)
        self._day_equity: dict[int, Decimal] = {}

    def book(self, slot: int, fill: Fill, step: int) -> FillEffect:
        """Apply ``fill`` of symbol ``slot`` on ``step`` to the position and the cash."""
        effect = apply_fill(
            self.positions[slot],
            side=fill.side,
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        )
        self.positions[slot] = effect.position
        self.cash = _EXACT.add(self.cash, effect.cash_delta)
        self.fills.append(fill)
        self.fill_log.append((step, slot, effect.position.quantity, self.cash))
        return effect

    def mark(self, slot: int) -> Decimal | None:
        """The price positions are valued at right now: this step's open, else the latest close."""
        symbol = self.symbols[slot]
        row = self.step_rows[slot]
        if row >= 0:
            return symbol.open(row)
        seen = self.cursor[slot]
        return symbol.close(seen) if seen >= 0 else None

    def equity_now(self) -> Decimal:
        """Cash plus positions at :meth:`mark` (what sizing and risk read)."""
        total = self.cash
        for slot, position in enumerate(self.positions):
            if position.quantity:
                mark = self.mark(slot)
                if mark is not None:
                    total = _EXACT.add(total, position.quantity * mark)
        return total

    def equity_seen(self) -> Decimal:
        """Cash plus positions at the latest closes the strategy has seen (the Broker's equity)."""
        total = self.cash
        for slot, position in enumerate(self.positions):
            if position.quantity:
                seen = self.cursor[slot]
                # a position opened on the symbol's very first bar, before on_bar saw it: its open
                mark = self.symbols[slot].close(seen) if seen >= 0 else self.mark(slot)
                if mark is not None:
                    total = _EXACT.add(total, position.quantity * mark)
        return total

    def snapshot(
        self, open_orders: Iterable[SimulatedOrder], *, step_ns: int, daily_loss_limit: bool, currency: str
    ) -> AccountSnapshot:
        """What ``orders.risk.check_order`` reads: cash, equity with positions at :meth:`mark`, and
        reserved buying power = open buy orders' remaining notional at their reference price + the
        market value of short positions. Orders not yet at the market (``new``) are not counted. The
        start-of-day equity is computed only for a ``daily_loss_limit`` (else today's equity)."""
        exposures: dict[str, PositionExposure] = {}
        equity = self.cash
        short_hold = _ZERO
        for slot, position in enumerate(self.positions):
            quantity = position.quantity
            if not quantity:
                continue
            symbol = self.symbols[slot]
            value = quantity * (self.mark(slot) or _ZERO)
            equity = _EXACT.add(equity, value)
            if value < 0:
                short_hold -= value
            exposures[symbol.symbol] = PositionExposure(quantity, value, symbol.asset_class)
        reserved = short_hold
        open_count = 0
        for order in open_orders:
            if order.status == OrderStatus.NEW:
                continue  # not at the market yet (queued behind this one)
            open_count += 1
            if order.side != Side.BUY or order.status == OrderStatus.HELD or order.parent_id is not None:
                continue
            book = self.mark(order.slot)
            if book is None or order.quantity is None:
                continue
            reserved += (order.quantity - order.filled_quantity) * order_reference_price(order, book)
        return AccountSnapshot(
            cash=self.cash,
            equity=equity,
            start_of_day_equity=self.start_of_day_equity(step_ns) if daily_loss_limit else equity,
            reserved_buying_power=reserved,
            open_orders_count=open_count,
            positions=exposures,
            currency=currency,
        )

    def start_of_day_equity(self, step_ns: int) -> Decimal:
        """Equity at the close of the last step before the first step of ``step_ns``'s UTC day: cash
        and quantities replayed from the fill log, positions at each symbol's latest close then."""
        day = step_ns // _DAY_NS
        known = self._day_equity.get(day)
        if known is not None:
            return known
        timeline = self.timeline
        last_before = int(np.searchsorted(timeline, day * _DAY_NS, "left")) - 1
        cash = self.initial_cash
        quantities = [_ZERO] * len(self.data)
        for step, slot, quantity, cash_after in self.fill_log:
            if step > last_before:
                break
            quantities[slot] = quantity
            cash = cash_after
        equity = cash
        if last_before >= 0:
            moment = int(timeline[last_before])
            for slot, quantity in enumerate(quantities):
                if quantity:
                    row = int(np.searchsorted(self.data[slot].open_time, moment, "right")) - 1
                    equity = _EXACT.add(equity, quantity * self.symbols[slot].close(row))
        self._day_equity[day] = equity
        return equity
