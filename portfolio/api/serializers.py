"""Portfolio API shapes: positions valued at the latest quotes, the account summary, activities."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from marketdata.api.serializers import utc_text
from portfolio.analytics import RANGES
from portfolio.selectors import AccountSummary, ValuedPosition
from tradeapp.core.api import StrictInputSerializer
from tradeapp.core.decimals import normalize


def _text(value: Any) -> str | None:
    return None if value is None else str(normalize(value))


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


class PositionSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    asset_class = serializers.CharField()
    side = serializers.ChoiceField(choices=["long", "short"])
    quantity = serializers.CharField()
    average_cost = serializers.CharField()
    price = serializers.CharField(help_text="the mark: last trade, else mid")
    market_value = serializers.CharField()
    cost_basis = serializers.CharField()
    unrealized_pnl = serializers.CharField()
    unrealized_pnl_pct = serializers.CharField(allow_null=True)
    realized_pnl = serializers.CharField()
    stop_loss_price = serializers.CharField(allow_null=True)
    take_profit_price = serializers.CharField(allow_null=True)
    opened_at = serializers.CharField(allow_null=True)

    def to_representation(self, row: ValuedPosition) -> dict[str, Any]:
        position = row.position
        pct = row.unrealized_pct
        return {
            "symbol": row.instrument.symbol,
            "asset_class": row.instrument.asset_class,
            "side": "long" if position.quantity > 0 else "short",
            "quantity": _text(position.quantity),
            "average_cost": _text(position.average_cost),
            "price": _text(row.price),
            "market_value": _money(row.market_value),
            "cost_basis": _money(abs(position.quantity) * position.average_cost),
            "unrealized_pnl": _money(row.unrealized_pnl),
            "unrealized_pnl_pct": f"{pct:.2f}" if pct is not None else None,
            "realized_pnl": _money(position.realized_pnl),
            "stop_loss_price": _text(position.stop_loss_price),
            "take_profit_price": _text(position.take_profit_price),
            "opened_at": utc_text(position.opened_at) if position.opened_at else None,
        }


class SummarySerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    currency = serializers.CharField()
    cash = serializers.CharField()
    equity = serializers.CharField()
    positions_value = serializers.CharField()
    long_value = serializers.CharField()
    short_value = serializers.CharField()
    buying_power = serializers.CharField()
    reserved_cash = serializers.CharField(help_text="held back by open buy orders")
    start_of_day_equity = serializers.CharField()
    day_pnl = serializers.CharField()
    day_pnl_pct = serializers.CharField(allow_null=True)
    total_pnl = serializers.CharField()
    realized_pnl = serializers.CharField()
    unrealized_pnl = serializers.CharField()
    open_orders = serializers.IntegerField()
    status = serializers.CharField()

    def to_representation(self, summary: AccountSummary) -> dict[str, Any]:
        money = [
            "cash",
            "equity",
            "positions_value",
            "long_value",
            "short_value",
            "buying_power",
            "reserved_cash",
            "start_of_day_equity",
            "day_pnl",
            "total_pnl",
            "realized_pnl",
            "unrealized_pnl",
        ]
        data: dict[str, Any] = {name: _money(getattr(summary, name)) for name in money}
        data.update(
            account_id=str(summary.account.pk),
            currency=summary.account.base_currency,
            day_pnl_pct=f"{summary.day_pnl_pct:.2f}" if summary.day_pnl_pct is not None else None,
            open_orders=summary.open_orders,
            status=summary.account.status,
        )
        return data


class ExitsInputSerializer(StrictInputSerializer):
    stop_loss_price = serializers.DecimalField(
        max_digits=28, decimal_places=10, allow_null=True, required=False
    )
    take_profit_price = serializers.DecimalField(
        max_digits=28, decimal_places=10, allow_null=True, required=False
    )


class ActivityQuerySerializer(StrictInputSerializer):
    type = serializers.ChoiceField(choices=["fill", "cash"], required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class ActivitySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["fill", "cash"])
    id = serializers.CharField()
    at = serializers.CharField()
    kind = serializers.CharField(help_text="fill side, or the ledger entry kind")
    symbol = serializers.CharField(allow_null=True)
    quantity = serializers.CharField(allow_null=True)
    price = serializers.CharField(allow_null=True)
    amount = serializers.CharField(help_text="signed cash effect")
    memo = serializers.CharField(allow_blank=True)


# --- analytics: the equity curve, day P&L, allocation, metrics, realised P&L -----------------------------


class RangeField(serializers.ChoiceField):
    """A curve range, in any case (``1d`` = ``1D``; ``All`` = ``ALL``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(RANGES), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(str(data).strip().upper()))


