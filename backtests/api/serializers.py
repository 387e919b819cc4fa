"""Backtests API shapes: strict input serializers apart from output ones. Decimals travel as strings,
times as ISO 8601 UTC; a run's ``results`` is the JSON ``backtests.reports`` builds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from backtests.models import (
    MAX_SYMBOLS,
    Backtest,
    BacktestKind,
    BacktestStatus,
    CommissionModel,
    SlippageModel,
)
from backtests.services import MAX_WARMUP_BARS, headline
from marketdata.api.serializers import utc_text
from marketdata.domain import Timeframe
from tradeapp.core.api import StrictInputSerializer
from tradeapp.core.decimals import normalize


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(normalize(value))


def _utc(value: Any) -> str | None:
    return None if value is None else utc_text(value)


def _decimal(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=28, decimal_places=10, **kwargs)


def _values(choices: Any) -> list[str]:
    return [member.value for member in choices]


# --- input --------------------------------------------------------------------------------------------


class BacktestCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    strategy = serializers.CharField(max_length=200, help_text="a `key` of GET /api/v1/strategies/catalog")
    parameters = serializers.DictField(
        required=False, default=dict, help_text="parameter: value; omitted ones take their default"
    )
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=40), min_length=1, max_length=MAX_SYMBOLS
    )
    timeframe = serializers.ChoiceField(choices=_values(Timeframe))
    start = serializers.DateTimeField(help_text="first bar traded (open time, inclusive; ISO 8601)")
    end = serializers.DateTimeField(help_text="end of the period (open time, exclusive)")
    starting_cash = _decimal(default=Decimal(100_000))
    commission_model = serializers.ChoiceField(
        choices=_values(CommissionModel), default=CommissionModel.NONE.value
    )
    commission_rate = _decimal(default=Decimal(0), help_text="bps, per unit or per order, by the model")
    commission_minimum = _decimal(default=Decimal(0), help_text="per_share: the least an order pays")
    slippage_model = serializers.ChoiceField(choices=_values(SlippageModel), default=SlippageModel.NONE.value)
    slippage_amount = _decimal(default=Decimal(0), help_text="bps or ticks, by the model")
    kind = serializers.ChoiceField(choices=_values(BacktestKind), default=BacktestKind.SINGLE.value)
    kind_settings = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "grid: space, objective, maximize; random: + samples, seed; walk_forward: space, objective, "
            "maximize, in_sample, out_of_sample, step, anchored; monte_carlo: simulations, method, seed"
        ),
    )
    warmup_bars = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_WARMUP_BARS,
        help_text="bars of indicator history before start (default: 3 x the longest integer parameter)",
    )


class BacktestListQuerySerializer(StrictInputSerializer):
    status = serializers.ChoiceField(choices=_values(BacktestStatus), required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False)


class TradesQuerySerializer(StrictInputSerializer):
    export = serializers.ChoiceField(choices=["csv"], required=False, help_text="csv: every stored trade")
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=200)
    offset = serializers.IntegerField(min_value=0, default=0)


class CompareQuerySerializer(StrictInputSerializer):
    a = serializers.CharField(max_length=64, help_text="id of the first run")
    b = serializers.CharField(max_length=64, help_text="id of the second run (deltas are b - a)")


# --- output -------------------------------------------------------------------------------------------

_DECIMALS = ["starting_cash", "commission_rate", "commission_minimum", "slippage_amount"]
_TIMES = ["start", "end", "data_start", "data_end", "created_at", "started_at", "finished_at"]
_PLAIN = [
    "name",
    "strategy",
    "parameters",
    "symbols",
    "timeframe",
    "warmup_bars",
    "commission_model",
    "slippage_model",
    "kind",
    "kind_settings",
    "status",
    "progress",
    "attempts",
    "error_code",
    "error_message",
    "data_bars",
    "data_hash",
    "code_version",
]


class BacktestSerializer(serializers.Serializer):
    """A run's settings and state (the list view adds ``metrics``: a few headline figures)."""

    id = serializers.UUIDField()
    name = serializers.CharField(allow_blank=True)
    strategy = serializers.CharField()
    parameters = serializers.DictField()
    symbols = serializers.ListField(child=serializers.CharField())
    timeframe = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    warmup_bars = serializers.IntegerField()
    starting_cash = serializers.CharField()
    commission_model = serializers.CharField()
    commission_rate = serializers.CharField()
    commission_minimum = serializers.CharField()
    slippage_model = serializers.CharField()
    slippage_amount = serializers.CharField()
    kind = serializers.ChoiceField(choices=_values(BacktestKind))
    kind_settings = serializers.DictField()
    status = serializers.ChoiceField(choices=_values(BacktestStatus))
    progress = serializers.IntegerField(help_text="percent")
    attempts = serializers.IntegerField()
    error_code = serializers.CharField(allow_blank=True)
    error_message = serializers.CharField(allow_blank=True)
    data_start = serializers.CharField(allow_null=True, help_text="first bar loaded (warm-up included)")
    data_end = serializers.CharField(allow_null=True)
    data_bars = serializers.IntegerField(allow_null=True)
    data_hash = serializers.CharField(allow_blank=True, help_text="SHA-256 of the bars used")
    code_version = serializers.CharField(allow_blank=True)
    created_at = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    finished_at = serializers.CharField(allow_null=True)

    def to_representation(self, row: Backtest) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(row.pk)}
        data.update({name: getattr(row, name) for name in _PLAIN})
        data.update({name: _text(getattr(row, name)) for name in _DECIMALS})
        data.update({name: _utc(getattr(row, name)) for name in _TIMES})
        return data


