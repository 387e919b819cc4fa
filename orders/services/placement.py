"""Placing an order: the request, its validation (instrument, tick and lot size, prices, legs), the
risk check, the order rows and their legs, then the account's venue.

``place_order`` only talks to the venue through the ``orders.venues.Venue`` protocol: the paper
venue answers inside this transaction with the acceptance and any fill; a broker venue would answer
``new`` and send the order after the commit. Either way the answer is stored by
``orders.services.persistence``, so placement and risk do not change when a venue is added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from accounts.models import TradingAccount
from marketdata import calendar
from marketdata.domain import Quote
from marketdata.models import Instrument
from marketdata.quotes import latest_quote
from marketdata.selectors import instrument_by_symbol
from orders import contingent, matching
from orders.models import LegRole, Order, OrderSource
from orders.services.limits import check_risk
from orders.services.persistence import persist, reference_price, to_working
from orders.services.unit_of_work import UnitOfWork, unit_of_work
from orders.states import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from orders.venues import venue_for
from tradeapp.core.decimals import floor_to
from tradeapp.core.errors import Conflict, DomainError


@dataclass(frozen=True, slots=True)
class LegRequest:
    """A take-profit (limit) or stop-loss (stop, stop_limit or trailing_stop) leg."""

    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a client asks for. Exactly one of ``quantity`` / ``notional`` (dollars, market orders on
    fractionable instruments). Bracket: ``take_profit`` and ``stop_loss``; OTO: one of them; OCO: both,
    as two exits of an existing position (the order itself is then the take-profit limit)."""

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    order_class: OrderClass = OrderClass.SIMPLE
    take_profit: LegRequest | None = None
    stop_loss: LegRequest | None = None
    client_order_id: str | None = None
    source: str = OrderSource.API
    algo_id: object = None  # the TWAP/VWAP parent this child order belongs to
    deployment_id: object = None  # the strategy deployment that sends it (source "strategy")


@dataclass(frozen=True, slots=True)
class Placement:
    order: Order
    created: bool


def place_order(*, account: TradingAccount, request: OrderRequest) -> Placement:
    """Validate, risk-check and place an order with the account's venue; on the paper venue a
    marketable order fills at once against the latest quote. Resubmitting a ``client_order_id``
    returns the order it made."""
    if request.client_order_id is not None and not 0 < len(request.client_order_id) <= 64:
        raise DomainError(
            "invalid_client_order_id", "client_order_id takes 1 to 64 characters.", "client_order_id"
        )
    instrument = instrument_by_symbol(request.symbol, active_only=True)
    with unit_of_work(account) as work:
        if request.client_order_id:
            existing = Order.objects.filter(
                account=work.account, client_order_id=request.client_order_id
            ).first()
            if existing is not None:
                return Placement(existing, created=False)
        quote = latest_quote(instrument.symbol)
        entry, legs = _validate(request, instrument, quote, work.now)
        check_risk(work, instrument, entry, quote)
        role = LegRole.OCO if request.order_class == OrderClass.OCO else (LegRole.ENTRY if legs else "")
        row = create_row(work, instrument, entry, request, role=role)
        for leg_role, working in legs:
            _create_leg(work, instrument, working, request, parent=row, role=leg_role)
        result = venue_for(work.account).submit(
            dataclasses.replace(entry, order_id=str(row.pk)), instrument=instrument, quote=quote, now=work.now
        )
        persist(work, row, result, quote=quote)
    return Placement(row, created=True)


def create_row(
    work: UnitOfWork,
    instrument: Instrument,
    working: matching.WorkingOrder,
    request: OrderRequest,
    *,
    role: str = "",
    parent_id: object = None,
    replaces: Order | None = None,
) -> Order:
    """Insert a NEW order row for ``working``; its ``new`` event is written with its first result."""
    row = Order.objects.create(
        account=work.account,
        instrument=instrument,
        client_order_id=request.client_order_id,
        side=working.side,
        order_type=working.order_type,
        order_class=request.order_class,
        time_in_force=working.time_in_force,
        quantity=working.quantity,
        notional=request.notional,
        limit_price=working.limit_price,
        stop_price=working.stop_price,
        trail_amount=working.trail_amount,
        trail_percent=working.trail_percent,
        expires_at=working.expires_at,
        status=OrderStatus.NEW,
        source=request.source,
        algo_id=request.algo_id,
        deployment_id=request.deployment_id,
        parent_id=parent_id,
        replaces=replaces,
        leg_role=role,
        created_at=work.now,
        updated_at=work.now,
    )
    work.event_counts[row.pk] = 0
    work.pending_statuses[row.pk] = [OrderStatus.NEW]
    return row


