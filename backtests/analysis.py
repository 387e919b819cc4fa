"""Parameter search, walk-forward analysis and trade Monte Carlo on top of the engine (pure, no Django).

- :func:`run_one` runs ONE parameter combination and returns a small picklable :class:`RunSummary`. It
  is a plain importable function so a Celery task can call it per combination (the Celery chord is the
  parallel path on workers); :func:`grid_search` / :func:`random_search` use a local process pool.
- Grid search evaluates the product of the given values (default: every parameter's ``Param.grid()``);
  random search draws ``samples`` combinations with ``random.Random(seed)``. Combinations a strategy
  refuses (``ParameterError``, e.g. fast >= slow) are kept as rows with their error and never win.
- Ranking: by the objective (a :class:`~portfolio.metrics.Metrics` field, e.g. ``"sharpe"``), best
  first; undefined objectives rank last; ties keep evaluation order. Results do not depend on the
  number of processes.
- Walk-forward: consecutive windows of ``in_sample`` bars (optimised) followed by ``out_of_sample`` bars
  (evaluated with the winner), moved by ``step`` bars (default ``out_of_sample``), rolling or
  anchored. Each run sees the bars before its window as warm-up history. Each out-of-sample run starts
  flat with the configured cash; the stitched equity chains their returns.
- Monte Carlo resamples the sequence of closed trades' P&L (bootstrap with replacement, or shuffle =
  permutation) from ``numpy.random.default_rng(seed)``: distributions of total return and max drawdown
  with percentiles. Same seed, same numbers.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from backtests.engine import BacktestConfig, BacktestResult, run_backtest
from portfolio.metrics import Metrics, compute_metrics
from strategies.sdk import BarSeries, ParameterError, Strategy, datetime_of, load_strategy, strategy_path

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One combination's outcome: its parameters, objective value, metrics (JSON-friendly), final
    equity and the result fingerprint; ``error`` when the strategy refused the parameters."""

    parameters: dict[str, Any]
    objective: float | None
    metrics: dict[str, Any] = field(default_factory=dict)
    final_equity: Decimal | None = None
    trades: int = 0
    fingerprint: str = ""
    error: str | None = None


def objective_value(metrics: Metrics, objective: str) -> float | None:
    """The named Metrics field as a float, None when undefined or not finite."""
    if not hasattr(metrics, objective):
        raise ValueError(f"unknown objective {objective!r}: use a Metrics field such as 'sharpe'")
    value = getattr(metrics, objective)
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def run_one(
    strategy: str | type[Strategy],
    parameters: Mapping[str, Any],
    data: Sequence[BarSeries],
    config: BacktestConfig,
    objective: str = "sharpe",
) -> RunSummary:
    """Run one combination; importable by Celery workers (``strategy`` as ``"module:Class"``)."""
    klass = load_strategy(strategy) if isinstance(strategy, str) else strategy
    try:
        instance = klass(**parameters)
    except ParameterError as error:
        return RunSummary(dict(parameters), None, error=error.message)
    result = run_backtest(instance, data, config)
    return summarize(result, objective)


def summarize(result: BacktestResult, objective: str) -> RunSummary:
    return RunSummary(
        parameters=dict(result.parameters),
        objective=objective_value(result.metrics, objective),
        metrics=result.metrics.as_dict(),
        final_equity=result.final_equity,
        trades=len(result.trades),
        fingerprint=result.fingerprint(),
    )


