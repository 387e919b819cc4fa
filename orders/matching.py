"""The one set of fill rules (pure, no Django): the paper broker and the backtester match orders here.

Two entry points, both pure and both returning a :class:`MatchResult` (the input is never mutated):

- :func:`on_submit` once, when the order reaches the venue, with the latest quote, the next bar, or
  ``None``. IOC and FOK are decided here.
- :func:`on_market_event` for every later :class:`~marketdata.domain.Quote` or
  :class:`~marketdata.domain.Bar` of the order's symbol.

The other status changes are pure functions here too, so every status an order takes is decided in
this module (or ``orders.contingent``) through ``orders.states.transition`` and the services only
store results: :func:`cancel_order`, :func:`expire_order`, :func:`replace_order`, and the inbound path
of a broker venue, :func:`apply_reported_fill` and :func:`apply_reported_status`.

Conventions (the full list with examples is in ``docs/matching.md``):

- Quotes: market orders fill at the ask (buy) / bid (sell); limit orders fill when that side crosses
  the limit, at the quote (never worse than the limit). Stops TRIGGER on the last trade price and FILL
  against bid/ask. Trailing water marks follow the last trade price.
- Bars (next-bar-open convention): market orders fill at the open; a limit fills at the open when the
  bar gaps through it, else at the limit when the bar's range reaches it; a stop fills at the open on a
  gap, else at the stop. A stop-limit triggered INSIDE the bar fills only if the stop price itself is
  within the limit (then at the stop price); otherwise it rests as a triggered limit from the next
  event, because the bar cannot say whether the range beyond the trigger came before or after it.
  Trailing stops test the stop of the PREVIOUS water mark first and only then move the mark with the
  bar's favourable extreme (never trigger on a level the bar itself created).
- Slippage is adverse and rounded to the tick adversely; it applies to market orders and triggered
  stops / trailing stops, never to limit or stop-limit fills.
- Money (commission) is quantised to 0.0001 with ROUND_HALF_EVEN; average fill prices to 10 places.
- Fills on a bar carry ``bar.open_time`` (bars are labelled by their open time); expiry compares
  ``expires_at`` with ``quote.ts`` or ``bar.open_time`` and happens before any matching.
- ``config.partial_fills`` off: liquidity is unlimited. On: a quote offers its ask/bid size, a bar
  ``volume * volume_participation``, both floored to the lot size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from typing import NamedTuple, TypeAlias

from marketdata.domain import Bar, Quote

# the cost models live in orders.costs; re-exported (X as X) because callers configure matching with them
from orders.costs import (
    BpsCommission as BpsCommission,
    BpsSlippage as BpsSlippage,
    CommissionModel as CommissionModel,
    ExecutionConfig as ExecutionConfig,
    NoCommission as NoCommission,
    NoSlippage as NoSlippage,
    PerOrder as PerOrder,
    PerShare as PerShare,
    SlippageModel as SlippageModel,
    TickSlippage as TickSlippage,
)
from orders.states import (
    TERMINAL_STATUSES,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
    transition,
)
from tradeapp.core.decimals import floor_to, is_multiple_of, quantize_to

ZERO = Decimal(0)
MONEY_STEP = Decimal("0.0001")
AVERAGE_PRICE_STEP = Decimal("1E-10")
_BPS = Decimal(10_000)
_HUNDRED = Decimal(100)
_EXACT_PRECISION = 80  # digits for price * quantity sums: exact for any NUMERIC(28, 10) inputs

MarketEvent: TypeAlias = Quote | Bar

_S = OrderStatus
# statuses the engine matches; HELD waits for its parent, NEW must go through on_submit first
_MATCHABLE = frozenset({_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.PENDING_CANCEL, _S.PENDING_REPLACE})
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})
_TERMINAL_OR_HELD = frozenset({_S.FILLED, _S.CANCELED, _S.REPLACED, _S.EXPIRED, _S.REJECTED, _S.HELD})


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkingOrder:
    """The matching-relevant state of one order. Invariant: ``0 <= filled_quantity <= quantity``.

    ``triggered`` is set once a stop, stop-limit or trailing stop has triggered (a triggered stop then
    behaves as a market order, a triggered stop-limit as a limit order). ``water_mark`` is the
    trailing stop's best price since activation (highest for a sell, lowest for a buy); the caller may
    seed it (e.g. the last price at submission), else the first event seeds it (quote last / bar open).
    ``expires_at`` is computed by the caller (session close for DAY orders).
    ``fill_count`` is the number of fills so far; the next fill gets ``sequence = fill_count + 1``.
    """

    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    time_in_force: TimeInForce
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: Decimal = ZERO
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    triggered: bool = False
    water_mark: Decimal | None = None
    expires_at: datetime | None = None
    average_fill_price: Decimal | None = None
    fill_count: int = 0

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def current_stop(self) -> Decimal | None:
        """The stop level now: ``stop_price`` for stop / stop-limit; for a trailing stop the level
        derived from ``water_mark`` (``water_mark - trail_amount`` or ``water_mark * (1 - pct/100)``
        for a sell, ``+`` for a buy), exact. Matching rounds a trailing level to the tick AWAY from the
        market (sell down, buy up): the trail is never tighter than asked, and on-tick prices trigger
        exactly as against the exact level."""
        if self.order_type == OrderType.TRAILING_STOP:
            return None if self.water_mark is None else _trail_level(self, self.water_mark)
        if self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            return self.stop_price
        return None


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``sequence`` is 1-based per order (its n-th fill): key idempotency on
    ``(order_id, sequence)``. ``commission`` is quantised to 0.0001."""

    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts: datetime
    sequence: int


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The order's new state and what happened. ``statuses`` lists every status the order moved INTO,
    in order (write one ``OrderEvent`` per entry; ``states.replay`` accepts them). ``changed`` is True
    when anything in the order differs from the input (status, fills, trigger, water mark)."""

    order: WorkingOrder
    fills: tuple[Fill, ...] = ()
    reason: Reason | None = None
    changed: bool = False
    statuses: tuple[OrderStatus, ...] = ()


# --- the price an order is expected to trade at -----------------------------------------------------

_LIMIT_TYPES = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})


def reference_price(
    side: Side,
    order_type: OrderType,
    *,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    book: Decimal | None,
) -> Decimal | None:
    """The one rule for the price an order is assumed to trade at, before slippage: risk checks and
    cash reservations, the order ticket's estimate, strategy sizing and the backtester all use it.

    ``book`` is the side of the book the order takes now (the ask for a buy, the bid for a sell; the
    bar's open in a backtest), or None without a quote. A limit-type order is assumed at its limit; a
    stop at the book or its stop, whichever is worse for the account (the stop alone without a book);
    anything else (market, trailing stop) at the book, or None when there is none.
    """
    if order_type in _LIMIT_TYPES and limit_price is not None:
        return limit_price
    if order_type == OrderType.STOP and stop_price is not None:
        if book is None:
            return stop_price
        return max(book, stop_price) if side == Side.BUY else min(book, stop_price)
    return book


def expected_fill_price(
    side: Side,
    order_type: OrderType,
    *,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    book: Decimal,
    slippage: SlippageModel,
    tick_size: Decimal,
) -> Decimal:
    """:func:`reference_price` with the slippage a marketable fill pays: a limit-type order fills at
    its limit (limit fills take no slippage), anything else at the reference moved by ``slippage``."""
    price = reference_price(side, order_type, limit_price=limit_price, stop_price=stop_price, book=book)
    assert price is not None  # a book is given, so there is always a reference
    if order_type in _LIMIT_TYPES and limit_price is not None:
        return price
    return slippage.adjust(side, price, tick_size)


# --- validation ------------------------------------------------------------------------------------


class OrderProblem(NamedTuple):
    """One reason an order cannot be placed: ``(field, code, message)``."""

    field: str
    code: str
    message: str


def validate_order(
    order: WorkingOrder, *, tick_size: Decimal, lot_size: Decimal, min_quantity: Decimal
) -> list[OrderProblem]:
    """Price and quantity consistency of ``order`` for an instrument; an empty list means sound.

    Codes: invalid_quantity, off_lot_size, below_min_quantity, missing_limit_price, missing_stop_price,
    unexpected_price (a price the order type does not use), invalid_price (not positive),
    off_tick_size, inconsistent_prices (stop-limit: buy needs limit >= stop, sell limit <= stop),
    invalid_trail (trailing stop: exactly one of trail_amount / trail_percent, positive, percent < 100).
    """
    return [
        *_quantity_problems(order.quantity, lot_size, min_quantity),
        *_price_problems(order, tick_size),
        *_trail_problems(order, tick_size),
        *_stop_limit_problems(order),
    ]


def _quantity_problems(quantity: Decimal, lot_size: Decimal, min_quantity: Decimal) -> list[OrderProblem]:
    if quantity <= 0:
        return [OrderProblem("quantity", "invalid_quantity", "quantity must be positive")]
    problems: list[OrderProblem] = []
    if not is_multiple_of(quantity, lot_size):
        problems.append(
            OrderProblem("quantity", "off_lot_size", f"quantity must be a multiple of {_plain(lot_size)}")
        )
    if quantity < min_quantity:
        problems.append(
            OrderProblem(
                "quantity", "below_min_quantity", f"quantity must be at least {_plain(min_quantity)}"
            )
        )
    return problems


def _price_problems(order: WorkingOrder, tick_size: Decimal) -> list[OrderProblem]:
    order_type = order.order_type
    kind = str(order_type)
    prices = (
        ("limit_price", order.limit_price, order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT), "limit"),
        ("stop_price", order.stop_price, order_type in (OrderType.STOP, OrderType.STOP_LIMIT), "stop"),
    )
    problems: list[OrderProblem] = []
    for field, value, needed, word in prices:
        if value is None:
            if needed:
                problems.append(
                    OrderProblem(field, f"missing_{field}", f"a {kind} order needs a {word} price")
                )
        elif not needed:
            problems.append(OrderProblem(field, "unexpected_price", f"a {kind} order takes no {word} price"))
        elif value <= 0:
            problems.append(OrderProblem(field, "invalid_price", f"{word} price must be positive"))
        elif not is_multiple_of(value, tick_size):
            problems.append(
                OrderProblem(
                    field, "off_tick_size", f"{word} price must be a multiple of {_plain(tick_size)}"
                )
            )
    return problems


def _stop_limit_problems(order: WorkingOrder) -> list[OrderProblem]:
    limit, stop = order.limit_price, order.stop_price
    if order.order_type != OrderType.STOP_LIMIT or limit is None or stop is None:
        return []
    if order.side == Side.BUY and limit < stop:
        return [OrderProblem("limit_price", "inconsistent_prices", "a buy stop-limit needs limit >= stop")]
    if order.side == Side.SELL and limit > stop:
        return [OrderProblem("limit_price", "inconsistent_prices", "a sell stop-limit needs limit <= stop")]
    return []


def _trail_problems(order: WorkingOrder, tick_size: Decimal) -> list[OrderProblem]:
    amount, percent = order.trail_amount, order.trail_percent
    if order.order_type != OrderType.TRAILING_STOP:
        return [
            OrderProblem(field, "unexpected_price", f"only a trailing stop takes a {field.replace('_', ' ')}")
            for field, value in (("trail_amount", amount), ("trail_percent", percent))
            if value is not None
        ]
    problem: OrderProblem | None = None
    if (amount is None) == (percent is None):
        problem = OrderProblem(
            "trail_amount", "invalid_trail", "give exactly one of trail_amount, trail_percent"
        )
    elif amount is not None and amount <= 0:
        problem = OrderProblem("trail_amount", "invalid_trail", "trail_amount must be positive")
    elif amount is not None and not is_multiple_of(amount, tick_size):
        problem = OrderProblem(
            "trail_amount", "off_tick_size", f"trail_amount must be a multiple of {_plain(tick_size)}"
        )
    elif percent is not None and not 0 < percent < 100:
        problem = OrderProblem("trail_percent", "invalid_trail", "trail_percent must be between 0 and 100")
    return [] if problem is None else [problem]


# --- matching --------------------------------------------------------------------------------------


def on_submit(
    order: WorkingOrder,
    event: MarketEvent | None,
    *,
    config: ExecutionConfig,
    tick_size: Decimal,
    lot_size: Decimal,
) -> MatchResult:
    """Accept ``order`` (NEW -> ACCEPTED) and match it once against ``event``.

    ``event`` is the latest quote (paper broker), the NEXT bar (backtester: orders decided on a bar's
    close fill from the next bar's open), or ``None`` when there is no market data: then the order just
    rests, except IOC / FOK which are canceled (``ioc_unfilled`` / ``fok_unfillable``). IOC fills what
    it can now and cancels the rest; FOK fills entirely now or is canceled without a fill.

    The caller validates first (:func:`validate_order`, risk) and rejects there: this function does not
    reject. Accepts NEW or ACCEPTED orders; terminal and HELD orders come back unchanged; other open
    statuses raise ValueError (use :func:`on_market_event`).
    """
    status = order.status
    if status in _TERMINAL_OR_HELD:
        return MatchResult(order)
    statuses: list[OrderStatus] = []
    if status == _S.NEW:
        statuses.append(transition(status, _S.ACCEPTED))
        order = dataclasses.replace(order, status=_S.ACCEPTED)
    elif status != _S.ACCEPTED:
        raise ValueError(f"on_submit expects a new or accepted order, not {status}")

    if event is None:
        if order.time_in_force == TimeInForce.IOC:
            return _close(order, _S.CANCELED, Reason.IOC_UNFILLED, statuses, ())
        if order.time_in_force == TimeInForce.FOK:
            return _close(order, _S.CANCELED, Reason.FOK_UNFILLABLE, statuses, ())
        return MatchResult(order, changed=True, statuses=tuple(statuses))
    _check_symbol(order, event)
    return _match(order, event, statuses, config=config, tick_size=tick_size, lot_size=lot_size)


def on_market_event(
    order: WorkingOrder,
    event: MarketEvent,
    *,
    config: ExecutionConfig,
    tick_size: Decimal,
    lot_size: Decimal,
) -> MatchResult:
    """Match a working order against one quote or bar of its symbol.

    Order of work: expiry (``event time >= expires_at`` -> EXPIRED before any matching), then trigger
    and water-mark updates, then at most one fill. Terminal and HELD orders come back unchanged with
    ``changed=False``; a NEW order raises ValueError (submit it first). An open IOC/FOK order (not
    decided at submission) is decided on this event as on submission. The path where nothing happens
    allocates only the result object.
    """
    status = order.status
    if status not in _MATCHABLE:
        if status == _S.NEW:
            raise ValueError("a new order must go through on_submit first")
        return MatchResult(order)
    _check_symbol(order, event)
    return _match(order, event, [], config=config, tick_size=tick_size, lot_size=lot_size)


def cancel_order(order: WorkingOrder, reason: Reason) -> MatchResult:
    """Cancel ``order`` along legal transitions (a pending replace is refused first: -> accepted ->
    canceled). A terminal order comes back unchanged, so canceling twice is harmless. Used for
    contingent-group cancels and by venues for user cancels that need no broker round trip."""
    if order.status in TERMINAL_STATUSES:
        return MatchResult(order)
    return _close(order, _S.CANCELED, reason, [], ())


def expire_order(order: WorkingOrder, now: datetime) -> MatchResult:
    """Expire a working order once ``now`` reaches its ``expires_at`` (``day_session_closed`` for a
    DAY order, else ``expiry_reached``). Anything else comes back unchanged: an order before its
    expiry, a NEW order (not yet at the venue), a HELD leg (it ends with its group), a terminal one."""
    if order.status not in _MATCHABLE or order.expires_at is None or now < order.expires_at:
        return MatchResult(order)
    return _close(order, _S.EXPIRED, _expiry_reason(order), [], ())


def replace_order(order: WorkingOrder) -> MatchResult:
    """End ``order`` as REPLACED (reason ``replaced``): a modified order takes its place and works
    what is left. What it filled stays filled. Raises ``IllegalTransition`` for an order that is not
    working (new, held or terminal): the caller refuses those first."""
    status = transition(order.status, _S.REPLACED)
    return MatchResult(dataclasses.replace(order, status=status), (), Reason.REPLACED, True, (status,))


class FillExceedsQuantity(ValueError):
    """A reported fill would take the order's filled quantity above its quantity."""


def apply_reported_fill(order: WorkingOrder, fill: Fill, previous: Sequence[Fill] = ()) -> MatchResult:
    """Apply a fill a venue reported. ``previous`` are the order's fills already stored, in any order:
    filled quantity, average price and fill count are recomputed from them and ``fill``, so reports
    that arrive out of order end in the same state. The order enters ``partially_filled`` or
    ``filled`` (one status per fill); a NEW order is accepted first, since a fill implies acceptance.

    The caller drops a fill it already stored (same venue sequence) before calling. Raises
    :class:`FillExceedsQuantity` when the fills add up to more than the order's quantity, and
    ``IllegalTransition`` for an order that has ended."""
    fills = (*previous, fill)
    with localcontext() as context:
        context.prec = _EXACT_PRECISION
        filled = sum((each.quantity for each in fills), ZERO)
        notional = sum((each.quantity * each.price for each in fills), ZERO)
        average = (notional / filled).quantize(AVERAGE_PRICE_STEP, rounding=ROUND_HALF_EVEN)
    if filled > order.quantity:
        raise FillExceedsQuantity(
            f"fills of {filled} exceed order {order.order_id}'s quantity {order.quantity}"
        )
    statuses: list[OrderStatus] = []
    status = order.status
    if status == _S.NEW:
        status = transition(status, _S.ACCEPTED)
        statuses.append(status)
    target = _S.FILLED if filled >= order.quantity else _S.PARTIALLY_FILLED
    statuses.append(transition(status, target))
    new_order = dataclasses.replace(
        order, status=target, filled_quantity=filled, average_fill_price=average, fill_count=len(fills)
    )
    return MatchResult(new_order, (fill,), None, True, tuple(statuses))


_REPORTED_ENDINGS = {
    _S.REJECTED: Reason.VENUE_REJECTED,
    _S.CANCELED: Reason.VENUE_CANCELED,
    _S.EXPIRED: Reason.EXPIRY_REACHED,
}


def apply_reported_status(
    order: WorkingOrder, status: OrderStatus, reason: Reason | None = None
) -> MatchResult:
    """Apply a status a venue reported: ``accepted``, ``rejected``, ``canceled`` or ``expired`` (fills
    come through :func:`apply_reported_fill`). Streams repeat and reorder reports, so one that no
    longer applies leaves the order unchanged (``changed`` False): a repeat, anything after the order
    ended, ``accepted`` after a fill, ``rejected`` after a fill. ``reason`` defaults to
    ``venue_rejected`` / ``venue_canceled`` / ``expiry_reached``. An ``accepted`` on a pending cancel
    or replace is the venue refusing it. Raises ValueError for any other status."""
    current = order.status
    if status != _S.ACCEPTED and status not in _REPORTED_ENDINGS:
        raise ValueError(f"a venue reports fills through apply_reported_fill, not {status}")
    if current in TERMINAL_STATUSES or current == status:
        return MatchResult(order)
    if status == _S.ACCEPTED:
        if current not in (_S.NEW, _S.PENDING_CANCEL, _S.PENDING_REPLACE):
            return MatchResult(order)
        accepted = transition(current, _S.ACCEPTED)
        return MatchResult(dataclasses.replace(order, status=accepted), changed=True, statuses=(accepted,))
    reason = reason or _REPORTED_ENDINGS[status]
    if status == _S.REJECTED:
        if current not in (_S.NEW, _S.ACCEPTED):
            return MatchResult(order)
        rejected = transition(current, _S.REJECTED)
        return MatchResult(dataclasses.replace(order, status=rejected), (), reason, True, (rejected,))
    statuses: list[OrderStatus] = []
    if current == _S.NEW:  # ended before its acknowledgement arrived
        statuses.append(transition(current, _S.ACCEPTED))
        order = dataclasses.replace(order, status=_S.ACCEPTED)
    return _close(order, status, reason, statuses, ())


def _expiry_reason(order: WorkingOrder) -> Reason:
    return Reason.DAY_SESSION_CLOSED if order.time_in_force == TimeInForce.DAY else Reason.EXPIRY_REACHED


def _check_symbol(order: WorkingOrder, event: MarketEvent) -> None:
    if event.symbol != order.symbol:
        raise ValueError(f"event for {event.symbol} sent to order {order.order_id} on {order.symbol}")


def _match(
    original: WorkingOrder,
    event: MarketEvent,
    statuses: list[OrderStatus],
    *,
    config: ExecutionConfig,
    tick_size: Decimal,
    lot_size: Decimal,
) -> MatchResult:
    ts = event.open_time if isinstance(event, Bar) else event.ts
    if original.expires_at is not None and ts >= original.expires_at:
        return _close(original, _S.EXPIRED, _expiry_reason(original), statuses, ())

    if isinstance(event, Bar):
        order, price = _bar_price(original, event, config.slippage, tick_size)
    else:
        order, price = _quote_price(original, event, config.slippage, tick_size)

    fills: tuple[Fill, ...] = ()
    if price is not None and price > 0:  # a non-positive price means an empty side of the book
        remaining = order.remaining_quantity
        quantity = _offered(order, event, config, lot_size) if config.partial_fills else remaining
        # FOK: all of it or nothing
        if quantity > 0 and (order.time_in_force != TimeInForce.FOK or quantity >= remaining):
            order, fill = _apply_fill(
                order, min(quantity, remaining), price, ts=ts, model=config.commission, statuses=statuses
            )
            fills = (fill,)

    if order.time_in_force in _IMMEDIATE and order.remaining_quantity > 0:
        reason = Reason.IOC_UNFILLED if order.time_in_force == TimeInForce.IOC else Reason.FOK_UNFILLABLE
        return _close(order, _S.CANCELED, reason, statuses, fills)
    if order is original and not statuses:
        return MatchResult(order)
    return MatchResult(order, fills, None, True, tuple(statuses))


def _offered(order: WorkingOrder, event: MarketEvent, config: ExecutionConfig, lot_size: Decimal) -> Decimal:
    """Liquidity available to this order on ``event`` when partial fills are simulated."""
    if isinstance(event, Bar):
        offered = event.volume * config.volume_participation
    else:
        offered = event.ask_size if order.side == Side.BUY else event.bid_size
    return floor_to(offered, lot_size)


def _apply_fill(
    order: WorkingOrder,
    quantity: Decimal,
    price: Decimal,
    *,
    ts: datetime,
    model: CommissionModel,
    statuses: list[OrderStatus],
) -> tuple[WorkingOrder, Fill]:
    previously_filled = order.filled_quantity
    filled = previously_filled + quantity
    with localcontext() as context:
        context.prec = _EXACT_PRECISION
        if order.average_fill_price is None or previously_filled == 0:
            average = price
        else:
            average = (order.average_fill_price * previously_filled + price * quantity) / filled
        average = average.quantize(AVERAGE_PRICE_STEP, rounding=ROUND_HALF_EVEN)
    target = _S.FILLED if filled >= order.quantity else _S.PARTIALLY_FILLED
    statuses.append(transition(order.status, target))
    sequence = order.fill_count + 1
    commission = model.commission(quantity, price, previously_filled)
    new_order = dataclasses.replace(
        order,
        status=target,
        filled_quantity=filled,
        average_fill_price=average,
        fill_count=sequence,
    )
    fill = Fill(order.order_id, order.symbol, order.side, quantity, price, commission, ts, sequence)
    return new_order, fill


def _close(
    order: WorkingOrder,
    target: OrderStatus,
    reason: Reason,
    statuses: list[OrderStatus],
    fills: tuple[Fill, ...],
) -> MatchResult:
    """Move ``order`` to CANCELED or EXPIRED along legal transitions: a pending replace is refused
    first (-> accepted); a pending cancel that expires simply completes as canceled."""
    status = order.status
    if status == _S.PENDING_REPLACE:
        status = transition(status, _S.ACCEPTED)
        statuses.append(status)
    if status == _S.PENDING_CANCEL:
        target = _S.CANCELED
    statuses.append(transition(status, target))
    closed = dataclasses.replace(order, status=target)
    return MatchResult(closed, fills, reason, True, tuple(statuses))


# --- prices: what a fill would cost on this event, or None -------------------------------------------


def _bar_price(
    order: WorkingOrder, bar: Bar, slippage: SlippageModel, tick_size: Decimal
) -> tuple[WorkingOrder, Decimal | None]:
    order_type = order.order_type
    if order_type == OrderType.MARKET or (order.triggered and order_type != OrderType.STOP_LIMIT):
        return order, slippage.adjust(order.side, bar.open, tick_size)
    if order_type == OrderType.LIMIT or order.triggered:  # a triggered stop-limit is a limit order
        return order, _bar_limit_price(order.side == Side.BUY, _required(order.limit_price, "limit"), bar)
    if order_type == OrderType.TRAILING_STOP:
        return _bar_trailing(order, bar, slippage, tick_size)
    return _bar_stop(order, bar, slippage, tick_size)


def _bar_stop(
    order: WorkingOrder, bar: Bar, slippage: SlippageModel, tick_size: Decimal
) -> tuple[WorkingOrder, Decimal | None]:
    buy = order.side == Side.BUY
    stop = _required(order.stop_price, "stop_price")
    touched = _bar_stop_price(buy, stop, bar)
    if touched is None:
        return order, None
    triggered = dataclasses.replace(order, triggered=True)
    if order.order_type == OrderType.STOP:
        return triggered, slippage.adjust(order.side, touched, tick_size)
    limit = _required(order.limit_price, "limit_price")
    if bar.open >= stop if buy else bar.open <= stop:
        # triggered at the open: the whole bar comes after the trigger, so the plain limit rule holds
        return triggered, _bar_limit_price(buy, limit, bar)
    # triggered inside the bar at the stop price: fill there only if the stop is within the limit;
    # whether the bar reached the limit after the trigger is unknowable, so otherwise it rests
    return triggered, (stop if (stop <= limit if buy else stop >= limit) else None)


def _bar_trailing(
    order: WorkingOrder, bar: Bar, slippage: SlippageModel, tick_size: Decimal
) -> tuple[WorkingOrder, Decimal | None]:
    buy = order.side == Side.BUY
    water = bar.open if order.water_mark is None else order.water_mark
    stop = _round_away(_trail_level(order, water), buy, tick_size)
    touched = _bar_stop_price(buy, stop, bar)
    if touched is not None:
        triggered = dataclasses.replace(order, triggered=True, water_mark=water)
        return triggered, slippage.adjust(order.side, touched, tick_size)
    # only now move the mark: the bar's extreme may have come after its adverse move
    new_water = min(water, bar.low) if buy else max(water, bar.high)
    if new_water != order.water_mark:
        order = dataclasses.replace(order, water_mark=new_water)
    return order, None


def _bar_limit_price(buy: bool, limit: Decimal, bar: Bar) -> Decimal | None:
    if buy:
        if bar.low > limit:
            return None
        return bar.open if bar.open <= limit else limit
    if bar.high < limit:
        return None
    return bar.open if bar.open >= limit else limit


def _bar_stop_price(buy: bool, stop: Decimal, bar: Bar) -> Decimal | None:
    """The price a stop at ``stop`` triggers at on ``bar``: the open on a gap, else the stop, else None."""
    if buy:
        if bar.high < stop:
            return None
        return bar.open if bar.open >= stop else stop
    if bar.low > stop:
        return None
    return bar.open if bar.open <= stop else stop


def _quote_price(
    order: WorkingOrder, quote: Quote, slippage: SlippageModel, tick_size: Decimal
) -> tuple[WorkingOrder, Decimal | None]:
    order_type = order.order_type
    book = quote.ask if order.side == Side.BUY else quote.bid
    if order_type == OrderType.MARKET or (order.triggered and order_type != OrderType.STOP_LIMIT):
        return order, slippage.adjust(order.side, book, tick_size)
    if order_type == OrderType.LIMIT or order.triggered:
        return order, _quote_limit_price(order.side == Side.BUY, _required(order.limit_price, "limit"), book)
    if order_type == OrderType.TRAILING_STOP:
        return _quote_trailing(order, quote, slippage, tick_size)
    return _quote_stop(order, quote, slippage, tick_size)


def _quote_stop(
    order: WorkingOrder, quote: Quote, slippage: SlippageModel, tick_size: Decimal
) -> tuple[WorkingOrder, Decimal | None]:
    """Stops trigger on the last trade price and fill against the book."""
    buy = order.side == Side.BUY
    stop = _required(order.stop_price, "stop_price")
    if not (quote.last >= stop if buy else quote.last <= stop):
        return order, None
    triggered = dataclasses.replace(order, triggered=True)
    book = quote.ask if buy else quote.bid
    if order.order_type == OrderType.STOP:
        return triggered, slippage.adjust(order.side, book, tick_size)
    return triggered, _quote_limit_price(buy, _required(order.limit_price, "limit_price"), book)


def _quote_trailing(
    order: WorkingOrder, quote: Quote, slippage: SlippageModel, tick_size: Decimal
) -> tuple[WorkingOrder, Decimal | None]:
    buy = order.side == Side.BUY
    last = quote.last
    water = last if order.water_mark is None else order.water_mark
    stop = _round_away(_trail_level(order, water), buy, tick_size)
    if last >= stop if buy else last <= stop:
        triggered = dataclasses.replace(order, triggered=True, water_mark=water)
        return triggered, slippage.adjust(order.side, quote.ask if buy else quote.bid, tick_size)
    new_water = min(water, last) if buy else max(water, last)
    if new_water != order.water_mark:
        order = dataclasses.replace(order, water_mark=new_water)
    return order, None


def _quote_limit_price(buy: bool, limit: Decimal, book: Decimal) -> Decimal | None:
    """A limit order takes the opposite side of the book when it is at or better than the limit."""
    return book if (book <= limit if buy else book >= limit) else None


def _trail_level(order: WorkingOrder, water: Decimal) -> Decimal:
    buy = order.side == Side.BUY
    if order.trail_amount is not None:
        return water + order.trail_amount if buy else water - order.trail_amount
    percent = _required(order.trail_percent, "trail_amount or trail_percent")
    factor = 1 + percent / _HUNDRED if buy else 1 - percent / _HUNDRED
    return water * factor


def _round_away(stop: Decimal, buy: bool, tick_size: Decimal) -> Decimal:
    """A stop level on the tick, away from the market: buy stops up, sell stops down."""
    return quantize_to(stop, tick_size, ROUND_CEILING if buy else ROUND_FLOOR)


def _required(value: Decimal | None, name: str) -> Decimal:
    if value is None:
        raise ValueError(f"order has no {name}: validate it with validate_order before matching")
    return value


def _plain(value: Decimal) -> str:
    """A grid step as people write it: 0.0100000000 -> "0.01", 1E+1 -> "10"."""
    normalized = value.normalize()
    return f"{normalized:f}"
