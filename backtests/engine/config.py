"""How a backtest runs and on what: its configuration, its errors, and the bars checked, cut to the
period and laid on one timeline (pure, no Django)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from orders.matching import ExecutionConfig
from orders.risk import RiskLimits
from strategies.sdk import BarSeries, IntArray, StrategyProblem, nanos_of


class BacktestError(StrategyProblem):
    """A run that cannot go on, with a stable code: ``no_data``, ``invalid_data``, ``strategy_error``,
    ``cancelled``. The message is meant for the run's page."""


class StrategyError(BacktestError):
    """The strategy raised. ``bar_time`` is the bar it was working on; the original is ``__cause__``."""

    def __init__(self, message: str, bar_time: datetime | None) -> None:
        super().__init__("strategy_error", message)
        self.bar_time = bar_time


class BacktestCancelled(BacktestError):
    def __init__(self, message: str = "The run was cancelled.") -> None:
        super().__init__("cancelled", message)


def end_of_utc_day(open_time: datetime) -> datetime:
    """Default session close for DAY orders: midnight UTC after ``open_time``."""
    midnight = open_time.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """How to run. ``start``: the first bar ``on_bar`` sees (earlier bars are warm-up history only);
    ``end``: bars after it are dropped. ``code_version`` is recorded in the result as given."""

    initial_cash: Decimal = Decimal(100_000)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    start: datetime | None = None
    end: datetime | None = None
    session_close: Callable[[datetime], datetime] = end_of_utc_day
    code_version: str = "unknown"
    currency: str = "USD"
    max_log_lines: int = 10_000
    fast_market_fills: bool = True  # the proven shortcut for simple market orders; off = on_submit always
    periods_per_year: float | None = None  # metrics; None: from the timeframe and asset class

    def __post_init__(self) -> None:
        if not (self.initial_cash.is_finite() and self.initial_cash > 0):
            raise BacktestError("invalid_config", "Initial cash must be positive.", "initial_cash")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise BacktestError("invalid_config", "The period starts after it ends.", "start")


def prepare_data(data: Sequence[BarSeries] | BarSeries, config: BacktestConfig) -> list[BarSeries]:
    """Check the series, cut them to ``config.end``, refuse empty periods with a clear message."""
    series_list = [data] if isinstance(data, BarSeries) else list(data)
    if not series_list:
        raise BacktestError("no_data", "Choose at least one symbol.", "symbols")
    timeframes = {series.timeframe for series in series_list}
    if len(timeframes) > 1:
        raise BacktestError("invalid_data", "All symbols of a run use one timeframe.", "timeframe")
    prepared: list[BarSeries] = []
    end_ns = None if config.end is None else nanos_of(config.end)
    for series in series_list:
        if len(series) == 0:
            raise BacktestError(
                "no_data", f"{series.symbol} has no {series.timeframe.value} bars in this period.", "symbols"
            )
        cut = series
        if end_ns is not None:
            stop = int(np.searchsorted(series.open_time, end_ns, "right"))
            cut = series.slice(0, stop)
        start_ns = None if config.start is None else nanos_of(config.start)
        if len(cut) == 0 or (start_ns is not None and int(cut.open_time[-1]) < start_ns):
            raise BacktestError(
                "no_data",
                f"{series.symbol} has no {series.timeframe.value} bars between "
                f"{config.start.isoformat() if config.start else 'the start'} and "
                f"{config.end.isoformat() if config.end else 'the end'}.",
                "start",
            )
        problems = cut.problems()
        if problems:
            raise BacktestError("invalid_data", problems[0][:1].upper() + problems[0][1:] + ".", "symbols")
        prepared.append(cut)
    return prepared


def data_hash(data: Sequence[BarSeries]) -> str:
    """SHA-256 of the bars a run used: symbols, tick/lot sizes, timeframe and every column."""
    digest = hashlib.sha256()
    for series in data:
        instrument = series.instrument
        digest.update(
            f"{series.symbol}|{instrument.tick_size}|{instrument.lot_size}|{series.timeframe.value}|{len(series)}".encode()
        )
        for column in (series.open_time, series.open, series.high, series.low, series.close, series.volume):
            digest.update(np.ascontiguousarray(column).data)
    return digest.hexdigest()


def describe_config(config: BacktestConfig) -> dict[str, str]:
    """The configuration as strings, for the run's record."""
    return {
        "initial_cash": str(config.initial_cash),
        "slippage": repr(config.execution.slippage),
        "commission": repr(config.execution.commission),
        "partial_fills": str(config.execution.partial_fills),
        "volume_participation": str(config.execution.volume_participation),
        "risk_limits": repr(config.risk_limits),
        "start": "" if config.start is None else config.start.isoformat(),
        "end": "" if config.end is None else config.end.isoformat(),
        "session_close": getattr(config.session_close, "__qualname__", repr(config.session_close)),
        "currency": config.currency,
    }


class Schedule(NamedTuple):
    """The run's clock: ``timeline`` (the union of bar times, int64 ns), ``first`` (the first step
    ``on_bar`` sees), per step the ``(slot, row)`` of each symbol with a bar then (multi-symbol runs
    only), and each symbol's cursor before the first step (its last row before it, or -1)."""

    timeline: IntArray
    first: int
    updates: list[list[tuple[int, int]]]
    cursors: list[int]


def schedule(data: Sequence[BarSeries], start: datetime | None) -> Schedule:
    """Lay the series of a run on one timeline (see :class:`Schedule`)."""
    start_ns = None if start is None else nanos_of(start)
    if len(data) == 1:
        timeline = data[0].open_time
        first = 0 if start_ns is None else int(np.searchsorted(timeline, start_ns, "left"))
        return Schedule(timeline, first, [], [first - 1])
    timeline = np.unique(np.concatenate([series.open_time for series in data]))
    first = 0 if start_ns is None else int(np.searchsorted(timeline, start_ns, "left"))
    updates: list[list[tuple[int, int]]] = [[] for _ in range(len(timeline))]
    cursors: list[int] = []
    for slot, series in enumerate(data):
        steps = np.searchsorted(timeline, series.open_time)
        for row, step in enumerate(steps.tolist()):
            updates[step].append((slot, row))
        before = int(
            np.searchsorted(series.open_time, timeline[first] if first < len(timeline) else 0, "left")
        )
        cursors.append(before - 1)
    return Schedule(timeline, first, updates, cursors)
