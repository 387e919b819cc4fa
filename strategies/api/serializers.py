"""Strategies API shapes: input serializers (strict: unknown fields refused) apart from output ones.
Decimals travel as strings, times as ISO 8601 UTC."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketdata.domain import Timeframe
from portfolio.api.serializers import MetricsSerializer
from strategies.models import (
    DEFAULT_WARMUP_BARS,
    MAX_DEPLOYMENT_SYMBOLS,
    DeploymentEvent,
    DeploymentStatus,
    SignalDirection,
    StrategyConfig,
    StrategyDeployment,
)
from strategies.representations import (  # the output shapes, shared with websocket events
    DecimalText as DecimalText,
    DeploymentSerializer as DeploymentSerializer,
    ParametersField as ParametersField,
    SignalSerializer as SignalSerializer,
    UtcTime as UtcTime,
    deployment_payload as deployment_payload,
    signal_payload as signal_payload,
)
from strategies.selectors import deployment_performance, recent_events
from tradeapp.core.api import StrictInputSerializer

# --- configurations ------------------------------------------------------------------------------------


class StrategyConfigSerializer(serializers.ModelSerializer):
    strategy = serializers.CharField(source="definition.key", help_text="the strategy's key")
    strategy_name = serializers.CharField(source="definition.name")
    parameters = ParametersField(help_text="every parameter, checked by the strategy")
    created_at = UtcTime()
    updated_at = UtcTime()

    class Meta:
        model = StrategyConfig
        fields = ["id", "name", "strategy", "strategy_name", "parameters", "created_at", "updated_at"]


class StrategyConfigCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=80)
    strategy = serializers.CharField(max_length=64, help_text="a strategy key, e.g. moving_average_crossover")
    parameters = ParametersField(required=False, help_text="missing parameters take their defaults")


class StrategyConfigUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=80, required=False)
    parameters = ParametersField(required=False, help_text="the given parameters replace the stored ones")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                {"name": ["Change at least one field."]}, code="nothing_to_change"
            )
        return attrs


# --- deployments -------------------------------------------------------------------------------------


class DeploymentCreateSerializer(StrictInputSerializer):
    config_id = serializers.UUIDField(required=False, help_text="deploy one of your configurations ...")
    strategy = serializers.CharField(max_length=64, required=False, help_text="... or a strategy key")
    parameters = ParametersField(
        required=False, help_text="with strategy: its parameters; with config_id: overrides"
    )
    account_id = serializers.CharField(
        max_length=40, default="default", help_text="one of your paper accounts, or `default`"
    )
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=40), min_length=1, max_length=MAX_DEPLOYMENT_SYMBOLS
    )
    timeframe = serializers.ChoiceField(choices=[frame.value for frame in Timeframe])
    name = serializers.CharField(max_length=80, required=False)
    warmup_bars = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        default=DEFAULT_WARMUP_BARS,
        help_text="bars of history before the start that indicators are computed from",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("config_id" in attrs) == ("strategy" in attrs):
            raise serializers.ValidationError(
                {"strategy": ["Give either config_id or strategy."]}, code="required"
            )
        return attrs


class DeploymentStopSerializer(StrictInputSerializer):
    close_positions = serializers.BooleanField(
        default=False, help_text="also flatten the deployment's own positions with market orders"
    )


class DeploymentQuerySerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=DeploymentStatus.values, required=False)


class SignalQuerySerializer(StrictInputSerializer):
    deployment_id = serializers.UUIDField(required=False)
    symbol = serializers.CharField(max_length=40, required=False)
    direction = serializers.ChoiceField(choices=SignalDirection.values, required=False)
    since = serializers.DateTimeField(required=False, help_text="bars opening at or after (ISO 8601)")
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)


class SignalPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = SignalSerializer(many=True)


# the status choice set is an enum in one component only (``Deployment``): drf-spectacular names a
# choice set shared by several components after a hash, with a warning
STATUS_TEXT = "the deployment's status then: running, paused or stopped"


class DeploymentEventSerializer(serializers.ModelSerializer):
    status = serializers.CharField(help_text=STATUS_TEXT)
    bar_time = UtcTime(allow_null=True)
    created_at = UtcTime()

    class Meta:
        model = DeploymentEvent
        fields = ["id", "kind", "status", "code", "message", "bar_time", "data", "created_at"]


class DeploymentPositionSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    quantity = DecimalText()
    average_cost = DecimalText()
    price = DecimalText(help_text="latest quote (last, else mid), else the average cost")
    market_value = DecimalText()
    unrealized_pnl = DecimalText()
    realized_pnl = DecimalText(help_text="net of commissions")
    commission = DecimalText()


class PerformanceSerializer(serializers.Serializer):
    realized_pnl = DecimalText()
    unrealized_pnl = DecimalText()
    total_pnl = DecimalText()
    commission = DecimalText()
    orders = serializers.IntegerField()
    open_orders = serializers.IntegerField()
    fills = serializers.IntegerField()
    trades = serializers.IntegerField(help_text="closed round trips")
    positions = DeploymentPositionSerializer(many=True)
    metrics = MetricsSerializer(allow_null=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["metrics"] = None if instance.metrics is None else instance.metrics.as_dict()
        return data


class DeploymentDetailSerializer(DeploymentSerializer):
    status = serializers.CharField(help_text="running, paused or stopped")
    performance = serializers.SerializerMethodField()
    recent_signals = serializers.SerializerMethodField()
    recent_events = serializers.SerializerMethodField()
    log = serializers.SerializerMethodField()

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "performance", "recent_signals", "recent_events", "log"]

    @extend_schema_field(PerformanceSerializer)
    def get_performance(self, deployment: StrategyDeployment) -> dict[str, Any]:
        return dict(PerformanceSerializer(deployment_performance(deployment)).data)

    @extend_schema_field(SignalSerializer(many=True))
    def get_recent_signals(self, deployment: StrategyDeployment) -> list[dict[str, Any]]:
        rows = deployment.signals.order_by("-bar_time", "symbol")[:20]
        return list(SignalSerializer(rows, many=True).data)

    @extend_schema_field(DeploymentEventSerializer(many=True))
    def get_recent_events(self, deployment: StrategyDeployment) -> list[dict[str, Any]]:
        return list(DeploymentEventSerializer(recent_events(deployment), many=True).data)

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="the last log lines: [ISO time, message]",
        )
    )
    def get_log(self, deployment: StrategyDeployment) -> list[list[str]]:
        return list((deployment.state or {}).get("log", []))[-50:]