def _create_leg(
    work: UnitOfWork,
    instrument: Instrument,
    working: matching.WorkingOrder,
    request: OrderRequest,
    *,
    parent: Order,
    role: str,
) -> Order:
    if request.order_class == OrderClass.OCO:
        role = LegRole.OCO
    elif request.order_class == OrderClass.OTO:
        role = LegRole.CHILD
    leg_request = dataclasses.replace(request, client_order_id=None)
    row = create_row(work, instrument, working, leg_request, role=role, parent_id=parent.pk)
    # an OCO's two orders both work from the start; bracket / OTO legs wait for the entry's fill
    persist(work, row, contingent.open_leg(to_working(row), request.order_class), quote=None)
    return row


# --- validation -----------------------------------------------------------------------------------


def raise_first_problem(problems: list[matching.OrderProblem]) -> None:
    """DomainError for the first of ``problems`` (the sentence capitalised), if any."""
    if problems:
        first = problems[0]
        raise DomainError(first.code, first.message[:1].upper() + first.message[1:], first.field)


def validate_working(working: matching.WorkingOrder, instrument: Instrument) -> None:
    """Raise the first problem of ``working`` against the instrument's tick, lot and minimum."""
    raise_first_problem(
        matching.validate_order(
            working,
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
            min_quantity=instrument.min_quantity,
        )
    )


def expiry_of(instrument: Instrument, time_in_force: TimeInForce, now: datetime) -> datetime | None:
    """DAY orders expire at the session's close (the next one when the market is closed); on markets
    without sessions (crypto) at the next UTC midnight."""
    if time_in_force != TimeInForce.DAY:
        return None
    close = calendar.next_close(instrument.asset_class, now)
    if close is not None:
        return close
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def _validate(
    request: OrderRequest, instrument: Instrument, quote: Quote | None, now: datetime
) -> tuple[matching.WorkingOrder, list[tuple[str, matching.WorkingOrder]]]:
    """The entry and leg working orders of ``request``, or DomainError naming the field."""
    if not instrument.tradable:
        raise DomainError("instrument_not_tradable", f"{instrument.symbol} is not tradable.", "symbol")
    quantity = _quantity_of(request, instrument, quote)
    entry = dataclasses.replace(
        _bare_working(request, instrument, quantity),
        expires_at=expiry_of(instrument, request.time_in_force, now),
    )
    validate_working(entry, instrument)
    if not calendar.is_open(instrument.asset_class, now) and request.time_in_force in (
        TimeInForce.IOC,
        TimeInForce.FOK,
    ):
        raise DomainError(
            "market_closed",
            f"The {instrument.asset_class} market is closed: an {request.time_in_force.upper()} order "
            "cannot wait for the open. Use a day or GTC order.",
            "time_in_force",
        )
    return entry, _legs(request, instrument, entry)


def _quantity_of(request: OrderRequest, instrument: Instrument, quote: Quote | None) -> Decimal:
    if (request.quantity is None) == (request.notional is None):
        raise DomainError("invalid_quantity", "Give either a quantity or a notional amount.", "quantity")
    if request.quantity is not None:
        return request.quantity
    notional = request.notional
    assert notional is not None
    if request.order_type != OrderType.MARKET:
        raise DomainError("invalid_notional", "Dollar amounts are for market orders only.", "notional")
    if not instrument.fractionable:
        raise DomainError(
            "not_fractionable", f"{instrument.symbol} trades in whole units: give a quantity.", "notional"
        )
    if notional <= 0:
        raise DomainError("invalid_notional", "The amount must be positive.", "notional")
    price = reference_price(_bare_working(request, instrument, Decimal(1)), quote)
    if price is None:
        raise Conflict("no_quote", f"No price for {instrument.symbol} yet: try again shortly.", "symbol")
    quantity = floor_to(notional / price, instrument.lot_size)
    if quantity < instrument.min_quantity:
        raise DomainError(
            "below_min_quantity",
            f"{notional} buys less than the minimum quantity of {instrument.min_quantity.normalize()}.",
            "notional",
        )
    return quantity


