"""The unit of work of one order transaction: the locked account row, and what the transaction
carries besides rows (event counts, a new order's first statuses, fills to announce, orders
touched), announced to the owner once it commits.

Every order use case opens one with :func:`unit_of_work` and passes it along; nothing rides on the
ORM rows. Locking policy (the one order everywhere, so concurrent requests cannot deadlock): the
account row first, then order rows, then position rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import TradingAccount
from orders.models import Fill, Order
from orders.states import OrderStatus
from orders.streams import publish_orders
from portfolio.models import Position
from tradeapp.core import clock
from tradeapp.core.errors import Conflict, NotFound


@dataclass(eq=False)
class UnitOfWork:
    """State of one order transaction, keyed by order id (the order rows are locked, so what this
    transaction wrote is all there is).

    ``positions``: the account's position rows by instrument id, read under the account lock by the
    risk check (None until then), so applying a fill needs no second read. ``event_counts``: events
    stored per order, so the next sequence needs no count query. ``pending_statuses``: statuses a
    new order entered before its first events were written (``new``), written with them.
    ``new_fills`` and ``touched``: what to announce after the commit."""

    account: TradingAccount
    now: datetime
    positions: dict[int, Position] | None = None
    event_counts: dict[object, int] = field(default_factory=dict)
    pending_statuses: dict[object, list[OrderStatus]] = field(default_factory=dict)
    new_fills: dict[object, list[Fill]] = field(default_factory=dict)
    touched: dict[object, Order] = field(default_factory=dict)

    def touch(self, row: Order) -> None:
        """Announce ``row`` after the commit, as this object holds it then."""
        self.touched[row.pk] = row

    def position(self, instrument_id: int) -> Position | None:
        return None if self.positions is None else self.positions.get(instrument_id)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint for work that may fail and be replaced by other work: on failure the database
        and this unit's state return to where they were (cached positions are read again)."""
        saved = (
            dict(self.event_counts),
            {key: list(value) for key, value in self.pending_statuses.items()},
            {key: list(value) for key, value in self.new_fills.items()},
            dict(self.touched),
        )
        done = False
        try:
            with transaction.atomic():
                yield
            done = True
        finally:
            if not done:
                self.event_counts, self.pending_statuses, self.new_fills, self.touched = saved
                self.positions = None  # a rolled-back fill may have changed the cached rows

    def announce(self) -> None:
        """Send the touched orders and their new fills to the owner once the transaction commits.
        The payloads come from these row objects (the state this transaction wrote), so announcing
        costs no query."""
        if not self.touched:
            return
        owner_id = self.account.owner_id
        orders = list(self.touched.values())
        fills = [fill for order in orders for fill in self.new_fills.get(order.pk, [])]
        transaction.on_commit(lambda: publish_orders(owner_id=owner_id, orders=orders, fills=fills))


def lock_account(account: TradingAccount | object) -> TradingAccount:
    """The account row (by row or id), locked for the rest of the transaction."""
    account_id = account.pk if isinstance(account, TradingAccount) else account
    return TradingAccount.objects.select_for_update().get(pk=account_id)


@contextmanager
def unit_of_work(account: TradingAccount | object, *, now: datetime | None = None) -> Iterator[UnitOfWork]:
    """One order transaction: ``transaction.atomic()``, the account row locked first, and what it
    touched announced after the commit (nothing when it raises)."""
    with transaction.atomic():
        work = UnitOfWork(lock_account(account), now or clock.now())
        yield work
        work.announce()


def lock_order(account: TradingAccount, order_id: object) -> Order:
    """One order of ``account``, locked (call with the account row locked); 404 for anything else."""
    try:
        return (
            Order.objects.select_for_update().select_related("instrument").get(pk=order_id, account=account)
        )
    except (Order.DoesNotExist, ValidationError, ValueError, TypeError) as error:
        raise NotFound("No such order.", "order_id") from error


def not_open(row: Order, verb: str) -> Conflict:
    return Conflict(
        "order_not_open", f"The order is {row.status.replace('_', ' ')}: it cannot be {verb}.", "order_id"
    )
