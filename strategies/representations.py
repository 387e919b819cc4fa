"""How a deployment and a signal look to the outside, one shape wherever they go: the REST API and
the ``strategy_deployment``/``strategy_signal`` websocket events serialise with these. Decimals travel
as strings, times as ISO 8601 UTC."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketdata.api.serializers import utc_text
from strategies.models import Signal, StrategyDeployment
from tradeapp.core.decimals import normalize


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(normalize(Decimal(value)))


def utc(value: Any) -> str | None:
    return None if value is None else utc_text(value)


@extend_schema_field(OpenApiTypes.STR)
class DecimalText(serializers.Field):
    """A Decimal as a plain string (no exponent, trailing zeros dropped); read-only."""

    def to_representation(self, value: Decimal) -> str | None:
        return decimal_text(value)


class UtcTime(serializers.DateTimeField):
    def to_representation(self, value: Any) -> str | None:
        return utc(value)


class ParametersField(serializers.DictField):
    """Strategy parameters by name (values as the strategy's schema describes them)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.JSONField(), **kwargs)


class DeploymentSerializer(serializers.ModelSerializer):
    strategy = serializers.CharField(source="definition.key")
    strategy_name = serializers.CharField(source="definition.name")
    config_id = serializers.UUIDField(allow_null=True)
    account_id = serializers.UUIDField()
    parameters = ParametersField()
    symbols = serializers.ListField(child=serializers.CharField())
    last_bar_times = serializers.DictField(
        child=serializers.CharField(), help_text="symbol -> open time of the last bar processed"
    )
    history_start = UtcTime()
    created_at = UtcTime()
    started_at = UtcTime()
    paused_at = UtcTime(allow_null=True)
    stopped_at = UtcTime(allow_null=True)
    last_tick_at = UtcTime(allow_null=True)
    last_error_at = UtcTime(allow_null=True)

    class Meta:
        model = StrategyDeployment
        fields = [
            "id",
            "name",
            "strategy",
            "strategy_name",
            "config_id",
            "parameters",
            "account_id",
            "symbols",
            "timeframe",
            "status",
            "warmup_bars",
            "history_start",
            "last_bar_times",
            "created_at",
            "started_at",
            "paused_at",
            "stopped_at",
            "last_tick_at",
            "last_error",
            "last_error_at",
        ]


class SignalSerializer(serializers.ModelSerializer):
    deployment_id = serializers.UUIDField()
    bar_time = UtcTime()
    stop_loss = DecimalText(allow_null=True)
    take_profit = DecimalText(allow_null=True)
    created_at = UtcTime()

    class Meta:
        model = Signal
        fields = [
            "id",
            "deployment_id",
            "symbol",
            "bar_time",
            "direction",
            "confidence",
            "stop_loss",
            "take_profit",
            "note",
            "created_at",
        ]


def deployment_payload(deployment: StrategyDeployment) -> dict[str, Any]:
    """The websocket form of a deployment (without the computed performance)."""
    return dict(DeploymentSerializer(deployment).data)


def signal_payload(signal: Signal) -> dict[str, Any]:
    return dict(SignalSerializer(signal).data)
