"""Portfolio API shapes: positions valued at the latest quotes, the account summary, activities."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

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
        from marketdata.api.serializers import utc_text

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
