"""Order use cases, each one transaction: place, replace, cancel, cancel all, close position(s), the
paper broker's evaluation of resting orders and position exits on new prices, expiry, the kill switch.

Locking policy (the one order everywhere, so concurrent requests cannot deadlock): the account row
first (``select_for_update``), then order rows, then position rows. Holding the account row is what
makes "check buying power, then reserve it" safe with two web processes and two workers: a second
order for the same account waits until the first one's transaction has committed.

The fill rules are ``orders.matching`` (pure; the backtester uses it too), the contingent-group rules
``orders.contingent``, the risk rules ``orders.risk``; positions and cash move in
``portfolio.services.apply_fill``. Websocket messages go out after the commit.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import TradingAccount
from marketdata import calendar
from marketdata.domain import Quote
from marketdata.models import Instrument
from marketdata.quotes import latest_quote
from orders import contingent, matching, risk
from orders.models import (
    OPEN_STATUS_VALUES,
    AlgoOrder,
    LegRole,
    Order,
    OrderEvent,
    OrderSource,
    RiskSettings,
    TradingControls,
)
from orders.models import Fill as FillRow
from orders.states import (
    TERMINAL_STATUSES,
    OrderClass,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
    transition,
)
from portfolio import services as portfolio_services
from portfolio.models import Position
from tradeapp.core import clock
from tradeapp.core.decimals import floor_to, to_decimal
from tradeapp.core.errors import Conflict, DomainError, NotFound

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
MATCHABLE_STATUSES = [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]

REASON_MESSAGES = {
    Reason.IOC_UNFILLED: "Immediate-or-cancel: the part that could not fill at once was canceled.",
    Reason.FOK_UNFILLABLE: "Fill-or-kill: the whole quantity could not fill at once, so nothing did.",
    Reason.DAY_SESSION_CLOSED: "Day order: the session closed before it filled.",
    Reason.EXPIRY_REACHED: "The order reached its expiry time.",
    Reason.OCO_SIBLING_FILLED: "Canceled because the other order of its group filled.",
    Reason.BRACKET_EXIT_FILLED: "Canceled because an exit of its bracket closed the position.",
    Reason.PARENT_CANCELED: "Canceled because its entry order ended without a fill.",
    Reason.USER_CANCELED: "Canceled at your request.",
}


# --- requests -------------------------------------------------------------------------------------------


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


# --- configuration --------------------------------------------------------------------------------------


def execution_config() -> matching.ExecutionConfig:
    """The paper broker's fill model from settings (PAPER_SLIPPAGE_BPS, PAPER_COMMISSION_*)."""
    slippage_bps = to_decimal(settings.PAPER_SLIPPAGE_BPS)
    per_share = to_decimal(settings.PAPER_COMMISSION_PER_SHARE)
    commission_bps = to_decimal(settings.PAPER_COMMISSION_BPS)
    commission: Any = matching.NoCommission()
    if per_share > 0:
        commission = matching.PerShare(per_share)
    elif commission_bps > 0:
        commission = matching.BpsCommission(commission_bps)
    slippage: Any = matching.BpsSlippage(slippage_bps) if slippage_bps > 0 else matching.NoSlippage()
    return matching.ExecutionConfig(slippage=slippage, commission=commission)


def trading_controls() -> TradingControls:
    controls, _ = TradingControls.objects.get_or_create(id=1)
    return controls


def risk_settings_of(account: TradingAccount) -> RiskSettings:
    settings_row, _ = RiskSettings.objects.get_or_create(account=account)
    return settings_row


def risk_limits(row: RiskSettings, controls: TradingControls | None = None) -> risk.RiskLimits:
    """The limits that apply: the account's own, never looser than the platform's caps."""
    controls = controls or trading_controls()

    def capped(value: Decimal | None, cap: Decimal | int) -> Decimal:
        cap = Decimal(cap)  # a row just created holds the int default
        return cap if value is None else min(value, cap)

    return risk.RiskLimits(
        max_position_pct=capped(row.max_position_pct, controls.max_position_pct_cap),
        max_order_notional=capped(row.max_order_notional, controls.max_order_notional_cap),
        max_open_orders=min(
            row.max_open_orders or controls.max_open_orders_cap, controls.max_open_orders_cap
        ),
        daily_loss_limit=row.daily_loss_limit,
        exposure_limit_pct={key: to_decimal(str(value)) for key, value in row.exposure_limit_pct.items()},
        allow_short=row.allow_short and controls.shorting_permitted,
    )


RISK_FIELDS = (
    "max_position_pct",
    "max_order_notional",
    "max_open_orders",
    "daily_loss_limit",
    "exposure_limit_pct",
    "allow_short",
)


def update_risk_settings(*, account: TradingAccount, **values: Any) -> RiskSettings:
    """Set the account's own limits (None: the platform's cap applies) within the admin's bounds."""
    from marketdata.domain import AssetClass

    controls = trading_controls()
    unknown = sorted(set(values) - set(RISK_FIELDS))
    if unknown:
        raise DomainError("unknown_field", "Unknown field.", unknown[0])
    bounds = {
        "max_position_pct": controls.max_position_pct_cap,
        "max_order_notional": controls.max_order_notional_cap,
        "max_open_orders": controls.max_open_orders_cap,
    }
    for field, cap in bounds.items():
        value = values.get(field)
        if value is not None and not 0 < value <= cap:
            raise DomainError(
                "out_of_bounds", f"{field.replace('_', ' ')} must be above 0 and at most {cap}.", field
            )
    if values.get("daily_loss_limit") is not None and values["daily_loss_limit"] <= 0:
        raise DomainError("out_of_bounds", "The daily loss limit must be positive.", "daily_loss_limit")
    exposure = values.get("exposure_limit_pct") or {}
    for asset_class, pct in exposure.items():
        if asset_class not in AssetClass.__members__.values() or not 0 < to_decimal(str(pct)) <= 1000:
            raise DomainError(
                "out_of_bounds", f"Exposure limit for {asset_class!r} is not valid.", "exposure_limit_pct"
            )
    if values.get("allow_short") and not controls.shorting_permitted:
        raise DomainError(
            "short_selling_not_permitted", "Short selling is disabled on this platform.", "allow_short"
        )
    with transaction.atomic():
        _lock_account(account)
        row = RiskSettings.objects.select_for_update().get_or_create(account=account)[0]
        for field, value in values.items():
            setattr(
                row, field, {k: str(v) for k, v in value.items()} if field == "exposure_limit_pct" else value
            )
        row.save()
        return row


