"""Websocket messages about orders: each change goes to the owner's ``user.<id>`` group as an
``order`` event (and a ``fill`` event per new fill), with the stream's sequence number."""

from __future__ import annotations

from collections.abc import Sequence

from orders.models import Fill, Order
from tradeapp.core.realtime import publish, user_group


def order_payload(order: Order) -> dict[str, object]:
    from orders.api.serializers import OrderSerializer

    return dict(OrderSerializer(order).data)


def fill_payload(fill: Fill) -> dict[str, object]:
    from orders.api.serializers import FillSerializer

    return dict(FillSerializer(fill).data)


def publish_order_updates(*, owner_id: int, order_ids: Sequence[str], fill_ids: Sequence[str] = ()) -> None:
    """Send the current state of ``order_ids`` and the new ``fill_ids`` to the owner. Runs after the
    commit; a lost message is caught up by the client's REST re-sync (sequence numbers show gaps)."""
    stream = user_group(owner_id)
    for order in Order.objects.filter(pk__in=order_ids).select_related("instrument"):
        publish(stream, "order", order_payload(order))
    for fill in Fill.objects.filter(pk__in=fill_ids).select_related("instrument", "order"):
        publish(stream, "fill", fill_payload(fill))
