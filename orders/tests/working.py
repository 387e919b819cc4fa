"""A pure test helper: a WorkingOrder with sensible defaults (an accepted GTC buy of AAPL), changed
by keyword. Shared by the pure matching, contingent and lifecycle-rule tests."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from orders.matching import WorkingOrder
from orders.states import OrderStatus, OrderType, Side, TimeInForce


def working_order(**changes: object) -> WorkingOrder:
    base = WorkingOrder(
        order_id="o-1",
        symbol="AAPL",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal(100),
        time_in_force=TimeInForce.GTC,
        status=OrderStatus.ACCEPTED,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