# --- conversions between rows and the pure model ------------------------------------------------------


def to_working(row: Order) -> matching.WorkingOrder:
    return matching.WorkingOrder(
        order_id=str(row.pk),
        symbol=row.instrument.symbol,
        side=Side(row.side),
        order_type=OrderType(row.order_type),
        quantity=row.quantity,
        time_in_force=TimeInForce(row.time_in_force),
        status=OrderStatus(row.status),
        filled_quantity=row.filled_quantity,
        limit_price=row.limit_price,
        stop_price=row.stop_price,
        trail_amount=row.trail_amount,
        trail_percent=row.trail_percent,
        triggered=row.triggered,
        water_mark=row.water_mark,
        expires_at=row.expires_at,
        average_fill_price=row.average_fill_price,
        fill_count=row.fill_count,
    )


def _copy_state(row: Order, working: matching.WorkingOrder) -> None:
    row.status = working.status
    row.quantity = working.quantity
    row.filled_quantity = working.filled_quantity
    row.average_fill_price = working.average_fill_price
    row.fill_count = working.fill_count
    row.triggered = working.triggered
    row.water_mark = working.water_mark


def _append_events(
    row: Order,
    statuses: Iterable[OrderStatus],
    *,
    now: datetime,
    kind: str = OrderEvent.Kind.STATUS,
    reason: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    # statuses a new row entered before its first persist (NEW, HELD) go out in the same insert
    statuses = [*getattr(row, "pending_statuses", []), *statuses]
    row.pending_statuses = []
    if not statuses:
        return
    # the order row is locked: counting once per row object is safe, later appends add to it
    known = getattr(row, "event_count", None)
    start = (OrderEvent.objects.filter(order=row).count() if known is None else known) + 1
    row.event_count = start - 1 + len(statuses)
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=row,
            sequence=start + index,
            kind=(
                OrderEvent.Kind.FILL
                if status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
                and kind == OrderEvent.Kind.STATUS
                else kind
            ),
            status=status,
            reason_code=reason if index == len(statuses) - 1 else "",
            message=message if index == len(statuses) - 1 else "",
            data=data or {},
            created_at=now,
        )
        for index, status in enumerate(statuses)
    )


# --- placement ----------------------------------------------------------------------------------------


def _lock_account(account: TradingAccount | object) -> TradingAccount:
    account_id = account.pk if isinstance(account, TradingAccount) else account
    return TradingAccount.objects.select_for_update().get(pk=account_id)


def _fresh(quote: Quote | None, now: datetime) -> Quote | None:
    if quote is None or now - quote.ts > timedelta(seconds=settings.QUOTE_MAX_AGE_SECONDS):
        return None
    return quote


def _expiry(instrument: Instrument, time_in_force: TimeInForce, now: datetime) -> datetime | None:
    """DAY orders expire at the session's close (the next one when the market is closed); on markets
    without sessions (crypto) at the next UTC midnight."""
    if time_in_force != TimeInForce.DAY:
        return None
    close = calendar.next_close(instrument.asset_class, now)
    if close is not None:
        return close
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def _reference_price(working: matching.WorkingOrder, quote: Quote | None) -> Decimal | None:
    """The price risk checks and reservations assume: the limit for limit-type orders, else the
    side of the book the order would take (or its stop, whichever is worse for the account)."""
    if working.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return working.limit_price
    book = None
    if quote is not None:
        book = quote.ask if working.side == Side.BUY else quote.bid
    if working.order_type == OrderType.STOP and working.stop_price is not None:
        if book is None:
            return working.stop_price
        return max(book, working.stop_price) if working.side == Side.BUY else min(book, working.stop_price)
    return book


def _problem(problems: list[matching.OrderProblem]) -> None:
    if problems:
        first = problems[0]
        raise DomainError(first.code, first.message[:1].upper() + first.message[1:], first.field)


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
    price = _reference_price(_bare_working(request, instrument, Decimal(1)), quote)
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


def _validate(request: OrderRequest, instrument: Instrument, quote: Quote | None, now: datetime) -> tuple:
    """The entry and leg working orders of ``request``, or DomainError naming the field."""
    if not instrument.tradable:
        raise DomainError("instrument_not_tradable", f"{instrument.symbol} is not tradable.", "symbol")
    quantity = _quantity_of(request, instrument, quote)
    entry = dataclasses.replace(
        _bare_working(request, instrument, quantity),
        expires_at=_expiry(instrument, request.time_in_force, now),
    )
    _problem(
        matching.validate_order(
            entry,
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
            min_quantity=instrument.min_quantity,
        )
    )
    market_open = calendar.is_open(instrument.asset_class, now)
    if not market_open and request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        raise DomainError(
            "market_closed",
            f"The {instrument.asset_class} market is closed: an {request.time_in_force.upper()} order "
            "cannot wait for the open. Use a day or GTC order.",
            "time_in_force",
        )
    legs = _legs(request, instrument, entry)
    return entry, legs, market_open


