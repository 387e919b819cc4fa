"""What the portfolio app reads of the order book, registered with ``portfolio.hooks`` when the orders
app is ready: open-order totals, the account's fills in execution order, its newest open orders."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from accounts.models import TradingAccount
from orders.models import Fill, Order
from orders.selectors import open_order_totals, orders_of
from portfolio.analytics import FillRecord


class OrderBook:
    """``portfolio.hooks.OrderBook`` over the orders tables."""

    def open_order_totals(self, account: TradingAccount) -> tuple[Decimal, int]:
        return open_order_totals(account)

    def fills(self, account: TradingAccount) -> list[FillRecord]:
        rows = (
            Fill.objects.filter(account=account)
            .order_by("executed_at", "order__created_at", "order_id", "sequence")
            .values_list(
                "instrument__symbol",
                "instrument__asset_class",
                "side",
                "quantity",
                "price",
                "commission",
                "realized_pnl",
                "executed_at",
                "order__deployment_id",
            )
        )
        return [
            FillRecord(*row[:8], deployment_id=str(row[8]) if row[8] else None)  # type: ignore[misc]
            for row in rows
        ]

    def open_orders(self, account: TradingAccount, limit: int) -> Sequence[Order]:
        return list(orders_of(account, status="open")[:limit])


ORDER_BOOK = OrderBook()