@dataclass(frozen=True)
class SearchResult:
    """All evaluated rows (evaluation order) and the ranking by the objective."""

    objective: str
    maximize: bool
    rows: tuple[RunSummary, ...]

    @property
    def ranked(self) -> list[RunSummary]:
        def key(item: tuple[int, RunSummary]) -> tuple[bool, float, int]:
            index, row = item
            value = row.objective
            if value is None:
                return (True, 0.0, index)
            return (False, -value if self.maximize else value, index)

        return [row for _, row in sorted(enumerate(self.rows), key=key)]

    @property
    def best(self) -> RunSummary | None:
        ranked = self.ranked
        return ranked[0] if ranked and ranked[0].objective is not None else None

    def table(self) -> pd.DataFrame:
        """One row per combination: parameters, objective, trades, final equity, error."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    **row.parameters,
                    "objective": row.objective,
                    "trades": row.trades,
                    "final_equity": None if row.final_equity is None else float(row.final_equity),
                    "error": row.error,
                }
                for row in self.rows
            ]
        )

    def heatmap(self, x: str, y: str) -> pd.DataFrame:
        """The objective over two parameters (the best value over the others): rows ``y``, columns
        ``x``; NaN where no combination ran or the objective is undefined."""
        table = self.table()
        return table.pivot_table(
            index=y, columns=x, values="objective", aggfunc="max" if self.maximize else "min"
        )


# --- searching ---------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_start(strategy: str, data: Sequence[BarSeries], config: BacktestConfig, objective: str) -> None:
    _WORKER.update(strategy=strategy, data=data, config=config, objective=objective)


def _worker_run(parameters: dict[str, Any]) -> RunSummary:
    return run_one(_WORKER["strategy"], parameters, _WORKER["data"], _WORKER["config"], _WORKER["objective"])


def evaluate(
    strategy: type[Strategy],
    combinations: Sequence[Mapping[str, Any]],
    data: Sequence[BarSeries] | BarSeries,
    config: BacktestConfig,
    *,
    objective: str = "sharpe",
    processes: int = 1,
    start_method: str = "spawn",
) -> list[RunSummary]:
    """Run every combination, in order; with ``processes > 1`` on a process pool that receives the
    data once per worker. ``start_method`` is the multiprocessing one ("spawn" is safe anywhere)."""
    series = [data] if isinstance(data, BarSeries) else list(data)
    if processes <= 1 or len(combinations) <= 1:
        return [run_one(strategy, combination, series, config, objective) for combination in combinations]
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context(start_method),
        initializer=_worker_start,
        initargs=(strategy_path(strategy), series, config, objective),
    ) as pool:
        return list(pool.map(_worker_run, [dict(combination) for combination in combinations], chunksize=1))


def grid(strategy: type[Strategy], space: Mapping[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
    """Every combination of ``space`` (default: each parameter's ``Param.grid()``), in a fixed order."""
    specs = strategy.parameter_specs()
    values = {name: spec.grid() for name, spec in specs.items()} if space is None else dict(space)
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ParameterError(
            "unknown_parameter", f"{strategy.__name__} has no parameter {unknown[0]!r}.", unknown[0]
        )
    names = list(values)
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*(values[name] for name in names))
    ]


def grid_search(
    strategy: type[Strategy],
    data: Sequence[BarSeries] | BarSeries,
    config: BacktestConfig,
    space: Mapping[str, Sequence[Any]] | None = None,
    *,
    objective: str = "sharpe",
    maximize: bool = True,
    constraint: Callable[[dict[str, Any]], bool] | None = None,
    processes: int = 1,
    start_method: str = "spawn",
) -> SearchResult:
    """Exhaustive search over ``space`` (``constraint`` filters combinations before running)."""
    combinations = [combo for combo in grid(strategy, space) if constraint is None or constraint(combo)]
    rows = evaluate(
        strategy,
        combinations,
        data,
        config,
        objective=objective,
        processes=processes,
        start_method=start_method,
    )
    return SearchResult(objective, maximize, tuple(rows))


