"""Backtest runs: what to run (strategy, parameters, data, costs, kind of analysis), where it stands
(status, progress, error) and what it produced (results, trades, data range and hash, code version).

Rows are written only by ``backtests.services``: created valid and ``queued``, claimed by the Celery
task (``running``, ``attempts`` + 1), finished once (``completed`` / ``failed`` / ``canceled``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from marketdata.models import TIMEFRAME_CHOICES
from tradeapp.core.fields import money_field

MAX_SYMBOLS = 20


class BacktestKind(models.TextChoices):
    SINGLE = "single", "single run"
    GRID = "grid", "grid search"
    RANDOM = "random", "random search"
    WALK_FORWARD = "walk_forward", "walk-forward"
    MONTE_CARLO = "monte_carlo", "Monte Carlo"


class BacktestStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


FINISHED_STATUSES = (BacktestStatus.COMPLETED, BacktestStatus.FAILED, BacktestStatus.CANCELED)


class CommissionModel(models.TextChoices):
    NONE = "none", "no commission"
    BPS = "bps", "basis points of each fill's notional"
    PER_SHARE = "per_share", "per unit (with an order minimum)"
    PER_ORDER = "per_order", "flat per order"


class SlippageModel(models.TextChoices):
    NONE = "none", "no slippage"
    BPS = "bps", "basis points of the price"
    TICKS = "ticks", "whole ticks"


def _values(choices: type[models.TextChoices]) -> list[str]:
    return [member.value for member in choices]


class Backtest(models.Model):
    """One run (or one optimisation / walk-forward / Monte Carlo study) of a strategy on stored bars.

    The period is ``[start, end)`` (bars by open time); ``warmup_bars`` earlier bars are loaded as
    indicator history only. ``parameters`` are the strategy's complete, checked values;
    ``kind_settings`` the analysis' checked settings (defaults filled in). ``results`` holds everything
    but the trade list, which sits in ``trades`` so that reading a run's status or metrics never drags
    thousands of trades along."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtests")
    name = models.CharField(max_length=120, blank=True)
    strategy = models.CharField(max_length=200, help_text="a built-in key or a registered 'module:Class'")
    parameters = models.JSONField(default=dict, blank=True)
    symbols = ArrayField(models.CharField(max_length=32))
    timeframe = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES)
    start = models.DateTimeField(help_text="first bar the strategy trades on (open time, inclusive)")
    end = models.DateTimeField(help_text="end of the period (open time, exclusive)")
    warmup_bars = models.PositiveIntegerField(default=0)
    starting_cash = money_field()
    commission_model = models.CharField(
        max_length=12, choices=CommissionModel.choices, default=CommissionModel.NONE
    )
    commission_rate = money_field(default=0, help_text="bps, per unit or per order, by the model")
    commission_minimum = money_field(default=0, help_text="per_share: the least an order pays")
    slippage_model = models.CharField(max_length=8, choices=SlippageModel.choices, default=SlippageModel.NONE)
    slippage_amount = money_field(default=0, help_text="bps or ticks, by the model")
    kind = models.CharField(max_length=16, choices=BacktestKind.choices, default=BacktestKind.SINGLE)
    kind_settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker has claimed it")
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    results = models.JSONField(null=True, blank=True)
    trades = models.JSONField(default=list, blank=True)
    data_start = models.DateTimeField(null=True, blank=True, help_text="first bar loaded (warm-up included)")
    data_end = models.DateTimeField(null=True, blank=True, help_text="last bar loaded")
    data_bars = models.PositiveIntegerField(null=True, blank=True, help_text="bars loaded, all symbols")
    data_hash = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="backtest_period_forward"),
            models.CheckConstraint(condition=Q(starting_cash__gt=0), name="backtest_cash_positive"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="backtest_progress_percent"),
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0, commission_minimum__gte=0, slippage_amount__gte=0),
                name="backtest_costs_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(symbols__len__gte=1, symbols__len__lte=MAX_SYMBOLS),
                name="backtest_symbols_count",
            ),
            models.CheckConstraint(
                condition=Q(status__in=_values(BacktestStatus)), name="backtest_status_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=_values(BacktestKind)), name="backtest_kind_valid"),
            models.CheckConstraint(
                condition=Q(commission_model__in=_values(CommissionModel))
                & Q(slippage_model__in=_values(SlippageModel)),
                name="backtest_cost_models_valid",
            ),
            models.CheckConstraint(
                condition=Q(timeframe__in=[value for value, _ in TIMEFRAME_CHOICES]),
                name="backtest_timeframe_valid",
            ),
            # a finished run says when; a completed one has results
            models.CheckConstraint(
                condition=Q(status__in=[BacktestStatus.QUEUED, BacktestStatus.RUNNING])
                | Q(finished_at__isnull=False),
                name="backtest_finished_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=BacktestStatus.COMPLETED) | Q(results__isnull=False, progress=100),
                name="backtest_completed_has_results",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="backtest_by_owner"),
            models.Index(
                fields=["status"],
                condition=Q(status__in=[BacktestStatus.QUEUED, BacktestStatus.RUNNING]),
                name="backtest_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.strategy} on {', '.join(self.symbols)} {self.timeframe} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES
