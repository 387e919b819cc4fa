"""Storing what the pure rules decided, shared by every order use case: rows to and from
``matching.WorkingOrder``, a ``MatchResult`` persisted (fills to the portfolio, status events, the
cash the order holds back), then its contingent group's rules.

This is the one place order state is written. It stores results and decides nothing: statuses come
from ``orders.matching`` / ``orders.contingent`` (through ``orders.states.transition``), positions
and cash move in ``portfolio.services.apply_fill``. Call everything here inside a unit of work
(``orders.services.unit_of_work``), the account and order rows locked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q

from marketdata.domain import Quote
from orders import contingent, matching
from orders.models import Fill as FillRow, LegRole, Order, OrderEvent
from orders.services.unit_of_work import UnitOfWork
from orders.states import TERMINAL_STATUSES, OrderClass, OrderStatus, OrderType, Reason, Side, TimeInForce
from portfolio import services as portfolio_services

ZERO = Decimal(0)
MATCHABLE_STATUSES = [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED]
_ENDED_UNFILLED = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED)

REASON_MESSAGES = {
    Reason.IOC_UNFILLED: "Immediate-or-cancel: the part that could not fill at once was canceled.",
    Reason.FOK_UNFILLABLE: "Fill-or-kill: the whole quantity could not fill at once, so nothing did.",
    Reason.DAY_SESSION_CLOSED: "Day order: the session closed before it filled.",
    Reason.EXPIRY_REACHED: "The order reached its expiry time.",
    Reason.OCO_SIBLING_FILLED: "Canceled because the other order of its group filled.",
    Reason.BRACKET_EXIT_FILLED: "Canceled because an exit of its bracket closed the position.",
    Reason.PARENT_CANCELED: "Canceled because its entry order ended without a fill.",
    Reason.USER_CANCELED: "Canceled at your request.",
    Reason.REPLACED: "Replaced by a modified order.",
    Reason.INSUFFICIENT_BUYING_POWER: "Canceled: its fill would take cash below zero.",
    Reason.KILL_SWITCH: "Canceled by the platform's kill switch.",
    Reason.ACCOUNT_HALTED: "Canceled: the account was halted.",
    Reason.POSITION_EXIT: "Canceled: the position's stop-loss or take-profit closed it.",
    Reason.VENUE_REJECTED: "Rejected by the venue.",
    Reason.VENUE_CANCELED: "Canceled by the venue.",
}


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


def reservation(working: matching.WorkingOrder, quote: Quote | None, *, leg: bool = False) -> Decimal:
    """Cash an open buy order holds back: its remaining quantity at its reference price. Contingent
    legs and held orders hold nothing (they close a position, or wait for their entry)."""
    if leg or working.side != Side.BUY or working.status in TERMINAL_STATUSES:
        return ZERO
    if working.status == OrderStatus.HELD:
        return ZERO
    price = reference_price(working, quote) or ZERO
    return working.remaining_quantity * price


def reference_price(working: matching.WorkingOrder, quote: Quote | None) -> Decimal | None:
    """``matching.reference_price`` of ``working`` against the side of ``quote`` it would take."""
    book = None
    if quote is not None:
        book = quote.ask if working.side == Side.BUY else quote.bid
    return matching.reference_price(
        working.side,
        working.order_type,
        limit_price=working.limit_price,
        stop_price=working.stop_price,
        book=book,
    )


def append_events(
    work: UnitOfWork,
    row: Order,
    statuses: Iterable[OrderStatus],
    *,
    kind: str = OrderEvent.Kind.STATUS,
    reason: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Write one event per status ``row`` entered (after any it entered before its first events),
    numbered on from the order's last event; the reason and message go on the last one."""
    statuses = [*work.pending_statuses.pop(row.pk, []), *statuses]
    if not statuses:
        return
    known = work.event_counts.get(row.pk)
    start = (OrderEvent.objects.filter(order=row).count() if known is None else known) + 1
    work.event_counts[row.pk] = start - 1 + len(statuses)
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
            created_at=work.now,
        )
        for index, status in enumerate(statuses)
    )