def random_combinations(
    strategy: type[Strategy],
    *,
    samples: int,
    seed: int = 0,
    space: Mapping[str, Sequence[Any]] | None = None,
    constraint: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``samples`` distinct combinations drawn with ``random.Random(seed)`` (reproducible): from
    ``space`` when given, else from each parameter's range; fewer when the space runs out."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not secrets
    specs = strategy.parameter_specs()
    chosen: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    attempts = 0
    while len(chosen) < samples and attempts < samples * 50:
        attempts += 1
        if space is None:
            combo = {name: spec.sample(rng) for name, spec in specs.items()}
        else:
            combo = {name: values[rng.randrange(len(values))] for name, values in space.items()}
        key = tuple(sorted((name, repr(value)) for name, value in combo.items()))
        if key in seen or (constraint is not None and not constraint(combo)):
            continue
        seen.add(key)
        chosen.append(combo)
    return chosen


def random_search(
    strategy: type[Strategy],
    data: Sequence[BarSeries] | BarSeries,
    config: BacktestConfig,
    *,
    samples: int,
    seed: int = 0,
    space: Mapping[str, Sequence[Any]] | None = None,
    objective: str = "sharpe",
    maximize: bool = True,
    constraint: Callable[[dict[str, Any]], bool] | None = None,
    processes: int = 1,
    start_method: str = "spawn",
) -> SearchResult:
    """``samples`` distinct combinations drawn with ``random.Random(seed)``: from ``space`` when given,
    else from each parameter's range (:meth:`Param.sample`). Stops early when the space is exhausted."""
    chosen = random_combinations(strategy, samples=samples, seed=seed, space=space, constraint=constraint)
    rows = evaluate(
        strategy, chosen, data, config, objective=objective, processes=processes, start_method=start_method
    )
    return SearchResult(objective, maximize, tuple(rows))


# --- walk-forward ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalkForwardWindow:
    """One window: bar indices into the timeline (inclusive), the in-sample winner and its
    out-of-sample outcome (None when no combination was valid in sample)."""

    in_sample: tuple[int, int]
    out_of_sample: tuple[int, int]
    parameters: dict[str, Any] | None
    in_sample_objective: float | None
    out_of_sample_objective: float | None
    out_of_sample_return: float | None


@dataclass(frozen=True, eq=False)
class WalkForwardResult:
    windows: tuple[WalkForwardWindow, ...]
    time: npt.NDArray[np.int64]
    equity: FloatArray
    metrics: Metrics


def walk_forward(
    strategy: type[Strategy],
    data: Sequence[BarSeries] | BarSeries,
    config: BacktestConfig,
    space: Mapping[str, Sequence[Any]] | None = None,
    *,
    in_sample: int,
    out_of_sample: int,
    step: int | None = None,
    anchored: bool = False,
    objective: str = "sharpe",
    maximize: bool = True,
    constraint: Callable[[dict[str, Any]], bool] | None = None,
    processes: int = 1,
    start_method: str = "spawn",
    on_window: Callable[[int, int], None] | None = None,
) -> WalkForwardResult:
    """Rolling (or anchored) in-sample optimisation and out-of-sample evaluation; see the module doc.

    ``on_window(done, total)`` is called after each window: progress for the caller, which may raise
    to stop the analysis there (a cancelled run)."""
    if in_sample < 2 or out_of_sample < 1:
        raise ValueError("in_sample needs at least 2 bars and out_of_sample at least 1")
    series = [data] if isinstance(data, BarSeries) else list(data)
    timeline = np.unique(np.concatenate([item.open_time for item in series]))
    advance = step or out_of_sample
    windows: list[WalkForwardWindow] = []
    stitched_time: list[npt.NDArray[np.int64]] = []
    stitched_equity: list[FloatArray] = []
    level = float(config.initial_cash)
    combinations = [combo for combo in grid(strategy, space) if constraint is None or constraint(combo)]
    total = max(0, (len(timeline) - in_sample - out_of_sample) // advance + 1)
    first = 0
    while first + in_sample + out_of_sample <= len(timeline):
        sample_start = 0 if anchored else first
        sample_end = first + in_sample - 1
        test_start, test_end = sample_end + 1, sample_end + out_of_sample
        sample_config = replace(
            config, start=datetime_of(int(timeline[sample_start])), end=datetime_of(int(timeline[sample_end]))
        )
        rows = evaluate(
            strategy,
            combinations,
            series,
            sample_config,
            objective=objective,
            processes=processes,
            start_method=start_method,
        )
        best = SearchResult(objective, maximize, tuple(rows)).best
        if best is None:
            windows.append(
                WalkForwardWindow((sample_start, sample_end), (test_start, test_end), None, None, None, None)
            )
            first += advance
            if on_window is not None:
                on_window(len(windows), total)
            continue
        test_config = replace(
            config, start=datetime_of(int(timeline[test_start])), end=datetime_of(int(timeline[test_end]))
        )
        outcome = run_backtest(strategy(**best.parameters), series, test_config)
        curve = outcome.equity.equity
        scaled = curve * (level / curve[0]) if len(curve) and curve[0] > 0 else curve
        if len(scaled):
            level = float(scaled[-1])
        stitched_time.append(outcome.equity.time)
        stitched_equity.append(scaled)
        windows.append(
            WalkForwardWindow(
                (sample_start, sample_end),
                (test_start, test_end),
                best.parameters,
                best.objective,
                objective_value(outcome.metrics, objective),
                outcome.metrics.total_return,
            )
        )
        first += advance
        if on_window is not None:
            on_window(len(windows), total)
    times = np.concatenate(stitched_time) if stitched_time else np.zeros(0, dtype=np.int64)
    equity = np.concatenate(stitched_equity) if stitched_equity else np.zeros(0)
    metrics = compute_metrics(
        equity=equity,
        times=times,
        timeframe=series[0].timeframe,
        asset_class=str(series[0].instrument.asset_class),
        periods_per_year=config.periods_per_year,
    )
    return WalkForwardResult(tuple(windows), times, equity, metrics)


# --- Monte Carlo -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Per simulation: ``total_returns`` (fraction of the initial equity) and ``max_drawdowns``
    (positive fractions); percentiles of both keyed by percentile; the share of losing simulations."""

    total_returns: FloatArray
    max_drawdowns: FloatArray
    return_percentiles: dict[float, float]
    drawdown_percentiles: dict[float, float]
    probability_of_loss: float


def monte_carlo_trades(
    trade_pnls: Sequence[float | Decimal],
    initial_equity: float | Decimal,
    *,
    simulations: int = 1000,
    method: str = "bootstrap",
    seed: int = 0,
    percentiles: Sequence[float] = (5, 25, 50, 75, 95),
    batch: int = 256,
) -> MonteCarloResult:
    """Resample the trade sequence: ``bootstrap`` draws len(trades) trades with replacement, ``shuffle``
    permutes them (same total, different paths). Equity paths are ``initial + cumulative P&L``."""
    if method not in ("bootstrap", "shuffle"):
        raise ValueError("method is 'bootstrap' or 'shuffle'")
    pnls = np.asarray([float(value) for value in trade_pnls], dtype=np.float64)
    start = float(initial_equity)
    if start <= 0:
        raise ValueError("initial_equity must be positive")
    rng = np.random.default_rng(seed)
    totals = np.zeros(simulations)
    drawdowns = np.zeros(simulations)
    count = len(pnls)
    for first in range(0, simulations, batch):
        rows = min(batch, simulations - first)
        if count == 0:
            continue
        if method == "bootstrap":
            draws = pnls[rng.integers(0, count, size=(rows, count))]
        else:
            draws = rng.permuted(np.tile(pnls, (rows, 1)), axis=1)
        paths = start + np.cumsum(draws, axis=1)
        paths = np.concatenate([np.full((rows, 1), start), paths], axis=1)
        peaks = np.maximum.accumulate(paths, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            falls = np.where(peaks > 0, 1.0 - paths / peaks, 1.0)
        totals[first : first + rows] = paths[:, -1] / start - 1.0
        drawdowns[first : first + rows] = np.minimum(falls.max(axis=1), 1.0)
    return MonteCarloResult(
        total_returns=totals,
        max_drawdowns=drawdowns,
        return_percentiles={float(p): float(np.percentile(totals, p)) for p in percentiles},
        drawdown_percentiles={float(p): float(np.percentile(drawdowns, p)) for p in percentiles},
        probability_of_loss=float(np.mean(totals < 0)),
    )
