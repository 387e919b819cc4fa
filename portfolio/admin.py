"""Admin: positions, the cash ledger (read-only) and equity snapshots."""

from __future__ import annotations

from django.contrib import admin

from portfolio.models import CashEntry, EquitySnapshot, Position
from tradeapp.core.admin import ReadOnlyAdmin


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = [
        "account",
        "instrument",
        "quantity",
        "average_cost",
        "realized_pnl",
        "stop_loss_price",
        "take_profit_price",
    ]
    list_filter = ["instrument__asset_class"]
    search_fields = ["instrument__symbol", "account__owner__username", "account__name"]
    list_select_related = ["account", "instrument"]


@admin.register(CashEntry)
class CashEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "kind", "amount", "memo"]
    list_filter = ["kind"]
    search_fields = ["memo", "account__owner__username", "account__name"]
    list_select_related = ["account"]


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(ReadOnlyAdmin):
    list_display = ["taken_at", "account", "cash", "positions_value", "equity"]
    list_filter = ["taken_at"]
    search_fields = ["account__owner__username", "account__name"]
    list_select_related = ["account"]
