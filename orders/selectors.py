"""Read paths of orders: one user's orders (filters, cursor pages), one order by id or client id,
open-order totals for buying power, activities (fills)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum

from accounts.models import TradingAccount
from orders.models import OPEN_STATUS_VALUES, Fill, Order
from tradeapp.core.errors import NotFound


def open_order_totals(account: TradingAccount) -> tuple[Decimal, int]:
    """(cash reserved by open orders, number of open orders) of ``account``."""
    totals = Order.objects.filter(account=account, status__in=OPEN_STATUS_VALUES).aggregate(
        reserved=Sum("reserved_cash"), count=Count("pk")
    )
    return totals["reserved"] or Decimal(0), totals["count"]


def orders_of(
    account: TradingAccount,
    *,
    status: str | None = None,
    symbol: str | None = None,
    side: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Order]:
    """The account's orders, newest first. ``status`` is a status or ``open`` / ``closed``."""
    rows = Order.objects.filter(account=account).select_related("instrument")
    if status == "open":
        rows = rows.filter(status__in=OPEN_STATUS_VALUES)
    elif status == "closed":
        rows = rows.exclude(status__in=OPEN_STATUS_VALUES)
    elif status:
        rows = rows.filter(status=status)
    if symbol:
        rows = rows.filter(
            instrument__symbol__iexact=symbol.replace("-", "/") if "/" not in symbol else symbol
        )
    if side:
        rows = rows.filter(side=side)
    if since:
        rows = rows.filter(created_at__gte=since)
    if until:
        rows = rows.filter(created_at__lt=until)
    return rows.order_by("-created_at", "-pk")


def order_of(account: TradingAccount, order_id: object) -> Order:
    """One order of ``account``; 404 for anything else (another user's order included)."""
    try:
        return Order.objects.select_related("instrument").get(pk=order_id, account=account)
    except (Order.DoesNotExist, ValidationError, ValueError) as error:
        raise NotFound("No such order.", "order_id") from error


def order_by_client_id(account: TradingAccount, client_order_id: str) -> Order:
    order = (
        Order.objects.select_related("instrument")
        .filter(account=account, client_order_id=client_order_id)
        .first()
    )
    if order is None:
        raise NotFound("No order with that client_order_id.", "client_order_id")
    return order


def fills_of(account: TradingAccount, *, symbol: str | None = None) -> QuerySet[Fill]:
    rows = Fill.objects.filter(account=account).select_related("instrument", "order")
    if symbol:
        rows = rows.filter(instrument__symbol__iexact=symbol)
    return rows.order_by("-executed_at", "-sequence")


def symbols_with_triggers(symbols: list[str]) -> list[str]:
    """Those of ``symbols`` with a resting order or a position stop-loss/take-profit to evaluate."""
    from django.db.models import Q

    from portfolio.models import Position

    resting = Order.objects.filter(
        instrument__symbol__in=symbols, status__in=["accepted", "partially_filled"]
    ).values_list("instrument__symbol", flat=True)
    exits = (
        Position.objects.filter(instrument__symbol__in=symbols)
        .exclude(quantity=0)
        .filter(Q(stop_loss_price__isnull=False) | Q(take_profit_price__isnull=False))
        .values_list("instrument__symbol", flat=True)
    )
    return sorted(set(resting.distinct()) | set(exits.distinct()))
