"""The analyses a run can be besides a single backtest: grid and random search (on a process pool when
the work pays for one), walk-forward, and a Monte Carlo of the trades; each reports progress and stops on
cancel."""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backtests import analysis, pool, reports
from backtests.engine import BacktestConfig, BacktestError, BacktestResult
from backtests.models import BacktestKind
from backtests.services.progress import Monitor
from backtests.services.validation import MAX_WALK_FORWARD_RUNS
from strategies.sdk import BarSeries, Strategy, strategy_path

POOL_PROCESSES = 2  # an optimisation's process pool inside the task: small, workers share the host
POOL_MIN_BAR_RUNS = 2_000_000  # combinations x bars below this run in the task's process (no pool start-up)


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


def search(
    klass: type[Strategy],
    *,
    kind: str,
    options: Mapping[str, Any],
    data: Sequence[BarSeries],
    config: BacktestConfig,
    monitor: Monitor,
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


def walk_forward(
    klass: type[Strategy],
    *,
    options: Mapping[str, Any],
    data: Sequence[BarSeries],
    config: BacktestConfig,
    monitor: Monitor,
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


def monte_carlo(main: BacktestResult, options: Mapping[str, Any]) -> dict[str, Any]:
    """Resample the finished run's trades ``options["simulations"]`` times (bootstrap or shuffle)."""
    outcome = analysis.monte_carlo_trades(
        [trade.pnl for trade in main.trades],
        main.initial_cash,
        simulations=options["simulations"],
        method=options["method"],
        seed=options["seed"],
    )
    return reports.monte_carlo_results(outcome, options, len(main.trades))
