"""What a strategy asks for and hears back: order requests and views, signals, log lines, the Broker
protocol a Context talks to, and turning an order call's arguments into a request (pure, no Django)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol

from orders.states import OrderStatus, OrderType, Side, TimeInForce
from portfolio.ledger import PositionState
from strategies.sdk.errors import StrategyProblem


class Direction(StrEnum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class OrderRequest(NamedTuple):
    """What a strategy asked for. Exactly one of ``quantity`` / ``equity_percent`` unless
    ``close_position`` (then the quantity is the position when the order reaches the market).

    ``equity_percent`` sizes the order when it reaches the market: the largest quantity on the lot
    grid whose cost plus commission fits in that share of equity at the price it is expected to fill
    (see :func:`size_for_budget`). ``take_profit`` / ``stop_loss`` add exit legs: both make a bracket,
    one an OTO; ``stop_loss_limit`` turns the stop-loss into a stop-limit. ``oco_stop_price`` makes the
    order (a limit) one side of an OCO pair whose other side is a stop at that price.

    A NamedTuple (not a dataclass) because one is built per order in hot backtest loops."""

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal | None = None
    equity_percent: Decimal | None = None
    close_position: bool = False
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_limit: Decimal | None = None
    oco_stop_price: Decimal | None = None
    tag: str = ""


class OrderView(NamedTuple):
    """An open order as the strategy sees it. ``quantity`` is None until an ``equity_percent`` or
    ``close_position`` order has been sized at the market. ``role``: ``entry``, ``take_profit``,
    ``stop_loss``, ``oco`` or empty for a simple order."""

    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal | None
    filled_quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    role: str
    tag: str


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's view, stored and shown whether or not it trades on it. ``ts`` is the open time of
    the bar it was emitted on; ``confidence`` is in [0, 1]."""

    ts: datetime
    symbol: str
    direction: Direction
    confidence: float
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    ts: datetime
    message: str


class Broker(Protocol):
    """What a :class:`Context` needs from whatever executes orders: the backtest engine's simulated
    broker or the paper/live runtime. Quantities and money are Decimal."""

    def submit(self, request: OrderRequest) -> str:
        """Queue ``request``; return its order id. It reaches the market at the next bar/quote."""
        ...

    def cancel(self, order_id: str) -> bool:
        """Cancel an open order; False when it is unknown or already ended."""
        ...

    def open_orders(self, symbol: str | None) -> list[OrderView]: ...

    def get_order(self, order_id: str) -> OrderView | None: ...

    def position(self, symbol: str) -> PositionState: ...

    def cash(self) -> Decimal: ...

    def equity(self) -> Decimal:
        """Cash plus positions marked at the latest close the strategy has seen."""
        ...

    def record_signal(self, signal: Signal) -> None: ...

    def record_log(self, line: LogLine) -> None: ...


def to_price(value: Decimal | float | int, tick_size: Decimal, *, round_up: bool) -> Decimal:
    """A price for an order. Decimal passes unchanged (validation reports an off-tick one); a float or
    int is read by its shortest decimal spelling and rounded onto the tick, up or down."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StrategyProblem("invalid_price", f"a price must be a finite number, not {value!r}.", "price")
    text = repr(value) if isinstance(value, float) else str(value)
    return (Decimal(text) / tick_size).to_integral_value(
        rounding=ROUND_CEILING if round_up else ROUND_FLOOR
    ) * tick_size


def order_sizing(
    quantity: Decimal | int | None, equity_percent: Decimal | float | int | None
) -> tuple[Decimal | None, Decimal | None]:
    """``(quantity, equity_percent)`` of an order call as Decimals, exactly one of them set."""
    if (quantity is None) == (equity_percent is None):
        raise StrategyProblem("invalid_quantity", "Give either a quantity or equity_percent.", "quantity")
    if quantity is not None:
        if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int):
            raise StrategyProblem(
                "invalid_quantity", f"quantity must be a Decimal or an int, not {quantity!r}.", "quantity"
            )
        return Decimal(quantity), None
    percent = _decimal_of(equity_percent)
    if not (percent.is_finite() and percent > 0):
        raise StrategyProblem(
            "invalid_quantity", f"equity_percent must be positive, not {equity_percent}.", "equity_percent"
        )
    return None, percent


def _decimal_of(value: Decimal | float | int | None) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyProblem("invalid_number", f"expected a number, not {value!r}.")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def priced_request(
    symbol: str,
    side: Side,
    tick: Decimal,
    *,
    order_type: OrderType | str | None,
    quantity: Decimal | None,
    equity_percent: Decimal | None,
    limit_price: Decimal | float | None,
    stop_price: Decimal | float | None,
    trail_amount: Decimal | float | None,
    trail_percent: Decimal | float | None,
    take_profit: Decimal | float | None,
    stop_loss: Decimal | float | None,
    stop_loss_limit: Decimal | float | None,
) -> OrderRequest:
    """An order request with prices on the tick (floats rounded never more aggressively than asked)
    and, when ``order_type`` is None, the type the prices imply."""
    buy = side == Side.BUY

    def price(value: Decimal | float | None, *, round_up: bool) -> Decimal | None:
        return None if value is None else to_price(value, tick, round_up=round_up)

    limit = price(limit_price, round_up=not buy)
    stop = price(stop_price, round_up=buy)
    amount = price(trail_amount, round_up=True)
    percent_trail = None if trail_percent is None else _decimal_of(trail_percent)
    if order_type is not None:
        kind = OrderType(order_type)
    elif limit is not None:
        kind = OrderType.STOP_LIMIT if stop is not None else OrderType.LIMIT
    elif stop is not None:
        kind = OrderType.STOP
    else:
        trailing = amount is not None or percent_trail is not None
        kind = OrderType.TRAILING_STOP if trailing else OrderType.MARKET
    # exit legs sit on the other side: a long's take-profit rounds up, its stop-loss down
    loss = price(stop_loss, round_up=not buy)
    loss_limit = price(stop_loss_limit, round_up=not buy)
    if loss_limit is not None and loss is None:
        raise StrategyProblem("invalid_order", "stop_loss_limit needs a stop_loss.", "stop_loss_limit")
    return OrderRequest(
        symbol=symbol,
        side=side,
        order_type=kind,
        quantity=quantity,
        equity_percent=equity_percent,
        limit_price=limit,
        stop_price=stop,
        trail_amount=amount,
        trail_percent=percent_trail,
        take_profit=price(take_profit, round_up=buy),
        stop_loss=loss,
        stop_loss_limit=loss_limit,
    )
