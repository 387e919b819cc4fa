"""Orders API shapes: input serializers (strict: unknown fields refused) apart from output ones.
Decimals travel as strings so no client ever parses money into a float."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from orders.models import Order, OrderEvent
from orders.representations import (  # the output shapes, shared with websockets and CSV exports
    FillSerializer as FillSerializer,
    OrderSerializer as OrderSerializer,
    decimal_text as _text,
    utc as _utc,
)
from orders.services import risk_limits, trading_controls
from orders.states import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from tradeapp.core.api import StrictInputSerializer


def _decimal(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=28, decimal_places=10, **kwargs)


class LegInputSerializer(StrictInputSerializer):
    type = serializers.ChoiceField(
        choices=[OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP],
        required=False,
    )
    limit_price = _decimal(required=False)
    stop_price = _decimal(required=False)
    trail_price = _decimal(required=False, help_text="trailing stop leg: offset in price")
    trail_percent = _decimal(required=False, help_text="trailing stop leg: offset in percent")


class OrderCreateSerializer(StrictInputSerializer):
    symbol = serializers.CharField(max_length=40)
    side = serializers.ChoiceField(choices=[s.value for s in Side])
    type = serializers.ChoiceField(choices=[t.value for t in OrderType])
    quantity = _decimal(required=False, help_text="units (fractional where the instrument allows)")
    notional = _decimal(required=False, help_text="dollars instead of quantity (market orders)")
    limit_price = _decimal(required=False)
    stop_price = _decimal(required=False)
    trail_price = _decimal(required=False, help_text="trailing stop: offset in price")
    trail_percent = _decimal(required=False, help_text="trailing stop: offset in percent (2.5 = 2.5 %)")
    time_in_force = serializers.ChoiceField(choices=[t.value for t in TimeInForce], default=TimeInForce.DAY)
    order_class = serializers.ChoiceField(choices=[c.value for c in OrderClass], default=OrderClass.SIMPLE)
    take_profit = LegInputSerializer(required=False, help_text="bracket / OTO: the limit exit")
    stop_loss = LegInputSerializer(required=False, help_text="bracket / OTO / OCO: the stop exit")
    client_order_id = serializers.CharField(max_length=64, required=False, allow_blank=False)


class OrderReplaceSerializer(StrictInputSerializer):
    quantity = _decimal(required=False, help_text="the new total quantity")
    limit_price = _decimal(required=False)
    stop_price = _decimal(required=False)
    trail_price = _decimal(required=False)
    trail_percent = _decimal(required=False)
    time_in_force = serializers.ChoiceField(choices=[t.value for t in TimeInForce], required=False)
    client_order_id = serializers.CharField(max_length=64, required=False, allow_blank=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                {"quantity": ["Change at least one field."]}, code="nothing_to_change"
            )
        return attrs


class OrderQuerySerializer(StrictInputSerializer):
    status = serializers.ChoiceField(
        choices=["open", "closed", *[s.value for s in OrderStatus]],
        required=False,
        help_text="or open/closed",
    )
    symbol = serializers.CharField(max_length=40, required=False)
    side = serializers.ChoiceField(choices=[s.value for s in Side], required=False)
    since = serializers.DateTimeField(required=False, help_text="created at or after (ISO 8601)")
    until = serializers.DateTimeField(required=False, help_text="created before (ISO 8601)")
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    export = serializers.ChoiceField(choices=["csv"], required=False, help_text="csv: download as CSV")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError(
                {"since": ["since must be before until."]}, code="invalid_range"
            )
        return attrs


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["sequence", "kind", "status", "reason_code", "message", "data", "created_at"]


class OrderDetailSerializer(OrderSerializer):
    events = OrderEventSerializer(many=True)
    fills = FillSerializer(many=True)
    legs = OrderSerializer(many=True)

    def to_representation(self, order: Order) -> dict[str, Any]:
        data = super().to_representation(order)
        data["events"] = OrderEventSerializer(order.events.order_by("sequence"), many=True).data
        data["fills"] = FillSerializer(
            order.fills.select_related("instrument", "order").order_by("sequence"), many=True
        ).data
        data["legs"] = OrderSerializer(
            order.legs.select_related("instrument").order_by("created_at"), many=True
        ).data
        return data


class OrderPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = OrderSerializer(many=True)


class AlgoCreateSerializer(StrictInputSerializer):
    symbol = serializers.CharField(max_length=40)
    side = serializers.ChoiceField(choices=[s.value for s in Side])
    quantity = _decimal()
    algo = serializers.ChoiceField(choices=["twap", "vwap"])
    start_at = serializers.DateTimeField(required=False, help_text="default: now")
    end_at = serializers.DateTimeField()
    interval_seconds = serializers.IntegerField(min_value=1, default=60)


class AlgoSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    algo = serializers.CharField()
    side = serializers.CharField()
    quantity = serializers.CharField()
    filled_quantity = serializers.CharField()
    progress_pct = serializers.CharField()
    status = serializers.CharField()
    reason_message = serializers.CharField(allow_blank=True)
    start_at = serializers.CharField()
    end_at = serializers.CharField()
    interval_seconds = serializers.IntegerField()
    child_orders = serializers.IntegerField()

    def to_representation(self, algo: Any) -> dict[str, Any]:
        return {
            "id": str(algo.pk),
            "symbol": algo.instrument.symbol,
            "algo": algo.algo,
            "side": algo.side,
            "quantity": _text(algo.quantity),
            "filled_quantity": _text(algo.filled_quantity),
            "progress_pct": f"{algo.filled_quantity * 100 / algo.quantity:.1f}",
            "status": algo.status,
            "reason_message": algo.reason_message,
            "start_at": _utc(algo.start_at),
            "end_at": _utc(algo.end_at),
            "interval_seconds": algo.interval_seconds,
            "child_orders": (algo.child_count if hasattr(algo, "child_count") else algo.child_orders.count()),
        }


class RiskSettingsInputSerializer(StrictInputSerializer):
    max_position_pct = _decimal(required=False, allow_null=True, help_text="% of equity per position")
    max_order_notional = _decimal(required=False, allow_null=True)
    max_open_orders = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    daily_loss_limit = _decimal(required=False, allow_null=True, help_text="amount; blocks new exposure")
    exposure_limit_pct = serializers.DictField(
        child=_decimal(), required=False, help_text='per asset class, e.g. {"crypto": "50"}'
    )
    allow_short = serializers.BooleanField(required=False)


class RiskSettingsSerializer(serializers.Serializer):
    """The account's own limits (null: none set) and the limits in force (capped by the platform)."""

    own = serializers.DictField()
    effective = serializers.DictField()
    caps = serializers.DictField()
    kill_switch = serializers.BooleanField()

    def to_representation(self, row: Any) -> dict[str, Any]:
        controls = trading_controls()
        limits = risk_limits(row)
        return {
            "own": {
                "max_position_pct": _text(row.max_position_pct),
                "max_order_notional": _text(row.max_order_notional),
                "max_open_orders": row.max_open_orders,
                "daily_loss_limit": _text(row.daily_loss_limit),
                "exposure_limit_pct": row.exposure_limit_pct,
                "allow_short": row.allow_short,
            },
            "effective": {
                "max_position_pct": _text(limits.max_position_pct),
                "max_order_notional": _text(limits.max_order_notional),
                "max_open_orders": limits.max_open_orders,
                "daily_loss_limit": _text(limits.daily_loss_limit),
                "exposure_limit_pct": {k: _text(v) for k, v in limits.exposure_limit_pct.items()},
                "allow_short": limits.allow_short,
            },
            "caps": {
                "max_position_pct": _text(controls.max_position_pct_cap),
                "max_order_notional": _text(controls.max_order_notional_cap),
                "max_open_orders": controls.max_open_orders_cap,
                "shorting_permitted": controls.shorting_permitted,
            },
            "kill_switch": controls.kill_switch,
        }
