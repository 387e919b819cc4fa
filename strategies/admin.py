"""Admin: strategy definitions (where admins register user-written strategy modules), configurations,
deployments (pause / resume / stop actions through the services), and read-only signals and events."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from strategies import services
from strategies.models import (
    DeploymentEvent,
    DeploymentStatus,
    Signal,
    StrategyConfig,
    StrategyDefinition,
    StrategyDeployment,
)
from tradeapp.core.admin import ReadOnlyAdmin
from tradeapp.core.errors import DomainError


class StrategyDefinitionForm(forms.ModelForm):
    class Meta:
        model = StrategyDefinition
        fields = ["key", "path", "name", "description", "enabled"]

    def clean_path(self) -> str:
        """The class must import on this server and be a Strategy subclass with valid defaults."""
        path = self.cleaned_data["path"].strip()
        try:
            services.strategy_class(path)()
        except DomainError as error:
            raise forms.ValidationError(error.message, code=error.code) from error
        except ValueError as error:  # a ParameterError of the defaults
            raise forms.ValidationError(f"Its default parameters are invalid: {error}") from error
        return path


@admin.register(StrategyDefinition)
class StrategyDefinitionAdmin(admin.ModelAdmin):
    form = StrategyDefinitionForm
    list_display = ["name", "key", "path", "enabled", "builtin", "updated_at"]
    list_filter = ["enabled", "builtin"]
    search_fields = ["key", "name", "path"]
    readonly_fields = ["builtin", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        services.ensure_builtin_definitions()  # the built-ins are always listed
        return super().changelist_view(request, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.builtin

    @admin.action(description="Enable the selected strategies")
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self.message_user(request, f"Enabled {queryset.update(enabled=True)} strategies.", messages.SUCCESS)

    @admin.action(description="Disable the selected strategies (their running deployments pause)")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self.message_user(request, f"Disabled {queryset.update(enabled=False)} strategies.", messages.WARNING)


@admin.register(StrategyConfig)
class StrategyConfigAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "definition", "updated_at"]
    list_filter = ["definition"]
    search_fields = ["name", "owner__username", "definition__key"]
    list_select_related = ["owner", "definition"]
    readonly_fields = ["created_at", "updated_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # parameters are checked by the strategy: users edit them through the API

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class DeploymentEventInline(admin.TabularInline):
    model = DeploymentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "status", "code", "message", "bar_time"]
    readonly_fields = fields
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StrategyDeployment)
class StrategyDeploymentAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "owner",
        "account",
        "definition",
        "timeframe",
        "status",
        "last_tick_at",
        "last_error_at",
    ]
    list_filter = ["status", "timeframe", "definition"]
    search_fields = ["name", "owner__username", "account__name", "definition__key"]
    list_select_related = ["owner", "account", "definition"]
    inlines = [DeploymentEventInline]
    actions = ["pause", "resume", "stop"]
    date_hierarchy = "created_at"

    def _apply(self, request: HttpRequest, queryset: Any, verb: str, call: Any, allowed: set[str]) -> None:
        done = 0
        for deployment in queryset.filter(status__in=allowed):
            try:
                call(owner=deployment.owner, deployment_id=deployment.pk)
            except DomainError as error:
                self.message_user(request, f"{deployment}: {error.message}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, f"{verb} {done} deployment(s).", messages.SUCCESS)

    @admin.action(description="Pause the selected deployments")
    def pause(self, request: HttpRequest, queryset: Any) -> None:
        self._apply(request, queryset, "Paused", services.pause_deployment, {DeploymentStatus.RUNNING})

    @admin.action(description="Resume the selected deployments")
    def resume(self, request: HttpRequest, queryset: Any) -> None:
        self._apply(request, queryset, "Resumed", services.resume_deployment, {DeploymentStatus.PAUSED})

    @admin.action(description="Stop the selected deployments (cancels their open orders)")
    def stop(self, request: HttpRequest, queryset: Any) -> None:
        self._apply(
            request,
            queryset,
            "Stopped",
            services.stop_deployment,
            {DeploymentStatus.RUNNING, DeploymentStatus.PAUSED},
        )


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ["bar_time", "deployment", "symbol", "direction", "confidence", "stop_loss", "take_profit"]
    list_filter = ["direction"]
    search_fields = ["symbol", "deployment__name", "note"]
    list_select_related = ["deployment"]


@admin.register(DeploymentEvent)
class DeploymentEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "deployment", "kind", "status", "code", "message"]
    list_filter = ["kind", "status"]
    search_fields = ["deployment__name", "code", "message"]
    list_select_related = ["deployment"]
