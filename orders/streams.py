"""Websocket messages about orders: each change goes to the owner's ``user.<id>`` group as an
``order`` event (and a ``fill`` event per new fill), with the stream's sequence number."""

from __future__ import annotations

from collections.abc import Sequence

from orders.models import Fill, Order
from orders.representations import FillSerializer, OrderSerializer
from tradeapp.core.realtime import publish_many, user_group


def order_payload(order: Order) -> dict[str, object]:
    return dict(OrderSerializer(order).data)


def fill_payload(fill: Fill) -> dict[str, object]:
    return dict(FillSerializer(fill).data)


def publish_orders(*, owner_id: int, orders: Sequence[Order], fills: Sequence[Fill] = ()) -> None:
    """Send ``orders`` (as this process wrote them) and the ``fills`` they gained to the owner.
    Runs after the commit; a lost message is caught up by the client's REST re-sync."""
    stream = user_group(owner_id)
    events = [(stream, "order", order_payload(order)) for order in orders]
    events += [(stream, "fill", fill_payload(fill)) for fill in fills]
    publish_many(events)