def _bare_working(
    request: OrderRequest | LegRequest,
    instrument: Instrument,
    quantity: Decimal,
    *,
    side: Side | None = None,
    time_in_force: TimeInForce = TimeInForce.GTC,
    order_id: str = "new",
) -> matching.WorkingOrder:
    return matching.WorkingOrder(
        order_id=order_id,
        symbol=instrument.symbol,
        side=side or request.side,  # type: ignore[union-attr]
        order_type=request.order_type,
        quantity=quantity,
        time_in_force=getattr(request, "time_in_force", time_in_force),
        limit_price=request.limit_price,
        stop_price=request.stop_price,
        trail_amount=request.trail_amount,
        trail_percent=request.trail_percent,
    )


def _legs(
    request: OrderRequest, instrument: Instrument, entry: matching.WorkingOrder
) -> list[tuple[str, matching.WorkingOrder]]:
    order_class = request.order_class
    given = [("take_profit", request.take_profit), ("stop_loss", request.stop_loss)]
    present = [(role, leg) for role, leg in given if leg is not None]
    if order_class == OrderClass.SIMPLE:
        if present:
            raise DomainError(
                "invalid_order_class", "Legs need order_class bracket, oco or oto.", "order_class"
            )
        return []
    expected = {OrderClass.BRACKET: 2, OrderClass.OCO: 1, OrderClass.OTO: 1}[order_class]
    if order_class == OrderClass.OCO:
        present = [(role, leg) for role, leg in present if role == "stop_loss"]
    if len(present) != expected:
        field = "stop_loss" if order_class == OrderClass.OCO else "take_profit"
        raise DomainError(
            "invalid_order_class",
            {
                OrderClass.BRACKET: "A bracket needs a take_profit and a stop_loss.",
                OrderClass.OCO: "An OCO order is a limit (the take-profit) plus a stop_loss leg.",
                OrderClass.OTO: "An OTO order needs exactly one of take_profit / stop_loss.",
            }[order_class],
            field,
        )
    exit_side = (
        entry.side if order_class == OrderClass.OCO else (Side.SELL if entry.side == Side.BUY else Side.BUY)
    )
    legs = []
    for role, leg in present:
        assert leg is not None
        working = _bare_working(
            leg,
            instrument,
            entry.quantity,
            side=exit_side,
            time_in_force=TimeInForce.GTC if request.time_in_force != TimeInForce.DAY else TimeInForce.DAY,
            order_id=f"leg-{role}",
        )
        working = dataclasses.replace(working, expires_at=entry.expires_at)
        raise_first_problem(
            [
                problem._replace(field=f"{role}.{problem.field}")
                for problem in matching.validate_order(
                    working,
                    tick_size=instrument.tick_size,
                    lot_size=instrument.lot_size,
                    min_quantity=instrument.min_quantity,
                )
            ]
        )
        legs.append((role, working))
    raise_first_problem(contingent.group_problems(_group_for_validation(order_class, entry, legs)))
    return legs


def _group_for_validation(
    order_class: OrderClass, entry: matching.WorkingOrder, legs: list[tuple[str, matching.WorkingOrder]]
) -> contingent.ContingentGroup:
    workings = dict(legs)
    if order_class == OrderClass.BRACKET:
        return contingent.bracket(entry, workings["take_profit"], workings["stop_loss"])
    if order_class == OrderClass.OTO:
        return contingent.oto(entry, next(iter(workings.values())))
    return contingent.oco(entry, workings["stop_loss"])