def persist(
    work: UnitOfWork,
    row: Order,
    result: matching.MatchResult,
    *,
    quote: Quote | None,
    kind: str = OrderEvent.Kind.STATUS,
    message: str | None = None,
    held: Decimal | None = None,
) -> None:
    """Store ``result`` for ``row``: its fills (to the portfolio), status, status events, the cash it
    holds back; then run its group's rules. ``message`` replaces the reason's standard sentence;
    ``held`` keeps that reservation while the order stays open (else it follows ``quote``).
    Raises ``insufficient_buying_power`` (DomainError) when a fill would take cash below zero."""
    work.touch(row)
    if not result.changed and row.pk not in work.pending_statuses:
        return
    # a new row is stored even unchanged (a broker venue's answer: still new), so its ``new`` event
    # is written and its reservation held
    for fill in result.fills:
        store_fill(work, row, fill)
    working = result.order
    _copy_state(row, working)
    if result.reason is not None:
        row.reason_code = result.reason.value
        row.reason_message = message or REASON_MESSAGES.get(result.reason, "")
    ended = working.status in TERMINAL_STATUSES
    if held is None or ended:
        held = reservation(working, quote, leg=bool(row.parent_id) or row.leg_role != "")
    row.reserved_cash = held
    row.updated_at = work.now
    if ended and row.closed_at is None:
        row.closed_at = work.now
    row.save()
    append_events(
        work,
        row,
        result.statuses,
        kind=kind,
        reason=row.reason_code if result.reason else "",
        message=row.reason_message if result.reason else "",
        data={"fills": [str(f.sequence) for f in result.fills]} if result.fills else None,
    )
    if row.order_class != OrderClass.SIMPLE:
        _run_group(work, row, result, quote=quote)


def store_fill(work: UnitOfWork, row: Order, fill: matching.Fill) -> FillRow:
    """Store one fill of ``row`` under its unique (order, sequence) key and apply it to the position
    and the cash ledger. It is announced after the commit."""
    fill_id = uuid.uuid4()
    # the ledger lines reference the fill before it is inserted: foreign keys are checked at commit
    applied = portfolio_services.apply_fill(
        account=work.account,
        instrument=row.instrument,
        position=work.position(row.instrument_id),
        fill_id=fill_id,
        side=row.side,
        quantity=fill.quantity,
        price=fill.price,
        commission=fill.commission,
        executed_at=fill.ts,
    )
    fill_row = FillRow.objects.create(
        id=fill_id,
        order=row,
        account=work.account,
        instrument=row.instrument,
        sequence=fill.sequence,
        side=row.side,
        quantity=fill.quantity,
        price=fill.price,
        commission=fill.commission,
        realized_pnl=applied.realized_pnl,
        executed_at=fill.ts,
    )
    work.new_fills.setdefault(row.pk, []).append(fill_row)
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


def _run_group(work: UnitOfWork, row: Order, result: matching.MatchResult, *, quote: Quote | None) -> None:
    """The contingent-group rules after ``result``: only a fill, or an end without one, moves the
    group, so nothing else reads it."""
    if not result.fills and result.order.status not in _ENDED_UNFILLED:
        return
    parent, legs = _group_rows(row)
    by_id = {str(r.pk): r for r in ([parent] if parent else []) + legs}
    by_id[str(row.pk)] = row  # the caller's row carries the newest state
    workings = {key: to_working(value) for key, value in by_id.items()}
    leg_workings = tuple(workings[str(leg.pk)] for leg in legs)
    head = None if parent is None else workings[str(parent.pk)]
    group = contingent.ContingentGroup(OrderClass(row.order_class), head, leg_workings)
    if result.fills:
        actions = contingent.after_fill(group, str(row.pk))
    else:
        actions = contingent.after_cancel(group, str(row.pk))
    for action in actions:
        target = by_id[action.order_id]
        outcome = contingent.apply_action(to_working(target), action)
        if isinstance(action, contingent.ResizeLeg):
            _copy_state(target, outcome.order)
            target.updated_at = work.now
            target.save()
            continue
        persist(work, target, outcome, quote=quote)
