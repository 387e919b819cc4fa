"""Admin: orders with their read-only audit trail and fills, algos, per-account risk settings, and the
trading controls with the kill switch (one click, with confirmation)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from orders import services
from orders.models import (
    OPEN_STATUS_VALUES,
    AlgoOrder,
    Fill,
    Order,
    OrderEvent,
    RiskSettings,
    TradingControls,
)
from tradeapp.core.admin import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["sequence", "kind", "status", "reason_code", "message", "data", "created_at"]


class FillInline(ReadOnlyInline):
    model = Fill
    fields = ["sequence", "side", "quantity", "price", "commission", "realized_pnl", "executed_at"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "instrument",
        "side",
        "order_type",
        "quantity",
        "filled_quantity",
        "status",
        "source",
    ]
    list_filter = ["status", "side", "order_type", "order_class", "source", "time_in_force"]
    search_fields = ["id", "client_order_id", "instrument__symbol", "account__owner__username"]
    list_select_related = ["account", "instrument"]
    inlines = [OrderEventInline, FillInline]
    actions = ["cancel_orders"]
    date_hierarchy = "created_at"

    @admin.action(description="Cancel the selected open orders")
    def cancel_orders(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for order in queryset.filter(status__in=OPEN_STATUS_VALUES):
            services.cancel_order(account=order.account, order_id=order.pk)
            count += 1
        self.message_user(request, f"Canceled {count} order(s).", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["order", "sequence", "kind", "status", "reason_code", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["order__id", "reason_code"]


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = [
        "executed_at",
        "account",
        "instrument",
        "side",
        "quantity",
        "price",
        "commission",
        "realized_pnl",
    ]
    list_filter = ["side", "instrument__asset_class"]
    search_fields = ["order__id", "instrument__symbol", "account__owner__username"]
    list_select_related = ["account", "instrument"]


@admin.register(AlgoOrder)
class AlgoOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "instrument",
        "algo",
        "side",
        "quantity",
        "filled_quantity",
        "status",
    ]
    list_filter = ["algo", "status"]
    search_fields = ["id", "instrument__symbol"]


@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "account",
        "max_position_pct",
        "max_order_notional",
        "max_open_orders",
        "daily_loss_limit",
        "allow_short",
    ]
    list_filter = ["allow_short"]
    search_fields = ["account__name", "account__owner__username"]


@admin.register(TradingControls)
class TradingControlsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "kill_switch",
        "kill_switch_reason",
        "kill_switch_changed_at",
        "kill_switch_changed_by",
    ]
    list_filter = ["kill_switch"]
    search_fields = ["kill_switch_reason"]
    readonly_fields = ["kill_switch", "kill_switch_changed_at", "kill_switch_changed_by"]
    actions = ["engage_kill_switch", "release_kill_switch"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        services.trading_controls()  # the one row always exists, so the actions always have a target
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="ENGAGE the kill switch: cancel every open order and block new ones")
    def engage_kill_switch(self, request: HttpRequest, queryset: Any) -> HttpResponseRedirect:
        services.set_kill_switch(engaged=True, reason=f"engaged by {request.user}", by=request.user)
        self.message_user(
            request, "Kill switch engaged: open orders canceled, new orders refused.", messages.WARNING
        )
        return HttpResponseRedirect(reverse("admin:orders_tradingcontrols_changelist"))

    @admin.action(description="Release the kill switch")
    def release_kill_switch(self, request: HttpRequest, queryset: Any) -> HttpResponseRedirect:
        services.set_kill_switch(engaged=False, by=request.user)
        self.message_user(request, "Kill switch released: trading resumes.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_tradingcontrols_changelist"))
