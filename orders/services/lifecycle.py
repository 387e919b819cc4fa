"""An order's life after placement, on request: cancel one, cancel all (by symbol, or for the kill
switch and halts), replace one by a modified order, and wipe an account's orders on a paper reset.

Cancels and replaces go to the account's venue through the ``orders.venues.Venue`` protocol (the
paper venue answers at once, a broker venue would answer ``pending_cancel`` / ``pending_replace``);
the answer is stored like any other result, so the contingent-group rules follow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import TradingAccount
from marketdata.quotes import latest_quote
from orders.models import OPEN_STATUS_VALUES, Order, OrderEvent
from orders.services.limits import check_risk
from orders.services.persistence import ZERO, persist, to_working
from orders.services.placement import OrderRequest, create_row, expiry_of, validate_working
from orders.services.unit_of_work import UnitOfWork, lock_order, not_open, unit_of_work
from orders.states import TERMINAL_STATUSES, OrderClass, OrderStatus, Reason, TimeInForce
from orders.venues import venue_for
from tradeapp.core.errors import DomainError


def cancel_order(
    *, account: TradingAccount, order_id: object, reason: Reason = Reason.USER_CANCELED
) -> Order:
    """Cancel an open order of ``account`` (the paper venue cancels at once). 404 for another
    account's order; 409 ``order_not_open`` when it has already filled, been canceled, ..."""
    with unit_of_work(account) as work:
        row = lock_order(work.account, order_id)
        if row.status in TERMINAL_STATUSES:
            raise not_open(row, "canceled")
        cancel_locked(work, row, reason=reason)
    return row


def cancel_locked(work: UnitOfWork, row: Order, *, reason: Reason, message: str | None = None) -> None:
    """Cancel ``row`` (locked, open) at its venue and store the answer. ``message`` replaces the
    reason's standard sentence."""
    result = venue_for(work.account).cancel(to_working(row), reason=reason)
    persist(work, row, result, quote=None, message=message)


def cancel_all_orders(
    *,
    account: TradingAccount,
    reason: Reason = Reason.USER_CANCELED,
    symbol: str | None = None,
    note: tuple[str, str] | None = None,
) -> list[Order]:
    """Cancel every open order of the account (or of one symbol) for ``reason``. Returns the orders
    canceled. ``note`` = (reason code, sentence) names the reason by its code with its own sentence
    (an account halt: ``("account_halted", "...")``); the code must be a ``Reason``."""
    message = None
    if note is not None:
        reason, message = Reason(note[0]), note[1]
    with unit_of_work(account) as work:
        rows = (
            Order.objects.select_for_update()
            .select_related("instrument")
            .filter(account=work.account, status__in=OPEN_STATUS_VALUES)
        )
        if symbol is not None:
            rows = rows.filter(instrument__symbol=symbol)
        canceled = []
        for row in rows.order_by("created_at"):
            row.refresh_from_db()  # an earlier cancel in this loop may have closed it (group rules)
            if row.status in TERMINAL_STATUSES:
                continue
            cancel_locked(work, row, reason=reason, message=message)
            canceled.append(row)
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
    with unit_of_work(account) as work:
        old = lock_order(work.account, order_id)
        if old.status in TERMINAL_STATUSES or old.status == OrderStatus.HELD:
            raise not_open(old, "replaced")
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
            limit_price=_changed(changes.limit_price, old.limit_price),
            stop_price=_changed(changes.stop_price, old.stop_price),
            trail_amount=_changed(changes.trail_amount, old.trail_amount),
            trail_percent=_changed(changes.trail_percent, old.trail_percent),
            time_in_force=tif,
            expires_at=expiry_of(instrument, tif, work.now) if tif != old.time_in_force else old.expires_at,
        )
        validate_working(working, instrument)
        quote = latest_quote(instrument.symbol)
        if not old.leg_role:
            check_risk(work, instrument, working, quote, released=old.reserved_cash)
        request = OrderRequest(
            symbol=instrument.symbol,
            side=working.side,
            order_type=working.order_type,
            quantity=working.quantity,
            time_in_force=tif,
            order_class=OrderClass(old.order_class),
            client_order_id=changes.client_order_id,
            source=old.source,
            algo_id=old.algo_id,
            deployment_id=old.deployment_id,
        )
        new = create_row(
            work, instrument, working, request, role=old.leg_role, parent_id=old.parent_id, replaces=old
        )
        Order.objects.filter(parent=old).update(parent=new)
        replaced = venue_for(work.account).replace(
            to_working(old),
            dataclasses.replace(working, order_id=str(new.pk)),
            instrument=instrument,
            quote=quote,
            now=work.now,
        )
        # the old order ends first (its reservation is released), then the new one works
        persist(work, old, replaced.old, quote=None, kind=OrderEvent.Kind.REPLACE)
        persist(work, new, replaced.new, quote=quote)
    return new


def _changed(value: Decimal | None, current: Decimal | None) -> Decimal | None:
    return value if value is not None else current


def wipe_orders(*, account: TradingAccount) -> None:
    """Delete the account's orders, events and fills (paper reset; account row locked)."""
    Order.objects.filter(account=account).delete()
