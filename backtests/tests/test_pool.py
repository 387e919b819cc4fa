"""Combinations on the task's process pool, one by one: the same rows as ``analysis.evaluate`` whatever
the number of processes, a raising strategy's words back from a worker, and an early stop."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtests import analysis, pool
from backtests.engine import BacktestConfig, BacktestError
from backtests.tests.strategies import EXPLODING_PATH
from strategies.builtins import MovingAverageCrossover
from strategies.sdk import strategy_path
from strategies.tests.factories import random_walk

CONFIG = BacktestConfig(initial_cash=Decimal(10_000))
COMBINATIONS = [{"fast": fast, "slow": slow} for fast in (3, 5, 8) for slow in (5, 20)]
CROSSOVER = strategy_path(MovingAverageCrossover)


def test_two_processes_give_the_rows_one_gives_in_any_finishing_order():
    data = [random_walk(3000, seed=4)]

    expected = analysis.evaluate(MovingAverageCrossover, COMBINATIONS, data, CONFIG, objective="total_return")
    one = dict(pool.evaluate_each(CROSSOVER, COMBINATIONS, data, CONFIG, objective="total_return"))
    two = dict(
        pool.evaluate_each(CROSSOVER, COMBINATIONS, data, CONFIG, objective="total_return", processes=2)
    )

    assert [one[index] for index in range(len(COMBINATIONS))] == expected
    assert [two[index] for index in range(len(COMBINATIONS))] == expected
    assert expected[2].error is not None  # fast 5, slow 5: refused, kept as a row


def test_a_strategy_raising_in_a_worker_comes_back_in_words():
    each = pool.evaluate_each(
        EXPLODING_PATH,
        [{"fail_at": 10}, {"fail_at": 20}],
        [random_walk(100)],
        CONFIG,
        objective="sharpe",
        processes=2,
    )

    with pytest.raises(BacktestError) as caught:
        list(each)

    assert caught.value.code == "strategy_error"
    assert caught.value.message.startswith("Exploding raised RuntimeError: boom on the bar of 2024-01-")


def test_closing_early_drops_what_has_not_started():
    combinations = [{"fast": 3, "slow": slow} for slow in range(5, 45)]
    each = pool.evaluate_each(
        CROSSOVER, combinations, [random_walk(2000)], CONFIG, objective="sharpe", processes=2
    )

    first = next(each)
    each.close()

    assert first[0] in (0, 1)
