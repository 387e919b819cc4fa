"""Test data for trading: quotes at the current clock, order requests, placed orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from marketdata.domain import Quote
from orders import services
from orders.states import OrderClass, OrderType, Side, TimeInForce
from tradeapp.core import clock


def quote_at(
    symbol: str,
    *,
    bid: str,
    ask: str,
    last: str | None = None,
    at: datetime | None = None,
    size: str = "1000",
) -> Quote:
    return Quote(
        symbol=symbol,
        ts=at or clock.now(),
        bid=Decimal(bid),
        ask=Decimal(ask),
        bid_size=Decimal(size),
        ask_size=Decimal(size),
        last=Decimal(last or bid),
        volume=Decimal(0),
        prev_close=None,
    )


_DECIMAL_FIELDS = {"limit_price", "stop_price", "trail_amount", "trail_percent", "notional"}


def request(
    symbol: str = "BTC/USD",
    side: str = "buy",
    order_type: str = "market",
    quantity: str | None = "1",
    *,
    time_in_force: str = "gtc",
    **fields: Any,
) -> services.OrderRequest:
    decimals = {
        key: Decimal(value) if key in _DECIMAL_FIELDS and isinstance(value, str) else value
        for key, value in fields.items()
    }
    if "order_class" in decimals:
        decimals["order_class"] = OrderClass(decimals["order_class"])
    return services.OrderRequest(
        symbol=symbol,
        side=Side(side),
        order_type=OrderType(order_type),
        quantity=Decimal(quantity) if quantity is not None else None,
        time_in_force=TimeInForce(time_in_force),
        **decimals,
    )


def place(account: Any, *args: Any, **kwargs: Any) -> Any:
    return services.place_order(account=account, request=request(*args, **kwargs)).order
