"""Read paths of orders: one user's orders (filters, cursor pages), one order by id or client id,
open-order totals for buying power, activities (fills)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import TradingAccount
from orders.models import OPEN_STATUS_VALUES, AlgoOrder, Fill, Order, RiskSettings, TradingControls
from portfolio.models import Position
from portfolio.selectors import start_of_day
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


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the pre-trade check needs besides positions, read in one query (the order path)."""

    reserved_cash: Decimal
    open_orders: int
    start_of_day_equity: Decimal
    settings: RiskSettings
    controls: TradingControls


_RISK_CONTEXT_SQL = """
SELECT
  (SELECT coalesce(sum(reserved_cash), 0) FROM orders_order
    WHERE account_id = %(account)s AND status = ANY(%(open)s)),
  (SELECT count(*) FROM orders_order WHERE account_id = %(account)s AND status = ANY(%(open)s)),
  (SELECT equity FROM portfolio_equitysnapshot
    WHERE account_id = %(account)s AND taken_at <= %(day_start)s
      AND (%(reset_at)s::timestamptz IS NULL OR taken_at >= %(reset_at)s::timestamptz)
    ORDER BY taken_at DESC LIMIT 1),
  rs.account_id, rs.max_position_pct, rs.max_order_notional, rs.max_open_orders, rs.daily_loss_limit,
  rs.exposure_limit_pct, rs.allow_short,
  tc.id, tc.kill_switch, tc.max_position_pct_cap, tc.max_order_notional_cap, tc.max_open_orders_cap,
  tc.shorting_permitted
FROM (SELECT 1) AS one
LEFT JOIN orders_risksettings AS rs ON rs.account_id = %(account)s
LEFT JOIN orders_tradingcontrols AS tc ON tc.id = 1
"""


def risk_context(account: TradingAccount, at: datetime) -> RiskContext:
    """Open-order reservations and count, start-of-day equity (last snapshot before the UTC day,
    else the starting cash), the account's risk settings and the platform controls: one round trip.
    Missing settings/controls rows read as their defaults."""
    with connection.cursor() as cursor:
        cursor.execute(
            _RISK_CONTEXT_SQL,
            {
                "account": account.pk,
                "open": list(OPEN_STATUS_VALUES),
                "day_start": start_of_day(at),
                "reset_at": account.reset_at,
            },
        )
        row = cursor.fetchone()
    reserved, open_count, equity, settings_id, *settings_values = row[:10]
    controls_id, *controls_values = row[10:]
    settings_row = RiskSettings(account=account)
    if settings_id is not None:
        names = [
            "max_position_pct",
            "max_order_notional",
            "max_open_orders",
            "daily_loss_limit",
            "exposure_limit_pct",
            "allow_short",
        ]
        for name, value in zip(names, settings_values, strict=True):
            setattr(
                settings_row,
                name,
                json.loads(value) if isinstance(value, str) and name == "exposure_limit_pct" else value,
            )
    controls = TradingControls()
    if controls_id is not None:
        names = [
            "kill_switch",
            "max_position_pct_cap",
            "max_order_notional_cap",
            "max_open_orders_cap",
            "shorting_permitted",
        ]
        for name, value in zip(names, controls_values, strict=True):
            setattr(controls, name, value)
    return RiskContext(
        reserved_cash=reserved,
        open_orders=open_count,
        start_of_day_equity=equity if equity is not None else account.starting_cash,
        settings=settings_row,
        controls=controls,
    )


def algos_of(account: TradingAccount) -> QuerySet[AlgoOrder]:
    """The account's TWAP/VWAP parents, newest first, with their child-order counts (one query)."""
    return (
        AlgoOrder.objects.filter(account=account)
        .select_related("instrument")
        .annotate(child_count=Count("child_orders"))
        .order_by("-created_at")
    )


def algo_of(account: TradingAccount, algo_id: object) -> AlgoOrder:
    """One algo of ``account``; 404 for anything else."""
    try:
        return algos_of(account).get(pk=algo_id)
    except (AlgoOrder.DoesNotExist, ValidationError, ValueError) as error:
        raise NotFound("No such algo order.", "algo_id") from error