class EquityQuerySerializer(StrictInputSerializer):
    range = RangeField(required=False, default="1M", help_text="1D, 1W, 1M, 3M, 1Y or ALL (any case)")


class EquityPointSerializer(serializers.Serializer):
    time = serializers.CharField()
    equity = serializers.CharField()


class EquityCurveSerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    currency = serializers.CharField()
    range = serializers.CharField()
    start = serializers.CharField(help_text="when the range opens (not before the opening or last reset)")
    end = serializers.CharField(help_text="now: the last point is the current valuation")
    bucket_seconds = serializers.IntegerField(help_text="each bucket keeps its last snapshot")
    start_equity = serializers.CharField()
    end_equity = serializers.CharField()
    change = serializers.CharField()
    change_pct = serializers.CharField(allow_null=True)
    points = EquityPointSerializer(many=True)

    def to_representation(self, curve: Any) -> dict[str, Any]:
        window = curve.window
        return {
            "account_id": str(curve.account.pk),
            "currency": curve.account.base_currency,
            "range": window.name,
            "start": utc_text(window.start),
            "end": utc_text(window.end),
            "bucket_seconds": int(window.bucket.total_seconds()),
            "start_equity": _money(curve.start_equity),
            "end_equity": _money(curve.end_equity),
            "change": _money(curve.change),
            "change_pct": _pct(curve.change_pct),
            "points": [{"time": utc_text(p.time), "equity": _money(p.equity)} for p in curve.points],
        }


def _pct(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


class DayPnlSerializer(serializers.Serializer):
    start_equity = serializers.CharField(help_text="at the start of the UTC day")
    equity = serializers.CharField()
    pnl = serializers.CharField()
    pnl_pct = serializers.CharField(allow_null=True)
    realized = serializers.CharField(help_text="booked by today's fills, net of their commissions")
    unrealized_change = serializers.CharField(help_text="the rest: open positions moving")


class AllocationRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='a symbol, an asset class, or "cash"')
    asset_class = serializers.CharField()
    side = serializers.ChoiceField(choices=["long", "short", "mixed", "cash"])
    long_value = serializers.CharField()
    short_value = serializers.CharField(help_text="negative: shorts")
    value = serializers.CharField(help_text="signed market value")
    pct = serializers.CharField(allow_null=True, help_text="of equity; the rows add up to 100")


def _allocation_row(row: Any) -> dict[str, Any]:
    return {
        "key": row.key,
        "asset_class": row.asset_class,
        "side": row.side,
        "long_value": _money(row.long_value),
        "short_value": _money(row.short_value),
        "value": _money(row.value),
        "pct": _pct(row.pct),
    }


class AllocationSerializer(serializers.Serializer):
    equity = serializers.CharField()
    cash = serializers.CharField()
    long_value = serializers.CharField()
    short_value = serializers.CharField()
    gross_exposure_pct = serializers.CharField(allow_null=True)
    net_exposure_pct = serializers.CharField(allow_null=True)
    by_symbol = AllocationRowSerializer(many=True)
    by_asset_class = AllocationRowSerializer(many=True)


