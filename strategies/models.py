"""Strategies in the platform: registered strategy classes, users' configurations of them, deployments on
paper accounts (ticked by Celery on each closed bar), their signals and their audit trail.

Invariants the database guards as well: one definition per key and per import path; configuration
names unique per owner; a deployment trades at least one symbol, a stopped one has its stop time; one
signal per (deployment, symbol, bar); confidence within [0, 1].
The state machine of a deployment is ``strategies.services.TRANSITIONS`` (one table, one function).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from marketdata.models import TIMEFRAME_CHOICES
from tradeapp.core.fields import money_field, price_field

MAX_DEPLOYMENT_SYMBOLS = 20
DEFAULT_WARMUP_BARS = 500


class StrategyDefinition(models.Model):
    """A strategy class the platform may run: a built-in (created on demand from ``BUILTINS``) or a
    user-written module an admin registered by its import path ``"package.module:ClassName"``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.SlugField(
        max_length=64, unique=True, help_text="Stable name used by the API, e.g. moving_average_crossover."
    )
    path = models.CharField(
        max_length=200,
        unique=True,
        help_text='Import path of a Strategy subclass: "package.module:ClassName".',
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True, help_text="Disabled: no new configurations or deployments.")
    builtin = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(key__regex=r"^[a-z0-9_]+$"), name="strategy_key_snake_case"),
            models.CheckConstraint(
                condition=Q(path__regex=r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"),
                name="strategy_path_module_colon_class",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class StrategyConfig(models.Model):
    """A user's named set of parameters for one strategy. ``parameters`` holds every parameter, checked
    and coerced by the strategy class (JSON-ready: Decimals as strings)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategy_configs"
    )
    definition = models.ForeignKey(StrategyDefinition, on_delete=models.PROTECT, related_name="configs")
    name = models.CharField(max_length=80)
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="strategy_config_name_unique_per_owner"),
        ]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.definition_id})"


class DeploymentStatus(models.TextChoices):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class StrategyDeployment(models.Model):
    """A strategy running on a paper account: ticked on each closed bar of its symbols and timeframe.

    The strategy and parameters are copied from the configuration when it is deployed (editing the
    configuration later does not change a running deployment). ``history_start`` anchors the bars every
    tick rebuilds the Context from (recursive indicators depend on where history starts: a backtest
    from the same first bar gives the same digits). ``last_bar_times`` (symbol -> ISO open time of the
    last bar on_bar saw as new) makes a redelivered tick a no-op. ``state`` holds the runtime's
    bookkeeping: the on_fill cursor, order tags, the last log lines."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategy_deployments"
    )
    name = models.CharField(max_length=80)
    config = models.ForeignKey(
        StrategyConfig, on_delete=models.SET_NULL, null=True, blank=True, related_name="deployments"
    )
    definition = models.ForeignKey(StrategyDefinition, on_delete=models.PROTECT, related_name="deployments")
    parameters = models.JSONField(default=dict, blank=True)
    account = models.ForeignKey(
        "accounts.TradingAccount", on_delete=models.CASCADE, related_name="strategy_deployments"
    )
    symbols = ArrayField(models.CharField(max_length=32), size=MAX_DEPLOYMENT_SYMBOLS)
    timeframe = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES)
    status = models.CharField(
        max_length=8, choices=DeploymentStatus.choices, default=DeploymentStatus.RUNNING
    )
    warmup_bars = models.PositiveIntegerField(default=DEFAULT_WARMUP_BARS)
    history_start = models.DateTimeField()
    starting_equity = money_field(help_text="The account's equity when it was deployed (metrics base).")
    state = models.JSONField(default=dict, blank=True)
    last_bar_times = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField()
    paused_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(symbols__len__gte=1), name="deployment_has_symbols"),
            models.CheckConstraint(
                condition=~Q(status=DeploymentStatus.STOPPED) | Q(stopped_at__isnull=False),
                name="deployment_stopped_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeploymentStatus.values), name="deployment_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(
                fields=["timeframe"],
                condition=Q(status=DeploymentStatus.RUNNING),
                name="deployment_running_timeframe",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class SignalDirection(models.TextChoices):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class Signal(models.Model):
    """A strategy's view on one bar (``ctx.signal``): direction, confidence, optional levels. One per
    (deployment, symbol, bar): a later signal on the same bar replaces the earlier one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    deployment = models.ForeignKey(StrategyDeployment, on_delete=models.CASCADE, related_name="signals")
    symbol = models.CharField(max_length=32)
    bar_time = models.DateTimeField(help_text="Open time of the bar the signal was emitted on.")
    direction = models.CharField(max_length=4, choices=SignalDirection.choices)
    confidence = models.FloatField()
    stop_loss = price_field(null=True, blank=True)
    take_profit = price_field(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-bar_time", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "symbol", "bar_time"], name="signal_unique_per_deployment_bar"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="signal_confidence_in_unit_range"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=SignalDirection.values), name="signal_direction_valid"
            ),
        ]
        indexes = [models.Index(fields=["deployment", "-bar_time"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.symbol} @ {self.bar_time:%Y-%m-%d %H:%M}"


class DeploymentEvent(models.Model):
    """One entry of a deployment's audit trail, append-only: status changes, strategy errors, orders
    the market refused (risk or validation, with the code), ticks that placed or canceled orders."""

    class Kind(models.TextChoices):
        STATUS = "status"
        ERROR = "error"
        REJECTION = "rejection"
        TICK = "tick"

    id = models.BigAutoField(primary_key=True)
    deployment = models.ForeignKey(StrategyDeployment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=DeploymentStatus.choices)
    code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500, blank=True)
    bar_time = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["deployment", "-id"])]

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.kind} {self.code}".strip()
