"""Checking a backtest request before anything is written: strategy parameters, period, symbols with data,
cash, the fill model and the settings of each kind of run; every refusal is a DomainError naming the field."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtests import reports, selectors
from backtests.models import MAX_SYMBOLS, BacktestKind, CommissionModel, SlippageModel
from marketdata.domain import Timeframe, ensure_utc
from marketdata.selectors import check_bar_window, instruments_by_symbols
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
from strategies.sdk import ParameterError, Strategy
from tradeapp.core.decimals import MONEY_DIGITS, MONEY_PLACES
from tradeapp.core.errors import DomainError

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
_COST_LIMITS = {  # the largest believable rate per model
    CommissionModel.BPS: Decimal(1000),
    CommissionModel.PER_SHARE: Decimal(1000),
    CommissionModel.PER_ORDER: Decimal(1_000_000),
    SlippageModel.BPS: Decimal(1000),
    SlippageModel.TICKS: Decimal(1000),
}
_MAX_CASH = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES - 2)


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


def checked_timeframe(text: object) -> Timeframe:
    try:
        return Timeframe.parse(text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        allowed = ", ".join(member.value for member in Timeframe)
        raise DomainError("invalid_timeframe", f"Choose a timeframe: {allowed}.", "timeframe") from error


def checked_period(timeframe: Timeframe, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    try:
        start, end = ensure_utc(start), ensure_utc(end)
    except (TypeError, ValueError) as error:
        raise DomainError(
            "invalid_range", "start and end must be dates with a time zone.", "start"
        ) from error
    check_bar_window(timeframe, start, end)  # non-empty, forward, and capped per timeframe
    return start, end


def symbols_with_data(
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
            f"{instrument.symbol} has no {timeframe.value} bars between {day_text(start)} and "
            f"{day_text(end)}; "
            f"its {timeframe.value} bars run from {day_text(coverage.first)} to {day_text(coverage.last)}.",
            "start",
        )
    return [instrument.symbol for instrument in instruments]


def day_text(moment: datetime) -> str:
    return (
        moment.strftime("%Y-%m-%d %H:%M UTC") if moment.hour or moment.minute else moment.date().isoformat()
    )


def checked_starting_cash(cash: Decimal) -> Decimal:
    if not isinstance(cash, Decimal) or not cash.is_finite() or cash <= 0:
        raise DomainError("invalid_cash", "Starting cash must be a positive amount.", "starting_cash")
    if cash >= _MAX_CASH:
        raise DomainError("invalid_cash", f"Starting cash must be below {_MAX_CASH:,}.", "starting_cash")
    return cash


def checked_choice(value: object, choices: type[Any], field_name: str) -> str:
    allowed = [member.value for member in choices]
    if value not in allowed:
        raise DomainError(
            f"invalid_{field_name}", f"{field_name} must be one of {', '.join(allowed)}.", field_name
        )
    return str(value)


def execution_config(
    *,
    commission_model: str,
    commission_rate: Decimal,
    commission_minimum: Decimal,
    slippage_model: str,
    slippage_amount: Decimal,
) -> ExecutionConfig:
    """The fill model of a run (the paper broker's models); refuses negative or unbelievable rates."""
    commission_kind = CommissionModel(checked_choice(commission_model, CommissionModel, "commission_model"))
    slippage_kind = SlippageModel(checked_choice(slippage_model, SlippageModel, "slippage_model"))
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


def checked_warmup_bars(given: int | None, parameters: Mapping[str, Any]) -> int:
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
