"""How an order and a fill look to the outside, one shape wherever they go: the REST API, the
``order``/``fill`` websocket events and the CSV export all serialise with these. Decimals travel as
strings so no client ever parses money into a float; times as ISO-8601 UTC."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from marketdata.api.serializers import utc_text
from orders.models import Fill, Order
from tradeapp.core.decimals import normalize


def decimal_text(value: Decimal | int | None) -> str | None:
    return None if value is None else str(normalize(Decimal(value)))


def utc(value: Any) -> str | None:
    return None if value is None else utc_text(value)


class FillSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol")
    order_id = serializers.UUIDField(source="order.id")
    quantity = serializers.SerializerMethodField()
    price = serializers.SerializerMethodField()
    commission = serializers.SerializerMethodField()
    realized_pnl = serializers.SerializerMethodField()
    executed_at = serializers.SerializerMethodField()

    class Meta:
        model = Fill
        fields = [
            "id",
            "order_id",
            "symbol",
            "side",
            "sequence",
            "quantity",
            "price",
            "commission",
            "realized_pnl",
            "executed_at",
        ]

    def get_quantity(self, fill: Fill) -> str:
        return decimal_text(fill.quantity)

    def get_price(self, fill: Fill) -> str:
        return decimal_text(fill.price)

    def get_commission(self, fill: Fill) -> str:
        return decimal_text(fill.commission)

    def get_realized_pnl(self, fill: Fill) -> str:
        return decimal_text(fill.realized_pnl)

    def get_executed_at(self, fill: Fill) -> str:
        return utc(fill.executed_at)


_DECIMALS = [
    "quantity",
    "notional",
    "filled_quantity",
    "average_fill_price",
    "limit_price",
    "stop_price",
    "trail_amount",
    "trail_percent",
    "water_mark",
    "reserved_cash",
]
_TIMES = ["created_at", "updated_at", "closed_at", "expires_at"]


class OrderSerializer(serializers.Serializer):
    """An order as clients see it (decimals as strings, times ISO 8601 UTC)."""

    id = serializers.UUIDField()
    account_id = serializers.UUIDField()
    client_order_id = serializers.CharField(allow_null=True)
    symbol = serializers.CharField(source="instrument.symbol")
    side = serializers.CharField()
    type = serializers.CharField(source="order_type")
    order_class = serializers.CharField()
    time_in_force = serializers.CharField()
    status = serializers.CharField()
    quantity = serializers.CharField()
    notional = serializers.CharField(allow_null=True)
    filled_quantity = serializers.CharField()
    remaining_quantity = serializers.CharField()
    average_fill_price = serializers.CharField(allow_null=True)
    limit_price = serializers.CharField(allow_null=True)
    stop_price = serializers.CharField(allow_null=True)
    trail_amount = serializers.CharField(allow_null=True, help_text="trailing stop offset in price")
    trail_percent = serializers.CharField(allow_null=True)
    water_mark = serializers.CharField(allow_null=True, help_text="trailing stop's best price so far")
    triggered = serializers.BooleanField()
    reserved_cash = serializers.CharField()
    reason_code = serializers.CharField(allow_blank=True)
    reason_message = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    parent_id = serializers.UUIDField(allow_null=True)
    leg_role = serializers.CharField(allow_blank=True)
    replaces_id = serializers.UUIDField(allow_null=True)
    deployment_id = serializers.UUIDField(allow_null=True, help_text="the strategy deployment that sent it")
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    closed_at = serializers.CharField(allow_null=True)
    expires_at = serializers.CharField(allow_null=True)

    def to_representation(self, order: Order) -> dict[str, Any]:
        data = {
            "id": str(order.pk),
            "account_id": str(order.account_id),
            "client_order_id": order.client_order_id,
            "symbol": order.instrument.symbol,
            "side": order.side,
            "type": order.order_type,
            "order_class": order.order_class,
            "time_in_force": order.time_in_force,
            "status": order.status,
            "remaining_quantity": decimal_text(order.remaining_quantity),
            "triggered": order.triggered,
            "reason_code": order.reason_code,
            "reason_message": order.reason_message,
            "source": order.source,
            "parent_id": str(order.parent_id) if order.parent_id else None,
            "leg_role": order.leg_role,
            "replaces_id": str(order.replaces_id) if order.replaces_id else None,
            "deployment_id": str(order.deployment_id) if order.deployment_id else None,
        }
        data.update({name: decimal_text(getattr(order, name)) for name in _DECIMALS})
        data.update({name: utc(getattr(order, name)) for name in _TIMES})
        return data
