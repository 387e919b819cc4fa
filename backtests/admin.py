"""Admin: backtest runs, read-only (services write them), with a cancel action for unfinished ones."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from backtests import services
from backtests.models import Backtest
from tradeapp.core.admin import ReadOnlyAdmin
from tradeapp.core.errors import DomainError


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "owner",
        "strategy",
        "symbols",
        "timeframe",
        "kind",
        "status",
        "progress",
        "finished_at",
    ]
    list_filter = ["status", "kind", "timeframe", "commission_model"]
    search_fields = ["id", "name", "strategy", "owner__username", "error_code", "data_hash"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    exclude = ["trades"]  # thousands of rows of JSON: read them through the API or its CSV export
    actions = ["cancel_runs"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Backtest]:
        return super().get_queryset(request).defer("trades")

    @admin.action(description="Cancel the selected queued or running backtests")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Backtest]) -> None:
        canceled = 0
        for row in queryset.select_related("owner"):
            if row.is_finished:
                continue
            try:
                services.cancel_backtest(owner=row.owner, backtest_id=row.pk)
            except DomainError as error:
                self.message_user(request, f"{row.pk}: {error.message}", messages.WARNING)
                continue
            canceled += 1
        self.message_user(request, f"Canceled {canceled} backtest(s).", messages.SUCCESS)