class BacktestListItemSerializer(BacktestSerializer):
    metrics = serializers.DictField(
        allow_null=True, help_text="total_return, annualized_return, sharpe, max_drawdown, trades, win_rate"
    )

    def to_representation(self, row: Backtest) -> dict[str, Any]:
        data = super().to_representation(row)
        data["metrics"] = headline(getattr(row, "metrics", None))
        return data


class BacktestPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = BacktestListItemSerializer(many=True)


class BacktestDetailSerializer(BacktestSerializer):
    results = serializers.JSONField(
        allow_null=True,
        help_text=(
            "when completed: kind, metrics, parameters, initial_cash, final_cash, final_equity, bars, "
            "equity_curve {time (UNIX s), equity, drawdown}, orders {count, by_status, rejected}, fills, "
            "trades {count, stored, truncated}, open_trades, positions, data_ranges, config, fingerprint; "
            "grid/random: optimisation {objective, best, rows, heatmap}; walk_forward: walk_forward "
            "{windows, metrics, equity_curve}; monte_carlo: monte_carlo {return_percentiles, "
            "drawdown_percentiles, probability_of_loss, histograms}"
        ),
    )

    def to_representation(self, row: Backtest) -> dict[str, Any]:
        data = super().to_representation(row)
        data["results"] = row.results
        return data


class TradeSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    direction = serializers.ChoiceField(choices=["long", "short"])
    quantity = serializers.CharField()
    entry_time = serializers.CharField()
    exit_time = serializers.CharField()
    entry_price = serializers.CharField()
    exit_price = serializers.CharField()
    pnl = serializers.CharField(help_text="net of every commission of the round trip")
    commission = serializers.CharField()
    return_pct = serializers.FloatField(help_text="percent")
    bars = serializers.IntegerField(help_text="bars held")
    duration_seconds = serializers.IntegerField()
    is_open = serializers.BooleanField()


class TradePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="stored trades")
    truncated = serializers.BooleanField(help_text="the run had more trades than are stored")
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = TradeSerializer(many=True)


class MetricDeltaSerializer(serializers.Serializer):
    name = serializers.CharField()
    a = serializers.JSONField(allow_null=True)
    b = serializers.JSONField(allow_null=True)
    delta = serializers.FloatField(allow_null=True, help_text="b - a; null when either is undefined")


class ComparisonSerializer(serializers.Serializer):
    a = BacktestSerializer()
    b = BacktestSerializer()
    metrics = MetricDeltaSerializer(many=True)
    differences = serializers.DictField(
        child=serializers.DictField(), help_text="settings that differ: name -> {a, b}"
    )

    def to_representation(self, comparison: Any) -> dict[str, Any]:
        return {
            "a": BacktestSerializer(comparison.first).data,
            "b": BacktestSerializer(comparison.second).data,
            "metrics": comparison.metrics,
            "differences": comparison.differences,
        }


class ParameterSchemaSerializer(serializers.Serializer):
    """One ``Param`` as a form field (``Param.describe``); Decimal values as strings."""

    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["int", "float", "bool", "str", "decimal"])
    default = serializers.JSONField()
    minimum = serializers.JSONField(allow_null=True)
    maximum = serializers.JSONField(allow_null=True)
    step = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    help = serializers.CharField(allow_blank=True)


class StrategySchemaSerializer(serializers.Serializer):
    """A runnable strategy: ``key`` (what POST /backtests takes), then ``Strategy.schema()``."""

    key = serializers.CharField(help_text="the BUILTINS name, or the registered 'module:Class'")
    name = serializers.CharField(help_text="import path 'module:Class'")
    title = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    parameters = ParameterSchemaSerializer(many=True)