def _legs(
    request: OrderRequest, instrument: Instrument, entry: matching.WorkingOrder
) -> list[tuple[str, matching.WorkingOrder]]:
    order_class = request.order_class
    given = [
        (role, leg) for role, leg in (("take_profit", request.take_profit), ("stop_loss", request.stop_loss))
    ]
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
        _problem(
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
    group = _group_for_validation(order_class, entry, legs)
    _problem(contingent.group_problems(group))
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


def _account_snapshot(
    account: TradingAccount, context: Any, extra_reserved: Decimal = ZERO
) -> risk.AccountSnapshot:
    from portfolio.selectors import account_valuation

    # read under the account lock, so current for the rest of this transaction: _store_fill reuses them
    rows = list(Position.objects.filter(account=account).select_related("instrument"))
    account.locked_positions = {row.instrument_id: row for row in rows}
    valuation = account_valuation(account, cash=account.cash, rows=rows)
    # a short position's market value is held back too: its proceeds sit in cash
    short_hold = -valuation.short_value
    return risk.AccountSnapshot(
        cash=valuation.cash,
        equity=valuation.equity,
        start_of_day_equity=context.start_of_day_equity,
        reserved_buying_power=context.reserved_cash + extra_reserved + short_hold,
        open_orders_count=context.open_orders,
        positions={
            p.instrument.symbol: risk.PositionExposure(
                quantity=p.position.quantity,
                market_value=p.market_value,
                asset_class=p.instrument.asset_class,
            )
            for p in valuation.positions
        },
        halted=account.is_halted,
        halted_reason=account.halted_reason,
        currency=account.base_currency,
    )


def check_risk(
    account: TradingAccount,
    instrument: Instrument,
    working: matching.WorkingOrder,
    quote: Quote | None,
    *,
    released: Decimal = ZERO,
) -> None:
    """Raise the first risk rejection (HTTP 422, with its reason code) for ``working``. Call with the
    account row locked. ``released`` is cash an order being replaced stops reserving."""
    price = _reference_price(working, quote)
    if price is None:
        raise Conflict("no_quote", f"No price for {instrument.symbol} yet: try again shortly.", "symbol")
    intent = risk.OrderIntent(
        symbol=instrument.symbol,
        asset_class=instrument.asset_class,
        side=working.side,
        quantity=working.remaining_quantity,
        estimated_price=price,
        shortable=instrument.shortable,
        tradable=instrument.tradable,
    )
    from orders.selectors import risk_context

    context = risk_context(account, clock.now())
    rejection = risk.check_order(
        intent,
        _account_snapshot(account, context, -released),
        risk_limits(context.settings, context.controls),
        kill_switch=context.controls.kill_switch,
    )
    if rejection is not None:
        raise DomainError(rejection.code, rejection.message, rejection.field, status=422)


def _reservation(working: matching.WorkingOrder, quote: Quote | None, leg: bool = False) -> Decimal:
    """Cash an open buy order holds back: its remaining quantity at its reference price."""
    if leg or working.side != Side.BUY or working.status in TERMINAL_STATUSES:
        return ZERO
    if working.status == OrderStatus.HELD:
        return ZERO
    price = _reference_price(working, quote) or ZERO
    return working.remaining_quantity * price


def place_order(*, account: TradingAccount, request: OrderRequest) -> Placement:
    """Validate, risk-check and place an order; on the paper broker a marketable order fills at once
    against the latest quote. Resubmitting a ``client_order_id`` returns the order it made."""
    from marketdata.selectors import instrument_by_symbol

    if request.client_order_id is not None and not 0 < len(request.client_order_id) <= 64:
        raise DomainError(
            "invalid_client_order_id", "client_order_id takes 1 to 64 characters.", "client_order_id"
        )
    instrument = instrument_by_symbol(request.symbol, active_only=True)
    now = clock.now()
    with transaction.atomic():
        account = _lock_account(account)
        if request.client_order_id:
            existing = Order.objects.filter(account=account, client_order_id=request.client_order_id).first()
            if existing is not None:
                return Placement(existing, created=False)
        quote = latest_quote(instrument.symbol)
        entry, legs, market_open = _validate(request, instrument, quote, now)
        check_risk(account, instrument, entry, quote)
        row = _create_row(account, instrument, entry, request, now, role=LegRole.ENTRY if legs else "")
        if request.order_class == OrderClass.OCO:
            row.leg_role = LegRole.OCO
            row.save(update_fields=["leg_role"])
        leg_rows = [
            _create_leg(account, instrument, working, request, now, parent=row, role=role)
            for role, working in legs
        ]
        working = dataclasses.replace(entry, order_id=str(row.pk))
        result = matching.on_submit(
            working,
            _fresh(quote, now) if market_open else None,
            config=execution_config(),
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
        )
        touched = [row, *leg_rows]
        touched += _persist(row, result, account=account, instrument=instrument, quote=quote, now=now)
        _after_commit(account, touched)
    return Placement(row, created=True)


def _create_row(
    account: TradingAccount,
    instrument: Instrument,
    working: matching.WorkingOrder,
    request: OrderRequest,
    now: datetime,
    *,
    role: str = "",
) -> Order:
    row = Order.objects.create(
        account=account,
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
        leg_role=role,
        created_at=now,
        updated_at=now,
    )
    row.event_count = 0
    row.pending_statuses = [OrderStatus.NEW]  # written with the row's next events (_append_events)
    return row


def _create_leg(
    account: TradingAccount,
    instrument: Instrument,
    working: matching.WorkingOrder,
    request: OrderRequest,
    now: datetime,
    *,
    parent: Order,
    role: str,
) -> Order:
    leg_request = dataclasses.replace(request, client_order_id=None)
    row = _create_row(account, instrument, working, leg_request, now, role=role)
    row.parent = parent
    if request.order_class == OrderClass.OCO:
        row.leg_role = LegRole.OCO
        target = OrderStatus.ACCEPTED  # an OCO's two orders both work from the start
    else:
        target = OrderStatus.HELD  # bracket / OTO legs wait for the entry's fill
        row.leg_role = LegRole.CHILD if request.order_class == OrderClass.OTO else role
    row.status = target
    row.save(update_fields=["parent", "leg_role", "status"])
    _append_events(row, [target], now=now)
    return row


# --- applying a match result -------------------------------------------------------------------------


def _persist(
    row: Order,
    result: matching.MatchResult,
    *,
    account: TradingAccount,
    instrument: Instrument,
    quote: Quote | None,
    now: datetime,
    kind: str = OrderEvent.Kind.STATUS,
) -> list[Order]:
    """Store ``result`` for ``row`` (account and order rows locked): its fills (to the portfolio),
    status events, reservation; then run the contingent-group rules. Returns other orders touched."""
    if not result.changed:
        _append_events(row, [], now=now)  # a new row's pending NEW event still gets written
        return []
    for fill in result.fills:
        _store_fill(row, account, fill.sequence, fill.quantity, fill.price, fill.commission, fill.ts)
    working = result.order
    _copy_state(row, working)
    if result.reason is not None:
        row.reason_code = result.reason.value
        row.reason_message = REASON_MESSAGES.get(result.reason, "")
    row.reserved_cash = _reservation(working, quote, leg=bool(row.parent_id) or row.leg_role != "")
    row.updated_at = now
    if working.status in TERMINAL_STATUSES and row.closed_at is None:
        row.closed_at = now
    row.save()
    _append_events(
        row,
        result.statuses,
        now=now,
        kind=kind,
        reason=row.reason_code if result.reason else "",
        message=row.reason_message if result.reason else "",
        data={"fills": [str(f.sequence) for f in result.fills]} if result.fills else None,
    )
    if row.order_class == OrderClass.SIMPLE:
        return []
    return _run_group(row, result, account=account, instrument=instrument, quote=quote, now=now)


def _store_fill(  # noqa: PLR0917 - the fill's own fields, in the order a fill reads
    row: Order,
    account: TradingAccount,
    sequence: int,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
    executed_at: datetime,
) -> FillRow:
    """Store one fill of ``row`` under its unique (order, sequence) key and apply it to the position
    and the cash ledger (account and order rows locked). It is announced after the commit."""
    fill_id = uuid.uuid4()
    # the ledger lines reference the fill before it is inserted: foreign keys are checked at commit
    applied = portfolio_services.apply_fill(
        account=account,
        instrument=row.instrument,
        position=getattr(account, "locked_positions", {}).get(row.instrument_id),
        fill_id=fill_id,
        side=row.side,
        quantity=quantity,
        price=price,
        commission=commission,
        executed_at=executed_at,
    )
    fill_row = FillRow.objects.create(
        id=fill_id,
        order=row,
        account=account,
        instrument=row.instrument,
        sequence=sequence,
        side=row.side,
        quantity=quantity,
        price=price,
        commission=commission,
        realized_pnl=applied.realized_pnl,
        executed_at=executed_at,
    )
    row.new_fills = [*getattr(row, "new_fills", []), fill_row]  # announced after the commit
    return fill_row


def _group_rows(row: Order) -> tuple[Order | None, list[Order]]:
    """(parent, legs) of ``row``'s group, locked, legs in (take_profit, stop_loss) order."""
    head_id = row.parent_id or row.pk
    rows = list(
        Order.objects.select_for_update()
        .select_related("instrument")
        .filter(Q(pk=head_id) | Q(parent_id=head_id))
    )
    head = next(r for r in rows if r.pk == head_id)
    legs = sorted((r for r in rows if r.pk != head_id), key=lambda r: r.leg_role != LegRole.TAKE_PROFIT)
    if row.order_class == OrderClass.OCO:
        return None, [head, *legs]
    return head, legs


def _run_group(
    row: Order,
    result: matching.MatchResult,
    *,
    account: TradingAccount,
    instrument: Instrument,
    quote: Quote | None,
    now: datetime,
) -> list[Order]:
    parent, legs = _group_rows(row)
    by_id = {str(r.pk): r for r in ([parent] if parent else []) + legs}
    by_id[str(row.pk)] = row  # the caller's row carries the newest state
    workings = {key: to_working(value) for key, value in by_id.items()}
    leg_workings = tuple(workings[str(leg.pk)] for leg in legs)
    if row.order_class == OrderClass.BRACKET:
        group = contingent.ContingentGroup(OrderClass.BRACKET, workings[str(parent.pk)], leg_workings)
    elif row.order_class == OrderClass.OTO:
        group = contingent.ContingentGroup(OrderClass.OTO, workings[str(parent.pk)], leg_workings)
    else:
        group = contingent.ContingentGroup(OrderClass.OCO, None, leg_workings)
    if result.fills:
        actions = contingent.after_fill(group, str(row.pk))
    elif result.order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
        actions = contingent.after_cancel(group, str(row.pk))
    else:
        actions = []
    touched = []
    for action in actions:
        target = by_id[action.order_id]
        outcome = contingent.apply_action(to_working(target), action)
        if isinstance(action, contingent.ResizeLeg):
            _copy_state(target, outcome.order)
            target.updated_at = now
            target.save()
            continue
        touched.append(target)
        touched += _persist(target, outcome, account=account, instrument=instrument, quote=quote, now=now)
    return touched


def _after_commit(account: TradingAccount, rows: list[Order]) -> None:
    """Announce ``rows`` and their new fills to the owner once the transaction commits. The payloads
    are taken from these row objects (the state this transaction wrote), so announcing costs no
    query: two Redis round trips."""
    owner_id = account.owner_id
    unique = list({str(row.pk): row for row in rows}.values())

    def publish() -> None:
        from orders.streams import publish_orders

        publish_orders(owner_id=owner_id, orders=unique)

    transaction.on_commit(publish)


# --- cancel, replace, close ----------------------------------------------------------------------------


def _lock_order(account: TradingAccount, order_id: object) -> Order:
    try:
        return (
            Order.objects.select_for_update().select_related("instrument").get(pk=order_id, account=account)
        )
    except (Order.DoesNotExist, ValidationError, ValueError, TypeError) as error:
        raise NotFound("No such order.", "order_id") from error


def _not_open(row: Order, verb: str) -> Conflict:
    return Conflict(
        "order_not_open", f"The order is {row.status.replace('_', ' ')}: it cannot be {verb}.", "order_id"
    )


def cancel_order(
    *, account: TradingAccount, order_id: object, reason: Reason = Reason.USER_CANCELED
) -> Order:
    """Cancel an open order of ``account`` (the paper broker cancels at once). 404 for another
    account's order; 409 ``order_not_open`` when it has already filled, been canceled, ..."""
    now = clock.now()
    with transaction.atomic():
        account = _lock_account(account)
        row = _lock_order(account, order_id)
        if row.status in TERMINAL_STATUSES:
            raise _not_open(row, "canceled")
        touched = _cancel_locked(row, account=account, reason=reason, now=now)
        _after_commit(account, touched)
    return row


def _cancel_locked(row: Order, *, account: TradingAccount, reason: Reason, now: datetime) -> list[Order]:
    result = matching.cancel_order(to_working(row), reason)
    return [row, *_persist(row, result, account=account, instrument=row.instrument, quote=None, now=now)]


def cancel_all_orders(
    *,
    account: TradingAccount,
    reason: Reason = Reason.USER_CANCELED,
    symbol: str | None = None,
    note: tuple[str, str] | None = None,
) -> list[Order]:
    """Cancel every open order of the account (or of one symbol). Returns the orders canceled.
    ``note`` = (reason code, sentence) overrides the stored reason (kill switch, halts)."""
    now = clock.now()
    with transaction.atomic():
        account = _lock_account(account)
        rows = (
            Order.objects.select_for_update()
            .select_related("instrument")
            .filter(account=account, status__in=OPEN_STATUS_VALUES)
        )
        if symbol is not None:
            rows = rows.filter(instrument__symbol=symbol)
        canceled, touched = [], []
        for row in rows.order_by("created_at"):
            row.refresh_from_db()  # an earlier cancel in this loop may have closed it (group rules)
            if row.status in TERMINAL_STATUSES:
                continue
            touched += _cancel_locked(row, account=account, reason=reason, now=now)
            if note is not None:
                row.reason_code, row.reason_message = note
                row.save(update_fields=["reason_code", "reason_message"])
            canceled.append(row)
        _after_commit(account, touched)
    return canceled


@dataclass(frozen=True, slots=True)
class Replacement:
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


def replace_order(*, account: TradingAccount, order_id: object, changes: Replacement) -> Order:
    """Replace an open order by a new one with the changed quantity (the new total), prices or time in
    force: the old order ends ``replaced``, the new one points at it and carries its legs. What the old
    one filled stays filled; the new one works the rest."""
    now = clock.now()
    with transaction.atomic():
        account = _lock_account(account)
        old = _lock_order(account, order_id)
        if old.status in TERMINAL_STATUSES or old.status == OrderStatus.HELD:
            raise _not_open(old, "replaced")
        instrument = old.instrument
        total = changes.quantity if changes.quantity is not None else old.quantity
        if total <= old.filled_quantity:
            raise DomainError(
                "invalid_quantity",
                f"The new quantity must be above what has filled ({old.filled_quantity.normalize()}).",
                "quantity",
            )
        tif = changes.time_in_force or TimeInForce(old.time_in_force)
        working = dataclasses.replace(
            to_working(old),
            order_id="replacement",
            status=OrderStatus.NEW,
            quantity=total - old.filled_quantity,
            filled_quantity=ZERO,
            average_fill_price=None,
            fill_count=0,
            limit_price=changes.limit_price if changes.limit_price is not None else old.limit_price,
            stop_price=changes.stop_price if changes.stop_price is not None else old.stop_price,
            trail_amount=changes.trail_amount if changes.trail_amount is not None else old.trail_amount,
            trail_percent=changes.trail_percent if changes.trail_percent is not None else old.trail_percent,
            time_in_force=tif,
            expires_at=_expiry(instrument, tif, now) if tif != old.time_in_force else old.expires_at,
        )
        _problem(
            matching.validate_order(
                working,
                tick_size=instrument.tick_size,
                lot_size=instrument.lot_size,
                min_quantity=instrument.min_quantity,
            )
        )
        quote = latest_quote(instrument.symbol)
        if not old.leg_role:
            check_risk(account, instrument, working, quote, released=old.reserved_cash)
        # the old order ends first (its reservation is released), then the new one is placed
        old_result = matching.MatchResult(
            dataclasses.replace(to_working(old), status=OrderStatus.REPLACED),
            changed=True,
            statuses=(OrderStatus.REPLACED,),
        )
        old.reserved_cash = ZERO
        _copy_state(old, old_result.order)
        old.closed_at = old.updated_at = now
        old.reason_code, old.reason_message = "replaced", "Replaced by a modified order."
        old.save()
        _append_events(old, [OrderStatus.REPLACED], now=now, kind=OrderEvent.Kind.REPLACE, reason="replaced")
        request = OrderRequest(
            symbol=instrument.symbol,
            side=working.side,
            order_type=working.order_type,
            quantity=working.quantity,
            time_in_force=tif,
            order_class=OrderClass(old.order_class),
            client_order_id=changes.client_order_id,
            source=old.source,
        )
        new = _create_row(account, instrument, working, request, now, role=old.leg_role)
        new.replaces, new.parent_id, new.algo_id = old, old.parent_id, old.algo_id
        new.deployment_id = old.deployment_id
        new.save(update_fields=["replaces", "parent", "algo", "deployment_id"])
        Order.objects.filter(parent=old).update(parent=new)
        market_open = calendar.is_open(instrument.asset_class, now)
        result = matching.on_submit(
            dataclasses.replace(working, order_id=str(new.pk)),
            _fresh(quote, now) if market_open else None,
            config=execution_config(),
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
        )
        touched = [
            old,
            new,
            *_persist(new, result, account=account, instrument=instrument, quote=quote, now=now),
        ]
        _after_commit(account, touched)
    return new


def close_position(*, account: TradingAccount, symbol: str, source: str = OrderSource.API) -> Placement:
    """Cancel the symbol's open orders, then send a market order that flattens the position."""
    from marketdata.selectors import instrument_by_symbol

    instrument = instrument_by_symbol(symbol)
    position = Position.objects.filter(account=account, instrument=instrument).exclude(quantity=0).first()
    if position is None:
        raise NotFound(f"No open position in {instrument.symbol}.", "symbol")
    with transaction.atomic():
        cancel_all_orders(account=account, symbol=instrument.symbol)
        position.refresh_from_db()
        if position.quantity == 0:
            raise NotFound(f"No open position in {instrument.symbol}.", "symbol")
        side = Side.SELL if position.quantity > 0 else Side.BUY
        tif = TimeInForce.GTC if instrument.asset_class == "crypto" else TimeInForce.DAY
        return place_order(
            account=account,
            request=OrderRequest(
                symbol=instrument.symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=abs(position.quantity),
                time_in_force=tif,
                source=source,
            ),
        )


def close_all_positions(*, account: TradingAccount, source: str = OrderSource.API) -> list[Placement]:
    symbols = list(
        Position.objects.filter(account=account)
        .exclude(quantity=0)
        .order_by("instrument__symbol")
        .values_list("instrument__symbol", flat=True)
    )
    return [close_position(account=account, symbol=symbol, source=source) for symbol in symbols]


# --- the paper broker's evaluation on new prices -----------------------------------------------------


def evaluate_symbol(symbol: str, *, quote: Quote | None = None) -> int:
    """Match the symbol's resting orders against its latest quote and fire position exits it crosses.
    Each order that changes is handled in its own transaction with its account row locked; the
    unlocked first pass only finds candidates. Returns how many orders changed."""
    from marketdata.selectors import instrument_by_symbol

    instrument = instrument_by_symbol(symbol)
    quote = quote or latest_quote(instrument.symbol)
    if quote is None:
        return 0
    now = clock.now()
    config = execution_config()
    changed = 0
    market_open = calendar.is_open(instrument.asset_class, now)
    candidates = list(
        Order.objects.select_related("instrument")
        .filter(instrument=instrument, status__in=MATCHABLE_STATUSES)
        .order_by("created_at")
    )
    for row in candidates:
        working = to_working(row)
        if not market_open and working.expires_at is None:
            continue
        result = (
            matching.on_market_event(
                working, quote, config=config, tick_size=instrument.tick_size, lot_size=instrument.lot_size
            )
            if market_open
            else _expiry_only(working, now)
        )
        if result.changed:
            changed += _evaluate_locked(
                row.pk, row.account_id, quote=quote, config=config, now=now, market_open=market_open
            )
    if market_open:
        _fire_position_exits(instrument, quote)
    return changed


def _expiry_only(working: matching.WorkingOrder, now: datetime) -> matching.MatchResult:
    if working.expires_at is not None and now >= working.expires_at:
        return matching.MatchResult(working, changed=True)
    return matching.MatchResult(working)


def _evaluate_locked(
    order_id: object,
    account_id: object,
    *,
    quote: Quote,
    config: matching.ExecutionConfig,
    now: datetime,
    market_open: bool,
) -> int:
    with transaction.atomic():
        account = _lock_account(account_id)
        row = Order.objects.select_for_update().select_related("instrument").get(pk=order_id)
        if row.status not in MATCHABLE_STATUSES:
            return 0
        instrument = row.instrument
        working = to_working(row)
        if market_open:
            result = matching.on_market_event(
                working, quote, config=config, tick_size=instrument.tick_size, lot_size=instrument.lot_size
            )
        else:
            result = _expire(working, now)
        if not result.changed:
            return 0
        try:
            with transaction.atomic():
                touched = [
                    row,
                    *_persist(row, result, account=account, instrument=instrument, quote=quote, now=now),
                ]
        except DomainError as error:  # the fill would take cash below zero: the order cannot stand
            logger.info("order %s canceled: %s", row.pk, error.message)
            row.refresh_from_db()
            touched = _cancel_locked(row, account=account, reason=Reason.USER_CANCELED, now=now)
            row.reason_code, row.reason_message = error.code, error.message
            row.save(update_fields=["reason_code", "reason_message"])
        _after_commit(account, touched)
        return 1


def _expire(working: matching.WorkingOrder, now: datetime) -> matching.MatchResult:
    if working.expires_at is None or now < working.expires_at:
        return matching.MatchResult(working)
    reason = Reason.DAY_SESSION_CLOSED if working.time_in_force == TimeInForce.DAY else Reason.EXPIRY_REACHED
    status = OrderStatus.EXPIRED
    return matching.MatchResult(dataclasses.replace(working, status=status), (), reason, True, (status,))


def expire_orders(*, now: datetime | None = None) -> int:
    """Expire every open order whose ``expires_at`` has passed (DAY orders at the session close).
    Held legs expire with their entry's group rules. Returns how many expired."""
    now = now or clock.now()
    expired = 0
    due = Order.objects.filter(status__in=MATCHABLE_STATUSES, expires_at__lte=now).values_list(
        "pk", "account_id"
    )
    for order_id, account_id in list(due):
        with transaction.atomic():
            account = _lock_account(account_id)
            row = Order.objects.select_for_update().select_related("instrument").get(pk=order_id)
            result = _expire(to_working(row), now)
            if row.status not in MATCHABLE_STATUSES or not result.changed:
                continue
            touched = [
                row,
                *_persist(row, result, account=account, instrument=row.instrument, quote=None, now=now),
            ]
            _after_commit(account, touched)
            expired += 1
    return expired


def _fire_position_exits(instrument: Instrument, quote: Quote) -> None:
    """Positions whose stop-loss or take-profit the quote crossed get a closing market order."""
    for position in (
        Position.objects.filter(instrument=instrument)
        .exclude(quantity=0)
        .filter(Q(stop_loss_price__isnull=False) | Q(take_profit_price__isnull=False))
    ):
        long = position.quantity > 0
        price = quote.bid if long else quote.ask
        stop, target = position.stop_loss_price, position.take_profit_price
        hit_stop = stop is not None and (price <= stop if long else price >= stop)
        hit_target = target is not None and (price >= target if long else price <= target)
        if not (hit_stop or hit_target):
            continue
        with transaction.atomic():
            account = _lock_account(position.account_id)
            locked = Position.objects.select_for_update().get(pk=position.pk)
            if locked.quantity == 0 or (locked.stop_loss_price, locked.take_profit_price) != (stop, target):
                continue
            locked.stop_loss_price = locked.take_profit_price = None
            locked.save(update_fields=["stop_loss_price", "take_profit_price"])
            try:
                close_position(account=account, symbol=instrument.symbol, source=OrderSource.RISK)
            except DomainError as error:
                logger.warning(
                    "position exit of %s in %s failed: %s", account.pk, instrument.symbol, error.message
                )


# --- kill switch, halts, paper reset -------------------------------------------------------------------


def set_kill_switch(*, engaged: bool, reason: str = "", by: Any = None) -> TradingControls:
    """Engage (or release) the global kill switch. Engaging cancels every open order of every
    account; new orders are refused with ``kill_switch`` until it is released."""
    with transaction.atomic():
        controls = TradingControls.objects.select_for_update().get_or_create(id=1)[0]
        controls.kill_switch = engaged
        controls.kill_switch_reason = reason[:200]
        controls.kill_switch_changed_at = clock.now()
        controls.kill_switch_changed_by = by if getattr(by, "pk", None) else None
        controls.save()
    if engaged:
        account_ids = set(
            Order.objects.filter(status__in=OPEN_STATUS_VALUES).values_list("account_id", flat=True)
        )
        for account_id in sorted(account_ids, key=str):
            cancel_all_orders(
                account=TradingAccount.objects.get(pk=account_id),
                note=("kill_switch", "Canceled by the platform's kill switch."),
            )
    return controls


def wipe_orders(*, account: TradingAccount) -> None:
    """Delete the account's orders, events and fills (paper reset; account row locked)."""
    Order.objects.filter(account=account).delete()


# --- fills reported by a venue (live brokers; redelivery-safe) ----------------------------------------


@dataclass(frozen=True, slots=True)
class ReportedFill:
    """A fill as a venue reports it. ``sequence`` is the venue's per-order execution number (or any
    stable key mapped to one): the same report delivered twice is applied once."""

    order_id: str
    sequence: int
    quantity: Decimal
    price: Decimal
    commission: Decimal
    executed_at: datetime


def record_fill(report: ReportedFill) -> bool:
    """Apply a venue's fill to the order, the position and the cash ledger, exactly once: a report
    already stored is a no-op (False). Reports may arrive out of order; the order's filled quantity,
    average price and status are recomputed from all its stored fills, so any delivery order ends in
    the same state."""
    from django.db.models import Sum

    now = clock.now()
    with transaction.atomic():
        order_account = Order.objects.filter(pk=report.order_id).values_list("account_id", flat=True).first()
        if order_account is None:
            raise NotFound("No such order.", "order_id")
        account = _lock_account(order_account)
        row = Order.objects.select_for_update().select_related("instrument").get(pk=report.order_id)
        if FillRow.objects.filter(order=row, sequence=report.sequence).exists():
            return False
        if row.filled_quantity + report.quantity > row.quantity:
            raise Conflict("overfill", "The reported fill exceeds the order's quantity.", "quantity")
        _store_fill(
            row,
            account,
            report.sequence,
            report.quantity,
            report.price,
            report.commission,
            report.executed_at,
        )
        fills = FillRow.objects.filter(order=row)
        totals = fills.aggregate(quantity=Sum("quantity"))
        filled = totals["quantity"] or ZERO
        notional = sum((f.quantity * f.price for f in fills), ZERO)
        target = OrderStatus.FILLED if filled >= row.quantity else OrderStatus.PARTIALLY_FILLED
        statuses = []
        if row.status != target or target == OrderStatus.PARTIALLY_FILLED:
            statuses.append(transition(OrderStatus(row.status), target))
        row.filled_quantity = filled
        row.average_fill_price = (notional / filled).quantize(matching.AVERAGE_PRICE_STEP)
        row.fill_count = fills.count()
        row.status = target
        row.updated_at = now
        if target == OrderStatus.FILLED:
            row.closed_at, row.reserved_cash = now, ZERO
        row.save()
        _append_events(row, statuses, now=now, data={"fills": [str(report.sequence)]})
        _after_commit(account, [row])
    return True


# --- execution algorithms (TWAP / VWAP) ----------------------------------------------------------------

MAX_ALGO_WINDOW = timedelta(days=1)
MIN_ALGO_INTERVAL_SECONDS = 5


def start_algo(
    *,
    account: TradingAccount,
    symbol: str,
    side: Side,
    quantity: Decimal,
    algo: str,
    start_at: datetime,
    end_at: datetime,
    interval_seconds: int = 60,
) -> AlgoOrder:
    """Start working ``quantity`` as child market orders between ``start_at`` and ``end_at`` (at most a
    day), one slice per ``interval_seconds``. The whole quantity is risk-checked now; each child is
    checked again when it is sent."""
    from marketdata.selectors import instrument_by_symbol

    instrument = instrument_by_symbol(symbol, active_only=True)
    now = clock.now()
    if algo not in AlgoOrder.Algo.values:
        raise DomainError("invalid_choice", "algo must be twap or vwap.", "algo")
    if end_at <= start_at:
        raise DomainError("invalid_range", "The window must end after it starts.", "end_at")
    if end_at <= now:
        raise DomainError("invalid_range", "The window has already ended.", "end_at")
    if end_at - start_at > MAX_ALGO_WINDOW:
        raise DomainError("range_too_large", "An algo window may span at most one day.", "end_at")
    if interval_seconds < MIN_ALGO_INTERVAL_SECONDS:
        raise DomainError(
            "invalid_interval",
            f"Slices are at least {MIN_ALGO_INTERVAL_SECONDS} s apart.",
            "interval_seconds",
        )
    working = matching.WorkingOrder(
        order_id="algo",
        symbol=instrument.symbol,
        side=side,
        order_type=OrderType.MARKET,
        quantity=quantity,
        time_in_force=TimeInForce.GTC,
    )
    _problem(
        matching.validate_order(
            working,
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
            min_quantity=instrument.min_quantity,
        )
    )
    with transaction.atomic():
        account = _lock_account(account)
        check_risk(account, instrument, working, latest_quote(instrument.symbol))
        return AlgoOrder.objects.create(
            account=account,
            instrument=instrument,
            algo=algo,
            side=side,
            quantity=quantity,
            start_at=max(start_at, now),
            end_at=end_at,
            interval_seconds=interval_seconds,
            created_at=now,
            updated_at=now,
        )


def _volume_profile(instrument: Instrument, now: datetime) -> dict[int, Decimal]:
    """Average 1-minute volume by minute of the UTC day over the last five days of stored bars."""
    from django.db.models import Avg
    from django.db.models.functions import ExtractHour, ExtractMinute

    from marketdata.models import Bar

    rows = (
        Bar.objects.filter(instrument=instrument, timeframe="1m", open_time__gte=now - timedelta(days=5))
        .annotate(hour=ExtractHour("open_time"), minute=ExtractMinute("open_time"))
        .values("hour", "minute")
        .annotate(volume=Avg("volume"))
    )
    return {row["hour"] * 60 + row["minute"]: Decimal(row["volume"]) for row in rows if row["volume"]}


def run_algos(*, now: datetime | None = None) -> int:
    """Send each working algo's due slice (target by now minus what its children hold) as a market
    order; complete, or expire, the ones that are done. Returns how many child orders were sent."""
    from orders import algos as schedule

    now = now or clock.now()
    sent = 0
    for algo_id in list(
        AlgoOrder.objects.filter(status=AlgoOrder.Status.WORKING).values_list("pk", flat=True)
    ):
        sent += _run_algo(algo_id, now, schedule)
    return sent


def _run_algo(algo_id: object, now: datetime, schedule: Any) -> int:
    from django.db.models import Sum

    with transaction.atomic():
        algo = AlgoOrder.objects.select_for_update().select_related("instrument", "account").get(pk=algo_id)
        if algo.status != AlgoOrder.Status.WORKING or now < algo.start_at:
            return 0
        children = Order.objects.filter(algo=algo)
        filled = children.aggregate(total=Sum("filled_quantity"))["total"] or ZERO
        working = (
            children.filter(status__in=OPEN_STATUS_VALUES).aggregate(total=Sum("quantity"))["total"] or ZERO
        )
        algo.filled_quantity = filled
        instrument = algo.instrument
        if algo.algo == AlgoOrder.Algo.VWAP:
            target = schedule.vwap_target(
                quantity=algo.quantity,
                start=algo.start_at,
                end=algo.end_at,
                now=now,
                lot_size=instrument.lot_size,
                profile=_volume_profile(instrument, now),
            )
        else:
            target = schedule.twap_target(
                quantity=algo.quantity,
                start=algo.start_at,
                end=algo.end_at,
                now=now,
                lot_size=instrument.lot_size,
            )
        due = target - filled - working
        last_slice = children.order_by("-created_at").values_list("created_at", flat=True).first()
        if (
            last_slice is not None
            and now - last_slice < timedelta(seconds=algo.interval_seconds)
            and now < algo.end_at
        ):
            due = ZERO
        sent = 0
        if due >= instrument.min_quantity:
            try:
                place_order(
                    account=algo.account,
                    request=OrderRequest(
                        symbol=instrument.symbol,
                        side=Side(algo.side),
                        order_type=OrderType.MARKET,
                        quantity=due,
                        time_in_force=TimeInForce.GTC,
                        source=OrderSource.ALGO,
                        algo_id=algo.pk,
                    ),
                )
                sent = 1
            except DomainError as error:
                algo.status, algo.reason_message = AlgoOrder.Status.CANCELED, f"Stopped: {error.message}"
        algo.filled_quantity = children.aggregate(total=Sum("filled_quantity"))["total"] or ZERO
        if algo.filled_quantity >= algo.quantity:
            algo.status = AlgoOrder.Status.COMPLETED
        elif now > algo.end_at + timedelta(minutes=5) and algo.status == AlgoOrder.Status.WORKING:
            algo.status, algo.reason_message = (
                AlgoOrder.Status.EXPIRED,
                "The window ended before it completed.",
            )
        algo.updated_at = now
        algo.save()
        return sent


def cancel_algo(*, account: TradingAccount, algo_id: object) -> AlgoOrder:
    """Stop an algo: no more slices; its open child orders are canceled."""
    now = clock.now()
    with transaction.atomic():
        account = _lock_account(account)
        from orders.selectors import algo_of

        algo = AlgoOrder.objects.select_for_update().get(pk=algo_of(account, algo_id).pk)
        if algo.status != AlgoOrder.Status.WORKING:
            raise Conflict("algo_not_working", f"The algo is {algo.status}.", "algo_id")
        touched = []
        for row in (
            Order.objects.select_for_update()
            .select_related("instrument")
            .filter(algo=algo, status__in=OPEN_STATUS_VALUES)
        ):
            touched += _cancel_locked(row, account=account, reason=Reason.USER_CANCELED, now=now)
        algo.status, algo.reason_message, algo.updated_at = (
            AlgoOrder.Status.CANCELED,
            "Canceled at your request.",
            now,
        )
        algo.save()
        _after_commit(account, touched)
        return algo