class MetricsSerializer(serializers.Serializer):
    """``portfolio.metrics.Metrics``: fractions (0.12 = 12 %); null where undefined, or where a live
    account's or deployment's history is too short for the figure (``portfolio.analytics.reliable``)."""

    start_equity = serializers.FloatField(allow_null=True)
    end_equity = serializers.FloatField(allow_null=True)
    periods = serializers.IntegerField()
    periods_per_year = serializers.FloatField()
    risk_free_rate = serializers.FloatField()
    total_return = serializers.FloatField(allow_null=True)
    annualized_return = serializers.FloatField(
        allow_null=True, help_text="live: null before 30 days of history"
    )
    volatility = serializers.FloatField(allow_null=True)
    sharpe = serializers.FloatField(allow_null=True)
    sortino = serializers.FloatField(allow_null=True)
    calmar = serializers.FloatField(allow_null=True)
    max_drawdown = serializers.FloatField(allow_null=True)
    max_drawdown_periods = serializers.IntegerField()
    max_drawdown_duration = serializers.FloatField(allow_null=True, help_text="seconds")
    trades = serializers.IntegerField(help_text="closed round trips")
    win_rate = serializers.FloatField(allow_null=True)
    average_win = serializers.FloatField(allow_null=True)
    average_loss = serializers.FloatField(allow_null=True)
    profit_factor = serializers.JSONField(help_text='a number, "inf" or null')
    expectancy = serializers.FloatField(allow_null=True)
    average_trade_return = serializers.FloatField(allow_null=True)
    exposure_time = serializers.FloatField(allow_null=True)
    buy_and_hold_return = serializers.FloatField(allow_null=True)
    excess_return = serializers.FloatField(allow_null=True)
    var_confidence = serializers.FloatField()
    var_historical = serializers.FloatField(allow_null=True, help_text="one period, a fraction of equity")
    var_monte_carlo = serializers.FloatField(allow_null=True, help_text="one period, a fraction of equity")


class AccountMetricsSerializer(MetricsSerializer):
    """The account's metrics, from its equity once per ``period`` and its closed round trips."""

    period = serializers.ChoiceField(choices=["1h", "1d"], help_text="the equity is sampled once per period")


class RealizedRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='the symbol, or the deployment id ("" for manual orders)')
    label = serializers.CharField()
    realized_pnl = serializers.CharField(help_text="net of commissions")
    commission = serializers.CharField()
    fills = serializers.IntegerField()
    trades = serializers.IntegerField(help_text="closed round trips (by symbol)")
    wins = serializers.IntegerField()
    symbols = serializers.ListField(child=serializers.CharField())


def _realized_row(row: Any) -> dict[str, Any]:
    return {
        "key": row.key,
        "label": row.label,
        "realized_pnl": _money(row.realized_pnl),
        "commission": _money(row.commission),
        "fills": row.fills,
        "trades": row.trades,
        "wins": row.wins,
        "symbols": list(row.symbols),
    }


class AnalyticsSerializer(serializers.Serializer):
    account_id = serializers.UUIDField()
    currency = serializers.CharField()
    at = serializers.CharField()
    day = DayPnlSerializer()
    allocation = AllocationSerializer()
    metrics = AccountMetricsSerializer()
    realized_pnl = serializers.CharField(help_text="since the last reset, net of commissions")
    realized_by_symbol = RealizedRowSerializer(many=True)
    realized_by_strategy = RealizedRowSerializer(many=True)

    def to_representation(self, result: Any) -> dict[str, Any]:
        day, allocation = result.day, result.allocation
        return {
            "account_id": str(result.account.pk),
            "currency": result.account.base_currency,
            "at": utc_text(result.at),
            "day": {
                "start_equity": _money(day.start_equity),
                "equity": _money(day.equity),
                "pnl": _money(day.pnl),
                "pnl_pct": _pct(day.pct),
                "realized": _money(day.realized),
                "unrealized_change": _money(day.unrealized_change),
            },
            "allocation": {
                "equity": _money(allocation.equity),
                "cash": _money(allocation.cash),
                "long_value": _money(allocation.long_value),
                "short_value": _money(allocation.short_value),
                "gross_exposure_pct": _pct(allocation.gross_exposure_pct),
                "net_exposure_pct": _pct(allocation.net_exposure_pct),
                "by_symbol": [_allocation_row(row) for row in allocation.by_symbol],
                "by_asset_class": [_allocation_row(row) for row in allocation.by_asset_class],
            },
            "metrics": {"period": result.metrics_period.name, **result.metrics.as_dict()},
            "realized_pnl": _money(result.realized_pnl),
            "realized_by_symbol": [_realized_row(row) for row in result.realized_by_symbol],
            "realized_by_strategy": [_realized_row(row) for row in result.realized_by_strategy],
        }
