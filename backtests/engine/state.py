"""The engine's mutable bookkeeping of orders, contingent groups and symbols, and the one way an
order's status changes outside ``orders.matching`` (pure, no Django)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from marketdata.domain import Bar
from orders.contingent import ContingentGroup
from orders.matching import WorkingOrder
from orders.states import OrderStatus, OrderType, transition
from strategies.sdk import BarSeries, OrderRequest, OrderView, datetime_of, tick_fraction, to_ticks

_ZERO = Decimal(0)


class Refusal(NamedTuple):
    """Why an order cannot reach the market: a risk, validation or sizing code and its message."""

    code: str
    message: str


class SimulatedOrder:
    """Mutable engine-side state of one order (the frozen WorkingOrder lives in ``working``)."""

    __slots__ = (
        "active_from_step",
        "average_fill_price",
        "close_position",
        "created_ns",
        "equity_percent",
        "filled_quantity",
        "group",
        "limit_price",
        "message",
        "order_id",
        "order_type",
        "parent_id",
        "plain_market",
        "quantity",
        "rank",
        "reason",
        "request",
        "role",
        "side",
        "slot",
        "status",
        "statuses",
        "stop_price",
        "submitted_ns",
        "tag",
        "time_in_force",
        "trail_amount",
        "trail_percent",
        "working",
    )

    def __init__(
        self, order_id: str, slot: int, request: OrderRequest, created_ns: int, role: str = ""
    ) -> None:
        self.order_id = order_id
        self.slot = slot
        self.request = request
        self.side = request.side
        self.order_type = request.order_type
        self.quantity = request.quantity
        self.equity_percent = request.equity_percent
        self.close_position = request.close_position
        self.limit_price = request.limit_price
        self.stop_price = request.stop_price
        self.trail_amount = request.trail_amount
        self.trail_percent = request.trail_percent
        self.time_in_force = request.time_in_force
        self.tag = request.tag
        self.role = role
        self.parent_id: str | None = None
        self.group: OrderGroup | None = None
        self.working: WorkingOrder | None = None
        self.status = OrderStatus.NEW
        self.statuses: list[OrderStatus] = []
        self.reason = ""
        self.message = ""
        self.filled_quantity = _ZERO
        self.average_fill_price: Decimal | None = None
        self.created_ns = created_ns
        self.submitted_ns: int | None = None
        self.active_from_step = 0
        # matching order on a bar: placement order, and inside a group the stop-loss first
        self.rank = (int(order_id.partition(".")[0]), 0 if role == "stop_loss" else 1)
        # a market order outside any group, without prices: the candidate for the fill shortcut
        self.plain_market = (
            not role
            and request.order_type == OrderType.MARKET
            and request.limit_price is None
            and request.stop_price is None
            and request.trail_amount is None
            and request.trail_percent is None
        )

    def absorb(self, working: WorkingOrder) -> None:
        self.working = working
        self.status = working.status
        self.quantity = working.quantity
        self.filled_quantity = working.filled_quantity
        self.average_fill_price = working.average_fill_price

    def view(self, symbol: str) -> OrderView:
        """The order as the strategy sees it (``symbol``: its symbol's name)."""
        return OrderView(
            order_id=self.order_id,
            symbol=symbol,
            side=self.side,
            order_type=self.order_type,
            status=self.status,
            quantity=self.quantity,
            filled_quantity=self.filled_quantity,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            role=self.role,
            tag=self.tag,
        )

    def working_order(self, symbol: str, quantity: Decimal, expires_at: datetime | None) -> WorkingOrder:
        return WorkingOrder(
            order_id=self.order_id,
            symbol=symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=quantity,
            time_in_force=self.time_in_force,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trail_amount=self.trail_amount,
            trail_percent=self.trail_percent,
            expires_at=expires_at,
        )


class OrderGroup:
    __slots__ = ("members", "state")

    def __init__(self, state: ContingentGroup, members: dict[str, SimulatedOrder]) -> None:
        self.state = state
        self.members = members


class SymbolData:
    """Per-symbol facts and Decimal conversions used at order time."""

    __slots__ = (
        "asset_class",
        "instrument",
        "lot",
        "min_quantity",
        "open_ticks",
        "scale",
        "series",
        "symbol",
        "tick",
        "timeframe",
    )

    def __init__(self, series: BarSeries) -> None:
        self.series = series
        self.instrument = series.instrument
        self.symbol = series.symbol
        self.tick = series.instrument.tick_size
        self.lot = series.instrument.lot_size
        self.min_quantity = series.instrument.min_quantity
        self.asset_class = str(series.instrument.asset_class)
        self.timeframe = series.timeframe
        self.open_ticks = to_ticks(series.open, self.tick)
        fraction = tick_fraction(self.tick)
        self.scale = fraction.denominator / fraction.numerator  # prices * scale = ticks

    def open(self, row: int) -> Decimal:
        return Decimal(int(self.open_ticks[row])) * self.tick

    def close(self, row: int) -> Decimal:
        return Decimal(round(float(self.series.close[row]) * self.scale)) * self.tick

    def bar(self, row: int) -> Bar:
        """The bar at ``row`` in Decimals (exact: prices are whole ticks), for ``orders.matching``."""
        series = self.series
        scale = self.scale
        tick = self.tick
        return Bar(
            symbol=self.symbol,
            timeframe=self.timeframe,
            open_time=datetime_of(int(series.open_time[row])),
            open=Decimal(int(self.open_ticks[row])) * tick,
            high=Decimal(round(float(series.high[row]) * scale)) * tick,
            low=Decimal(round(float(series.low[row]) * scale)) * tick,
            close=Decimal(round(float(series.close[row]) * scale)) * tick,
            volume=Decimal(repr(float(series.volume[row]))),
        )


def move(order: SimulatedOrder, *targets: OrderStatus) -> None:
    """Move ``order`` through ``targets`` in turn, each step checked by ``orders.states.transition``
    (the one writer of status changes) and recorded in ``order.statuses``. For the changes the engine
    makes itself (accepted-and-filled by the fast path, rejected, held, canceled before reaching the
    market); everything else comes from ``orders.matching`` / ``orders.contingent`` results."""
    status = order.status
    for target in targets:
        status = transition(status, target)
        order.statuses.append(status)
    order.status = status


def with_status(order: WorkingOrder, status: OrderStatus) -> WorkingOrder:
    return dataclasses.replace(order, status=status)


def rank(order: SimulatedOrder) -> tuple[int, int]:
    return order.rank
