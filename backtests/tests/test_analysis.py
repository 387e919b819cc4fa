"""Grid and random search, walk-forward, trade Monte Carlo: seeded, reproducible, process-count free."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from backtests.analysis import (
    RunSummary,
    grid,
    grid_search,
    monte_carlo_trades,
    random_search,
    run_one,
    walk_forward,
)
from backtests.engine import BacktestConfig, run_backtest
from orders.matching import BpsCommission, ExecutionConfig
from strategies.builtins import MovingAverageCrossover
from strategies.sdk import ParameterError
from strategies.tests.factories import goog, random_walk

CONFIG = BacktestConfig(
    initial_cash=Decimal(10_000), execution=ExecutionConfig(commission=BpsCommission(Decimal(20)))
)
SPACE = {"fast": [5, 10, 20], "slow": [10, 20, 40]}


def test_run_one_is_an_importable_single_combination() -> None:
    summary = run_one(
        "strategies.builtins.moving_average_crossover:MovingAverageCrossover",
        {"fast": 10, "slow": 20},
        [goog()],
        CONFIG,
    )
    direct = run_backtest(MovingAverageCrossover(fast=10, slow=20), goog(), CONFIG)

    assert summary.fingerprint == direct.fingerprint()
    assert summary.objective == direct.metrics.sharpe
    assert summary.final_equity == direct.final_equity
    assert summary.metrics["trades"] == len(direct.trades) == summary.trades


def test_grid_search_ranks_by_the_objective_and_keeps_refused_combinations() -> None:
    result = grid_search(MovingAverageCrossover, goog(), CONFIG, SPACE, objective="total_return")

    assert [row.parameters["fast"] for row in result.rows] == [5, 5, 5, 10, 10, 10, 20, 20, 20]
    refused = [row for row in result.rows if row.error]
    assert {(row.parameters["fast"], row.parameters["slow"]) for row in refused} == {
        (10, 10),
        (20, 10),
        (20, 20),
    }
    best = result.best
    assert best is not None
    assert best.objective == max(row.objective for row in result.rows if row.objective is not None)
    heatmap = result.heatmap("fast", "slow")
    assert heatmap.shape == (3, 3)
    assert np.isnan(heatmap.loc[10, 20])  # fast 20 / slow 10 was refused
    chosen = next(row for row in result.rows if (row.parameters["fast"], row.parameters["slow"]) == (5, 40))
    assert heatmap.loc[40, 5] == chosen.objective


def test_a_constraint_filters_before_running() -> None:
    result = grid_search(
        MovingAverageCrossover, goog(), CONFIG, SPACE, constraint=lambda combo: combo["fast"] < combo["slow"]
    )

    assert len(result.rows) == 6
    assert not any(row.error for row in result.rows)


def test_random_search_is_reproducible_by_seed() -> None:
    space = {"fast": list(range(3, 15)), "slow": list(range(16, 40))}

    first = random_search(MovingAverageCrossover, goog(), CONFIG, samples=5, seed=42, space=space)
    again = random_search(MovingAverageCrossover, goog(), CONFIG, samples=5, seed=42, space=space)
    other = random_search(MovingAverageCrossover, goog(), CONFIG, samples=5, seed=43, space=space)

    assert [row.parameters for row in first.rows] == [row.parameters for row in again.rows]
    assert [row.fingerprint for row in first.rows] == [row.fingerprint for row in again.rows]
    assert [row.parameters for row in first.rows] != [row.parameters for row in other.rows]
    assert len({tuple(sorted(row.parameters.items())) for row in first.rows}) == 5


def test_random_search_samples_parameter_ranges_when_no_space_is_given() -> None:
    result = random_search(
        MovingAverageCrossover,
        goog(),
        CONFIG,
        samples=4,
        seed=1,
        constraint=lambda combo: combo["fast"] < combo["slow"],
    )

    specs = MovingAverageCrossover.parameter_specs()
    for row in result.rows:
        for name, value in row.parameters.items():
            spec = specs[name]
            if spec.minimum is not None:
                assert spec.minimum <= value <= spec.maximum


def test_a_process_pool_gives_the_same_rows_as_one_process() -> None:
    combos = {"fast": [5, 10], "slow": [20, 30]}

    inline = grid_search(MovingAverageCrossover, goog(), CONFIG, combos, processes=1)
    pooled = grid_search(MovingAverageCrossover, goog(), CONFIG, combos, processes=2)

    assert inline.rows == pooled.rows


def test_grid_refuses_unknown_parameters() -> None:
    with pytest.raises(ParameterError):
        grid(MovingAverageCrossover, {"speed": [1]})
    assert len(grid(MovingAverageCrossover, {"fast": [1, 2], "allow_short": [False, True]})) == 4


def test_walk_forward_optimises_in_sample_and_stitches_out_of_sample() -> None:
    data = random_walk(1200, seed=3)

    result = walk_forward(
        MovingAverageCrossover,
        data,
        CONFIG,
        {"fast": [3, 5, 8], "slow": [15, 25]},
        in_sample=400,
        out_of_sample=200,
        objective="total_return",
    )

    assert [window.in_sample for window in result.windows] == [(0, 399), (200, 599), (400, 799), (600, 999)]
    assert [window.out_of_sample for window in result.windows] == [
        (400, 599),
        (600, 799),
        (800, 999),
        (1000, 1199),
    ]
    assert all(window.parameters is not None for window in result.windows)
    assert len(result.equity) == len(result.time) == 800
    assert np.all(np.diff(result.time) > 0)
    assert result.equity[0] == pytest.approx(10_000)
    # the stitched curve compounds the windows' out-of-sample returns
    growth = np.prod([1 + window.out_of_sample_return for window in result.windows])
    assert result.equity[-1] == pytest.approx(10_000 * growth)
    assert result.metrics.total_return == pytest.approx(growth - 1)


def test_walk_forward_reports_each_window_and_stops_when_the_hook_raises() -> None:
    seen: list[tuple[int, int]] = []

    class Stop(Exception):
        pass

    def on_window(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        walk_forward(
            MovingAverageCrossover,
            random_walk(1200, seed=3),
            CONFIG,
            {"fast": [5], "slow": [20]},
            in_sample=400,
            out_of_sample=200,
            on_window=on_window,
        )

    assert seen == [(1, 4), (2, 4)]


def test_anchored_walk_forward_grows_the_sample() -> None:
    result = walk_forward(
        MovingAverageCrossover,
        random_walk(900, seed=3),
        CONFIG,
        {"fast": [5], "slow": [20]},
        in_sample=300,
        out_of_sample=300,
        anchored=True,
    )

    assert [window.in_sample for window in result.windows] == [(0, 299), (0, 599)]


def test_monte_carlo_is_seeded_and_sensible() -> None:
    pnls = [120.0, -80.0, 45.5, -200.0, 310.0, -15.0, 60.0, Decimal("-40.25")]

    first = monte_carlo_trades(pnls, 10_000, simulations=500, seed=7)
    again = monte_carlo_trades(pnls, 10_000, simulations=500, seed=7, batch=64)
    shuffled = monte_carlo_trades(pnls, 10_000, simulations=200, method="shuffle", seed=7)

    np.testing.assert_array_equal(first.total_returns[:64], again.total_returns[:64])
    assert list(first.return_percentiles) == [5.0, 25.0, 50.0, 75.0, 95.0]
    assert list(first.return_percentiles.values()) == sorted(first.return_percentiles.values())
    assert np.all((first.max_drawdowns >= 0) & (first.max_drawdowns <= 1))
    assert 0 <= first.probability_of_loss <= 1
    # a permutation keeps the total; only the path (and its drawdown) changes
    np.testing.assert_allclose(shuffled.total_returns, sum(float(p) for p in pnls) / 10_000)
    assert shuffled.max_drawdowns.min() < shuffled.max_drawdowns.max()


def test_monte_carlo_of_no_trades_and_bad_input() -> None:
    empty = monte_carlo_trades([], 1000, simulations=10)

    assert np.all(empty.total_returns == 0)
    with pytest.raises(ValueError, match="method"):
        monte_carlo_trades([1.0], 1000, method="jackknife")
    with pytest.raises(ValueError, match="positive"):
        monte_carlo_trades([1.0], 0)


def test_summaries_are_picklable_for_celery_and_pools() -> None:
    import pickle

    summary = RunSummary({"fast": 5}, 1.5, {"sharpe": 1.5}, Decimal("10.5"), 3, "abc")

    assert pickle.loads(pickle.dumps(summary)) == summary  # noqa: S301 - our own bytes
