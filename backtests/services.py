"""Backtest use cases: create a run (checked completely first: nothing is written on bad input), run it
(the ``backtests.run`` Celery task calls :func:`run_backtest`), cancel it, compare two runs.

A run loads its bars from the database (``marketdata.selectors.bars_frame``) and hands them to the pure
engine (``backtests.engine``) or to the analyses built on it (``backtests.analysis``: grid and random
search, walk-forward, trade Monte Carlo). While it runs, ``progress`` is written at most twice a second
and a ``backtest`` event goes to the owner's stream (``user.<id>``) after each write; a cancel is a
status change the run notices at its next check (every 32 768 bars, or between combinations).

Lifecycle and retry safety: ``queued`` -> ``running`` (a worker claims the row and bumps ``attempts``)
-> ``completed`` | ``failed`` | ``canceled``. Every write after the claim is conditional on the row still
being ``running`` under that attempt, so a cancel that lands first wins, and a redelivered task (its
worker died) restarts the run from scratch while anything the lost attempt still writes is ignored. A
finished run is never run again.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import redis
from django.conf import settings
from django.db import transaction

from backtests import analysis, pool, reports, selectors
from backtests.engine import (
    BacktestCancelled,
    BacktestConfig,
    BacktestError,
    BacktestResult,
    data_hash,
)
from backtests.engine import run_backtest as run_engine
from backtests.models import (
    MAX_SYMBOLS,
    Backtest,
    BacktestKind,
    BacktestStatus,
    CommissionModel,
    SlippageModel,
)
from marketdata.domain import Timeframe, ensure_utc
from marketdata.selectors import bars_frame, check_bar_window, instruments_by_symbols, warmup_start
from orders.matching import (
    BpsCommission,
    BpsSlippage,
    ExecutionConfig,
    NoCommission,
    NoSlippage,
    PerOrder,
    PerShare,
    TickSlippage,
)
from orders.risk import RiskLimits
from portfolio.metrics import Metrics
from strategies.sdk import BarSeries, ParameterError, Strategy, StrategyProblem, datetime_of, strategy_path
from strategies.selectors import trades_several_symbols
from tradeapp.core import clock
from tradeapp.core.decimals import MONEY_DIGITS, MONEY_PLACES, normalize
from tradeapp.core.errors import Conflict, DomainError
from tradeapp.core.realtime import publish, user_group

logger = logging.getLogger(__name__)

EVENT = "backtest"  # the websocket event on the owner's stream
PROGRESS_INTERVAL = 0.5  # seconds between progress writes (and events) of one run
STOP_CHECK_INTERVAL = 0.2  # seconds between reads of the row's status while running
POOL_PROCESSES = 2  # an optimisation's process pool inside the task: small, workers share the host
POOL_MIN_BAR_RUNS = 2_000_000  # combinations x bars below this run in the task's process (no pool start-up)
MAX_COMBINATIONS = 500  # grid and random search
MAX_WALK_FORWARD_COMBINATIONS = 100  # per window
MAX_WALK_FORWARD_RUNS = 5_000  # combinations x windows
MAX_SIMULATIONS = 100_000
MAX_WARMUP_BARS = 5_000
OBJECTIVES = (
    "sharpe",
    "sortino",
    "calmar",
    "total_return",
    "annualized_return",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "expectancy",
    "excess_return",
    "end_equity",
)
HEADLINE_METRICS = ("total_return", "annualized_return", "sharpe", "max_drawdown", "trades", "win_rate")
_COST_LIMITS = {  # the largest believable rate per model
    CommissionModel.BPS: Decimal(1000),
    CommissionModel.PER_SHARE: Decimal(1000),
    CommissionModel.PER_ORDER: Decimal(1_000_000),
    SlippageModel.BPS: Decimal(1000),
    SlippageModel.TICKS: Decimal(1000),
}
_MAX_CASH = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES - 2)


# --- creating a run -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """What a client asks to run. ``start``/``end``: the period ``[start, end)``, aware datetimes.
    ``warmup_bars``: history before ``start`` for indicators (None: three times the longest integer
    parameter, e.g. 60 bars for SMA(10/20)). ``kind_settings`` depend on ``kind`` (docs/strategies.md)."""

    strategy: str
    symbols: Sequence[str]
    timeframe: str
    start: datetime
    end: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict)
    starting_cash: Decimal = Decimal(100_000)
    commission_model: str = CommissionModel.NONE
    commission_rate: Decimal = Decimal(0)
    commission_minimum: Decimal = Decimal(0)
    slippage_model: str = SlippageModel.NONE
    slippage_amount: Decimal = Decimal(0)
    kind: str = BacktestKind.SINGLE
    kind_settings: Mapping[str, Any] = field(default_factory=dict)
    warmup_bars: int | None = None
    name: str = ""


def create_backtest(*, owner: Any, request: BacktestRequest) -> Backtest:
    """Check everything, then write one ``queued`` row and enqueue ``backtests.run`` after the commit.

    Refused with a DomainError naming the field: ``unknown_strategy``, parameter codes on
    ``parameters.<name>`` (``parameter_out_of_range``, ``invalid_parameter``, ``unknown_parameter``),
    ``invalid_timeframe``, ``invalid_range`` / ``range_too_large`` (period), ``unknown_symbol``,
    ``single_symbol_strategy`` (several symbols for a strategy that declares ``multi_symbol = False``),
    ``no_data`` (a symbol without bars of the timeframe, or none in the period), ``invalid_cash``,
    ``invalid_commission`` / ``invalid_slippage``, ``invalid_setting`` / ``too_many_combinations`` on
    ``kind_settings.<name>``. Reads only until the single insert."""
    key, klass = selectors.strategy_by_key(request.strategy)
    parameters = checked_parameters(klass, request.parameters)
    timeframe = _timeframe(request.timeframe)
    start, end = _period(timeframe, request.start, request.end)
    symbols = _symbols_with_data(request.symbols, timeframe, start, end)
    if len(symbols) > 1 and not trades_several_symbols(klass):
        name = klass.title or klass.__name__
        raise DomainError("single_symbol_strategy", f"{name} trades one symbol at a time.", "symbols")
    cash = _starting_cash(request.starting_cash)
    _execution_config(
        commission_model=request.commission_model,
        commission_rate=request.commission_rate,
        commission_minimum=request.commission_minimum,
        slippage_model=request.slippage_model,
        slippage_amount=request.slippage_amount,
    )
    kind = _choice(request.kind, BacktestKind, "kind")
    kind_settings = checked_kind_settings(klass, kind, request.kind_settings)
    warmup = _warmup_bars(request.warmup_bars, parameters)
    with transaction.atomic():
        row = Backtest.objects.create(
            owner=owner,
            name=request.name.strip()[:120],
            strategy=key,
            parameters=parameters,
            symbols=symbols,
            timeframe=timeframe.value,
            start=start,
            end=end,
            warmup_bars=warmup,
            starting_cash=cash,
            commission_model=request.commission_model,
            commission_rate=request.commission_rate,
            commission_minimum=request.commission_minimum,
            slippage_model=request.slippage_model,
            slippage_amount=request.slippage_amount,
            kind=kind,
            kind_settings=kind_settings,
            code_version=code_version(),
            created_at=clock.now(),
        )
        transaction.on_commit(functools.partial(_enqueue, str(row.pk)))
        _announce(row)
    return row


def _enqueue(backtest_id: str) -> None:
    from backtests.tasks import run

    run.delay(backtest_id)


def checked_parameters(klass: type[Strategy], given: Mapping[str, Any]) -> dict[str, Any]:
    """The strategy's complete parameter values (defaults filled in) as JSON, checked by its
    constructor; a refusal is a DomainError on ``parameters.<name>``."""
    if not isinstance(given, Mapping):
        raise DomainError("invalid_parameter", "Parameters must be an object of name: value.", "parameters")
    try:
        instance = klass(**{str(name): value for name, value in given.items()})
    except ParameterError as error:
        raise DomainError(error.code, error.message, _field("parameters", error.field)) from error
    except Exception as error:  # a registered strategy's own code may raise anything
        raise DomainError(
            "strategy_error",
            f"{klass.__name__} could not be set up: {type(error).__name__}: {error}.",
            "parameters",
        ) from error
    return {name: reports.plain(value) for name, value in instance.parameters.items()}


def _field(prefix: str, name: str | None) -> str:
    return f"{prefix}.{name}" if name else prefix


def _timeframe(text: object) -> Timeframe:
    try:
        return Timeframe.parse(text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        allowed = ", ".join(member.value for member in Timeframe)
        raise DomainError("invalid_timeframe", f"Choose a timeframe: {allowed}.", "timeframe") from error


def _period(timeframe: Timeframe, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    try:
        start, end = ensure_utc(start), ensure_utc(end)
    except (TypeError, ValueError) as error:
        raise DomainError(
            "invalid_range", "start and end must be dates with a time zone.", "start"
        ) from error
    check_bar_window(timeframe, start, end)  # non-empty, forward, and capped per timeframe
    return start, end


def _symbols_with_data(
    given: Sequence[str], timeframe: Timeframe, start: datetime, end: datetime
) -> list[str]:
    """The instruments' own symbols, in the order given (duplicates dropped), each with bars of the
    timeframe in the period."""
    if isinstance(given, str) or not given:
        raise DomainError("no_symbols", "Choose at least one symbol.", "symbols")
    if len(given) > MAX_SYMBOLS:
        raise DomainError("too_many_symbols", f"A run takes at most {MAX_SYMBOLS} symbols.", "symbols")
    resolved, unknown = instruments_by_symbols([str(symbol) for symbol in given])
    if unknown:
        raise DomainError("unknown_symbol", f"Unknown symbol '{unknown[0]}'.", "symbols")
    instruments = list({instrument.pk: instrument for instrument in resolved.values()}.values())
    for instrument in instruments:
        coverage = selectors.bar_coverage(instrument, timeframe, start, end)
        if coverage.in_period:
            continue
        if coverage.first is None or coverage.last is None:
            raise DomainError(
                "no_data",
                f"{instrument.symbol} has no {timeframe.value} bars: load its history or pick another "
                "timeframe.",
                "symbols",
            )
        raise DomainError(
            "no_data",
            f"{instrument.symbol} has no {timeframe.value} bars between {_day(start)} and {_day(end)}; "
            f"its {timeframe.value} bars run from {_day(coverage.first)} to {_day(coverage.last)}.",
            "start",
        )
    return [instrument.symbol for instrument in instruments]


def _day(moment: datetime) -> str:
    return (
        moment.strftime("%Y-%m-%d %H:%M UTC") if moment.hour or moment.minute else moment.date().isoformat()
    )


def _starting_cash(cash: Decimal) -> Decimal:
    if not isinstance(cash, Decimal) or not cash.is_finite() or cash <= 0:
        raise DomainError("invalid_cash", "Starting cash must be a positive amount.", "starting_cash")
    if cash >= _MAX_CASH:
        raise DomainError("invalid_cash", f"Starting cash must be below {_MAX_CASH:,}.", "starting_cash")
    return cash


def _choice(value: object, choices: type[Any], field_name: str) -> str:
    allowed = [member.value for member in choices]
    if value not in allowed:
        raise DomainError(
            f"invalid_{field_name}", f"{field_name} must be one of {', '.join(allowed)}.", field_name
        )
    return str(value)


def _execution_config(
    *,
    commission_model: str,
    commission_rate: Decimal,
    commission_minimum: Decimal,
    slippage_model: str,
    slippage_amount: Decimal,
) -> ExecutionConfig:
    """The fill model of a run (the paper broker's models); refuses negative or unbelievable rates."""
    commission_kind = CommissionModel(_choice(commission_model, CommissionModel, "commission_model"))
    slippage_kind = SlippageModel(_choice(slippage_model, SlippageModel, "slippage_model"))
    _rate(commission_rate, commission_kind, CommissionModel.NONE, "commission_rate", "invalid_commission")
    _rate(commission_minimum, commission_kind, None, "commission_minimum", "invalid_commission")
    if commission_minimum and commission_kind != CommissionModel.PER_SHARE:
        raise DomainError(
            "invalid_commission", "A commission minimum applies to per_share only.", "commission_minimum"
        )
    _rate(slippage_amount, slippage_kind, SlippageModel.NONE, "slippage_amount", "invalid_slippage")
    commission = {
        CommissionModel.NONE: NoCommission(),
        CommissionModel.BPS: BpsCommission(commission_rate),
        CommissionModel.PER_SHARE: PerShare(commission_rate, commission_minimum),
        CommissionModel.PER_ORDER: PerOrder(commission_rate),
    }[commission_kind]
    slippage = {
        SlippageModel.NONE: NoSlippage(),
        SlippageModel.BPS: BpsSlippage(slippage_amount),
        SlippageModel.TICKS: TickSlippage(slippage_amount),
    }[slippage_kind]
    return ExecutionConfig(slippage=slippage, commission=commission)


def _rate(value: Decimal, model: Any, free: Any, field_name: str, code: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise DomainError(code, f"{field_name} must be zero or more.", field_name)
    if model == free and value != 0:
        raise DomainError(code, f"{field_name} needs a model other than '{free}'.", field_name)
    limit = _COST_LIMITS.get(model)
    if limit is not None and value > limit:
        raise DomainError(code, f"{field_name} must be at most {limit} for '{model}'.", field_name)


def _warmup_bars(given: int | None, parameters: Mapping[str, Any]) -> int:
    if given is None:
        windows = [
            value for value in parameters.values() if isinstance(value, int) and not isinstance(value, bool)
        ]
        return min(3 * max(windows, default=0), MAX_WARMUP_BARS)
    if isinstance(given, bool) or not isinstance(given, int) or not 0 <= given <= MAX_WARMUP_BARS:
        raise DomainError(
            "invalid_warmup",
            f"warmup_bars must be a whole number from 0 to {MAX_WARMUP_BARS}.",
            "warmup_bars",
        )
    return given


# --- kind settings ------------------------------------------------------------------------------------

_SETTINGS_FIELD = "kind_settings"
_KIND_KEYS: dict[str, set[str]] = {
    BacktestKind.SINGLE: set(),
    BacktestKind.GRID: {"space", "objective", "maximize"},
    BacktestKind.RANDOM: {"space", "objective", "maximize", "samples", "seed"},
    BacktestKind.WALK_FORWARD: {
        "space",
        "objective",
        "maximize",
        "in_sample",
        "out_of_sample",
        "step",
        "anchored",
    },
    BacktestKind.MONTE_CARLO: {"simulations", "method", "seed"},
}


def checked_kind_settings(klass: type[Strategy], kind: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis settings of ``kind`` with defaults filled in, as JSON (docs/strategies.md):

    - grid: ``space`` {parameter: [values]} (default: every parameter's grid), ``objective`` (a metric,
      default ``sharpe``), ``maximize`` (default true; false for ``max_drawdown``);
    - random: the same plus ``samples`` (default 50) and ``seed`` (default 0); without a space the
      draws come from the parameters' ranges;
    - walk_forward: ``space`` (required), ``objective``, ``maximize``, ``in_sample`` and
      ``out_of_sample`` (bars), ``step`` (bars, default out_of_sample), ``anchored`` (default false);
    - monte_carlo: ``simulations`` (default 1000), ``method`` (bootstrap | shuffle), ``seed``.
    Combinations are capped (``too_many_combinations``)."""
    if not isinstance(given, Mapping):
        raise DomainError("invalid_setting", "kind_settings must be an object.", _SETTINGS_FIELD)
    unknown = sorted(set(given) - _KIND_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_KIND_KEYS[kind])) or "none"
        raise DomainError(
            "invalid_setting",
            f"'{unknown[0]}' is not a setting of a {kind} run (settings: {allowed}).",
            _field(_SETTINGS_FIELD, unknown[0]),
        )
    if kind == BacktestKind.SINGLE:
        return {}
    if kind == BacktestKind.MONTE_CARLO:
        return {
            "simulations": _int_setting(given, "simulations", 1000, 100, MAX_SIMULATIONS),
            "method": _text_setting(given, "method", "bootstrap", ("bootstrap", "shuffle")),
            "seed": _int_setting(given, "seed", 0, 0, 2**32 - 1),
        }
    objective = _text_setting(given, "objective", "sharpe", OBJECTIVES)
    checked: dict[str, Any] = {
        "objective": objective,
        "maximize": _bool_setting(given, "maximize", objective != "max_drawdown"),
    }
    space = _space(klass, given.get("space"), required=kind == BacktestKind.WALK_FORWARD)
    if kind == BacktestKind.RANDOM:
        checked["samples"] = _int_setting(given, "samples", 50, 1, MAX_COMBINATIONS)
        checked["seed"] = _int_setting(given, "seed", 0, 0, 2**32 - 1)
    else:
        limit = MAX_COMBINATIONS if kind == BacktestKind.GRID else MAX_WALK_FORWARD_COMBINATIONS
        sizes = [len(values) for values in (space or _default_space(klass)).values()]
        count = math.prod(sizes)
        if count > limit:
            raise DomainError(
                "too_many_combinations",
                f"The search has {count:,} combinations; at most {limit} run in one {kind} run: give fewer "
                "values per parameter.",
                _field(_SETTINGS_FIELD, "space"),
            )
    if kind == BacktestKind.WALK_FORWARD:
        checked["in_sample"] = _int_setting(given, "in_sample", None, 2, 10_000_000)
        checked["out_of_sample"] = _int_setting(given, "out_of_sample", None, 1, 10_000_000)
        checked["step"] = _int_setting(given, "step", checked["out_of_sample"], 1, 10_000_000)
        checked["anchored"] = _bool_setting(given, "anchored", False)
    if space is not None:
        checked["space"] = {
            name: [reports.plain(value) for value in values] for name, values in space.items()
        }
    return checked


def _default_space(klass: type[Strategy]) -> dict[str, list[Any]]:
    return {name: spec.grid() for name, spec in klass.parameter_specs().items()}


def _space(klass: type[Strategy], given: object, *, required: bool) -> dict[str, list[Any]] | None:
    """A search space with every value checked by its parameter (``Param.coerce``)."""
    name = _field(_SETTINGS_FIELD, "space")
    if given is None:
        if required:
            raise DomainError("invalid_setting", "Give the space to search: {parameter: [values]}.", name)
        return None
    if not isinstance(given, Mapping) or not given:
        raise DomainError("invalid_setting", "space must be an object of parameter: [values].", name)
    specs = klass.parameter_specs()
    space: dict[str, list[Any]] = {}
    for parameter, values in given.items():
        where = f"{name}.{parameter}"
        spec = specs.get(str(parameter))
        if spec is None:
            raise DomainError("unknown_parameter", f"{klass.__name__} has no parameter '{parameter}'.", where)
        if not isinstance(values, list) or not values or len(values) > MAX_COMBINATIONS:
            raise DomainError(
                "invalid_setting", f"Give {parameter} a list of 1 to {MAX_COMBINATIONS} values.", where
            )
        try:
            coerced = [spec.coerce(value) for value in values]
        except ParameterError as error:
            raise DomainError(error.code, error.message, where) from error
        space[str(parameter)] = list(dict.fromkeys(coerced))
    return space


def _int_setting(given: Mapping[str, Any], name: str, default: int | None, low: int, high: int) -> int:
    value = given.get(name, default)
    if value is None:
        raise DomainError(
            "invalid_setting", f"Give {name} (a whole number of bars).", _field(_SETTINGS_FIELD, name)
        )
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DomainError(
            "invalid_setting",
            f"{name} must be a whole number from {low} to {high}.",
            _field(_SETTINGS_FIELD, name),
        )
    return value


def _bool_setting(given: Mapping[str, Any], name: str, default: bool) -> bool:
    value = given.get(name, default)
    if not isinstance(value, bool):
        raise DomainError("invalid_setting", f"{name} must be true or false.", _field(_SETTINGS_FIELD, name))
    return value


def _text_setting(given: Mapping[str, Any], name: str, default: str, allowed: Sequence[str]) -> str:
    value = given.get(name, default)
    if value not in allowed:
        raise DomainError(
            "invalid_setting", f"{name} must be one of {', '.join(allowed)}.", _field(_SETTINGS_FIELD, name)
        )
    return str(value)


@functools.cache
def code_version() -> str:
    """What a run records as its code version: ``settings.CODE_VERSION`` (or env TRADEAPP_CODE_VERSION)
    when set, else ``git:<describe>`` of the checkout, else ``unknown``."""
    configured = getattr(settings, "CODE_VERSION", "") or os.environ.get("TRADEAPP_CODE_VERSION", "")
    if configured:
        return str(configured)[:100]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607 - git from PATH, fixed args
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git:{described.stdout.strip()}"[:100]


# --- running ------------------------------------------------------------------------------------------


def run_backtest(*, backtest_id: object) -> Backtest | None:
    """Run the backtest (the Celery task's body). Claims the row; a finished run is returned as it is
    (never rerun), a ``running`` one (redelivered: its worker died) starts again from scratch. Bad data,
    a strategy that raises or refused parameters end the run ``failed`` with the engine's message (the
    strategy's error names the bar); a cancel ends it ``canceled``. None when the row is gone."""
    row = _claim(backtest_id)
    if row is None or row.status != BacktestStatus.RUNNING:
        return row
    monitor = _Monitor(row)
    try:
        outcome = _execute(row, monitor)
    except BacktestCancelled:
        return _finish(
            row, BacktestStatus.CANCELED, error_code="cancelled", error_message="The run was cancelled."
        )
    except (StrategyProblem, DomainError) as problem:
        return _finish(row, BacktestStatus.FAILED, error_code=problem.code, error_message=problem.message)
    return _finish(row, BacktestStatus.COMPLETED, **outcome)


def fail_backtest(*, backtest_id: object, code: str, message: str) -> Backtest | None:
    """Mark a running or queued run ``failed`` (the task's last resort on an unexpected error)."""
    with transaction.atomic():
        row = Backtest.objects.select_for_update().defer("trades", "results").filter(pk=backtest_id).first()
        if row is None or row.is_finished:
            return row
        row.status = BacktestStatus.FAILED
        row.error_code = code
        row.error_message = message
        row.finished_at = clock.now()
        row.save(update_fields=["status", "error_code", "error_message", "finished_at"])
        _announce(row)
    return row


def _claim(backtest_id: object) -> Backtest | None:
    with transaction.atomic():
        row = Backtest.objects.select_for_update().defer("trades", "results").filter(pk=backtest_id).first()
        if row is None:
            logger.info("backtest %s is gone: nothing to run", backtest_id)
            return None
        if row.is_finished:
            return row
        if row.status == BacktestStatus.RUNNING:
            logger.warning("backtest %s was running (attempt %s): starting it again", row.pk, row.attempts)
        row.status = BacktestStatus.RUNNING
        row.attempts += 1
        row.progress = 0
        row.error_code = row.error_message = ""
        row.started_at = clock.now()
        row.save(
            update_fields=["status", "attempts", "progress", "error_code", "error_message", "started_at"]
        )
        _announce(row)
    return row


def _finish(row: Backtest, status: str, **values: Any) -> Backtest:
    """Write the outcome if the row is still this attempt's running run (a cancel may have won)."""
    with transaction.atomic():
        current = Backtest.objects.select_for_update().defer("trades", "results").filter(pk=row.pk).first()
        if current is None:  # deleted meanwhile (its owner was): nothing to keep
            return row
        if current.status != BacktestStatus.RUNNING or current.attempts != row.attempts:
            return current
        values.update(status=status, finished_at=clock.now())
        if status == BacktestStatus.COMPLETED:
            values["progress"] = 100
        for name, value in values.items():
            setattr(current, name, value)
        current.save(update_fields=list(values))
        _announce(current)
    return current


class _Monitor:
    """Progress and cancellation for one attempt: progress rows and events at most every
    PROGRESS_INTERVAL, status reads at most every STOP_CHECK_INTERVAL. ``part(low, high)`` maps a
    phase's own 0..1 onto that share of the whole run."""

    def __init__(self, row: Backtest) -> None:
        self.row = row
        self.percent = 0
        self.written_at = 0.0
        self.checked_at = 0.0
        self.stopped = False

    def part(self, low: float, high: float) -> Callable[[float], None]:
        return lambda fraction: self.progress(low + (high - low) * min(max(fraction, 0.0), 1.0))

    def progress(self, fraction: float) -> None:
        percent = min(int(fraction * 100), 99)  # 100 is written with the results
        now = time.monotonic()
        if percent <= self.percent or now - self.written_at < PROGRESS_INTERVAL:
            return
        self.percent, self.written_at = percent, now
        with transaction.atomic():
            updated = Backtest.objects.filter(
                pk=self.row.pk, status=BacktestStatus.RUNNING, attempts=self.row.attempts
            ).update(progress=percent)
            if updated:
                self.row.progress = percent
                _announce(self.row)

    def should_stop(self) -> bool:
        if self.stopped:
            return True
        now = time.monotonic()
        if now - self.checked_at < STOP_CHECK_INTERVAL:
            return False
        self.checked_at = now
        current = Backtest.objects.filter(pk=self.row.pk).values_list("status", "attempts").first()
        self.stopped = current != (BacktestStatus.RUNNING, self.row.attempts)
        return self.stopped

    def check(self) -> None:
        if self.should_stop():
            raise BacktestCancelled()


def _execute(row: Backtest, monitor: _Monitor) -> dict[str, Any]:
    """Load the bars and run the row's kind of analysis; the fields to store on success."""
    _, klass = selectors.strategy_by_key(row.strategy)
    strategy = klass(**row.parameters)  # checked at creation; a changed strategy fails here, by field
    # walk-forward windows take their warm-up from the bars before them
    warmup = 0 if row.kind == BacktestKind.WALK_FORWARD else row.warmup_bars
    data = load_series(row.symbols, Timeframe(row.timeframe), row.start, row.end, warmup_bars=warmup)
    monitor.check()
    config = BacktestConfig(
        initial_cash=normalize(row.starting_cash),  # 10000, not the column's 10000.0000000000
        execution=_execution_config(
            commission_model=row.commission_model,
            commission_rate=row.commission_rate,
            commission_minimum=row.commission_minimum,
            slippage_model=row.slippage_model,
            slippage_amount=row.slippage_amount,
        ),
        risk_limits=RiskLimits(allow_short=True),  # a strategy's own allow_short and the instrument decide
        start=row.start,
        code_version=row.code_version or "unknown",
    )
    options = row.kind_settings
    results: dict[str, Any] = {"kind": row.kind}
    main: BacktestResult | None = None
    if row.kind in (BacktestKind.SINGLE, BacktestKind.MONTE_CARLO):
        share = 0.9 if row.kind == BacktestKind.MONTE_CARLO else 1.0
        main = run_engine(
            strategy, data, config, progress=monitor.part(0, share), should_stop=monitor.should_stop
        )
        if row.kind == BacktestKind.MONTE_CARLO:
            monitor.check()
            outcome = analysis.monte_carlo_trades(
                [trade.pnl for trade in main.trades],
                main.initial_cash,
                simulations=options["simulations"],
                method=options["method"],
                seed=options["seed"],
            )
            results["monte_carlo"] = reports.monte_carlo_results(outcome, options, len(main.trades))
    elif row.kind in (BacktestKind.GRID, BacktestKind.RANDOM):
        search = _search(klass, kind=row.kind, options=options, data=data, config=config, monitor=monitor)
        results["optimisation"] = reports.search_results(search)
        best = search.best
        if best is not None:  # the winner in full: metrics, trades and curves like a single run
            main = run_engine(
                klass(**best.parameters),
                data,
                config,
                progress=monitor.part(0.9, 1),
                should_stop=monitor.should_stop,
            )
    else:
        results["walk_forward"] = _walk_forward(
            klass, options=options, data=data, config=config, monitor=monitor
        )
    fields_: dict[str, Any] = {"results": results, "trades": []}
    if main is not None:
        results.update(reports.single_run_results(main))
        fields_["trades"] = reports.stored_trades(main)
    first = min(int(series.open_time[0]) for series in data)
    last = max(int(series.open_time[-1]) for series in data)
    fields_.update(
        data_start=datetime_of(first),
        data_end=datetime_of(last),
        data_bars=sum(len(series) for series in data),
        data_hash=main.data_hash if main is not None else data_hash(data),
    )
    return fields_


def load_series(
    symbols: Sequence[str], timeframe: Timeframe, start: datetime, end: datetime, *, warmup_bars: int = 0
) -> list[BarSeries]:
    """The stored bars of ``symbols`` with ``start <= open_time < end`` plus up to ``warmup_bars``
    earlier ones per symbol, as the engine's series (instrument facts from the database)."""
    resolved, unknown = instruments_by_symbols(list(symbols))
    if unknown:
        raise DomainError("unknown_symbol", f"Unknown symbol '{unknown[0]}'.", "symbols")
    series = []
    for symbol in symbols:
        instrument = resolved[symbol]
        first = warmup_start(instrument, timeframe, start, warmup_bars) if warmup_bars else start
        frame = bars_frame(instrument, timeframe, first, end).set_index("open_time")
        if frame.empty or frame.index[-1] < start:
            raise BacktestError(
                "no_data",
                f"{instrument.symbol} has no {timeframe.value} bars between {_day(start)} and {_day(end)}.",
                "start",
            )
        series.append(BarSeries.from_frame(frame, instrument.spec(), timeframe))
    return series


# --- optimisation, walk-forward, Monte Carlo ----------------------------------------------------------


def _processes(runs: int, bars: int) -> int:
    """A pool pays off only for real work (starting one costs about half a second)."""
    return 1 if runs * bars < POOL_MIN_BAR_RUNS else POOL_PROCESSES


def _stored_space(
    klass: type[Strategy], stored: Mapping[str, list[Any]] | None
) -> dict[str, list[Any]] | None:
    if stored is None:
        return None
    specs = klass.parameter_specs()
    return {name: [specs[name].coerce(value) for value in values] for name, values in stored.items()}


def _search(
    klass: type[Strategy],
    *,
    kind: str,
    options: Mapping[str, Any],
    data: Sequence[BarSeries],
    config: BacktestConfig,
    monitor: _Monitor,
) -> analysis.SearchResult:
    space = _stored_space(klass, options.get("space"))
    if kind == BacktestKind.GRID:
        combinations = analysis.grid(klass, space)
    else:
        combinations = analysis.random_combinations(
            klass, samples=options["samples"], seed=options["seed"], space=space
        )
    rows: list[analysis.RunSummary | None] = [None] * len(combinations)
    bars = max(len(series) for series in data)
    report = monitor.part(0, 0.9)
    finished = 0
    each = pool.evaluate_each(
        strategy_path(klass),
        combinations,
        data,
        config,
        objective=options["objective"],
        processes=_processes(len(combinations), bars),
    )
    try:
        for index, summary in each:
            rows[index] = summary
            finished += 1
            report(finished / len(combinations))
            monitor.check()
    finally:
        each.close()  # a cancel or a failure: drop the combinations not started
    return analysis.SearchResult(options["objective"], options["maximize"], tuple(row for row in rows if row))


def _walk_forward(
    klass: type[Strategy],
    *,
    options: Mapping[str, Any],
    data: Sequence[BarSeries],
    config: BacktestConfig,
    monitor: _Monitor,
) -> dict[str, Any]:
    timeline = np.unique(np.concatenate([series.open_time for series in data]))
    in_sample, out_of_sample, step = options["in_sample"], options["out_of_sample"], options["step"]
    if len(timeline) < in_sample + out_of_sample:
        raise BacktestError(
            "period_too_short",
            f"The period has {len(timeline)} bars: a walk-forward window needs in_sample + out_of_sample = "
            f"{in_sample + out_of_sample}.",
            "kind_settings.in_sample",
        )
    space = _stored_space(klass, options.get("space"))
    combinations = len(analysis.grid(klass, space))
    windows = (len(timeline) - in_sample - out_of_sample) // step + 1
    if combinations * windows > MAX_WALK_FORWARD_RUNS:
        raise BacktestError(
            "too_many_combinations",
            f"{windows} windows x {combinations} combinations is more than {MAX_WALK_FORWARD_RUNS:,} runs: "
            "use a larger step or fewer values.",
            "kind_settings.step",
        )
    monitor.progress(0.01)
    report = monitor.part(0.01, 0.99)

    def on_window(done: int, total: int) -> None:
        report(done / total)
        monitor.check()

    outcome = analysis.walk_forward(
        klass,
        data,
        config,
        space,
        in_sample=in_sample,
        out_of_sample=out_of_sample,
        step=step,
        anchored=options["anchored"],
        objective=options["objective"],
        maximize=options["maximize"],
        # analysis.walk_forward's pool is the standard library's, which a prefork worker's (daemonic)
        # child may not start: there the windows run in this process
        processes=1 if multiprocessing.current_process().daemon else _processes(combinations, in_sample),
        on_window=on_window,
    )
    return reports.walk_forward_results(outcome, timeline)


# --- cancel and compare -------------------------------------------------------------------------------


def cancel_backtest(*, owner: Any, backtest_id: object) -> Backtest:
    """Cancel a queued or running run of ``owner`` (404 for anyone else's). A queued run is canceled at
    once; a running one is marked ``canceled`` and its worker stops at the next check, keeping nothing.
    Canceling a canceled run changes nothing; a completed or failed one is a 409 ``already_finished``."""
    with transaction.atomic():
        row = selectors.backtest_of(owner, backtest_id)
        row = Backtest.objects.select_for_update().defer("trades").get(pk=row.pk)
        if row.status == BacktestStatus.CANCELED:
            return row
        if row.is_finished:
            raise Conflict(
                "already_finished", f"The run has {row.status}: there is nothing to cancel.", "backtest_id"
            )
        row.status = BacktestStatus.CANCELED
        row.error_code = "cancelled"
        row.error_message = "Cancelled at your request."
        row.finished_at = clock.now()
        row.save(update_fields=["status", "error_code", "error_message", "finished_at"])
        _announce(row)
    return row


@dataclass(frozen=True, slots=True)
class Comparison:
    first: Backtest
    second: Backtest
    metrics: list[dict[str, Any]]
    differences: dict[str, dict[str, Any]]


_COMPARED_SETTINGS = (
    "strategy",
    "parameters",
    "symbols",
    "timeframe",
    "start",
    "end",
    "starting_cash",
    "commission_model",
    "commission_rate",
    "slippage_model",
    "slippage_amount",
    "kind",
    "code_version",
    "data_hash",
)


def compare_backtests(*, owner: Any, first_id: object, second_id: object) -> Comparison:
    """Two completed runs of ``owner`` side by side: each metric of both and ``delta`` = second - first
    (None where either is undefined), and the settings that differ. 404 for a run that is not the
    owner's (field ``a`` or ``b``), 409 ``not_completed`` for one without results."""
    first = selectors.backtest_of(owner, first_id, field="a")
    second = selectors.backtest_of(owner, second_id, field="b")
    for row, name in ((first, "a"), (second, "b")):
        if row.status != BacktestStatus.COMPLETED or not (row.results or {}).get("metrics"):
            raise Conflict("not_completed", f"Run {name} has no results to compare ({row.status}).", name)
    ours, theirs = first.results["metrics"], second.results["metrics"]
    metrics = []
    for definition in fields(Metrics):
        name = definition.name
        a, b = ours.get(name), theirs.get(name)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        metrics.append({"name": name, "a": a, "b": b, "delta": (b - a) if numeric else None})  # type: ignore[operator]
    differences = {}
    for name in _COMPARED_SETTINGS:
        a, b = _comparable(getattr(first, name)), _comparable(getattr(second, name))
        if a != b:
            differences[name] = {"a": a, "b": b}
    return Comparison(first, second, metrics, differences)


def _comparable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return reports.text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- events -------------------------------------------------------------------------------------------


def event_payload(row: Backtest) -> dict[str, Any]:
    """What the owner's browser hears about a run: enough to move a progress bar or reload results."""
    return {
        "id": str(row.pk),
        "status": row.status,
        "progress": row.progress,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
    }


def _announce(row: Backtest) -> None:
    """Publish the row's state to its owner after the commit. A lost message is harmless (the page
    re-reads the run over REST), so a Redis failure is logged, never raised into the run."""
    stream, payload = user_group(row.owner_id), event_payload(row)

    def send() -> None:
        try:
            publish(stream, EVENT, payload)
        except redis.RedisError:
            logger.warning("could not publish backtest %s progress", payload["id"], exc_info=True)

    transaction.on_commit(send)


def headline(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The few metrics a list of runs shows."""
    if not metrics:
        return None
    return {name: metrics.get(name) for name in HEADLINE_METRICS}
