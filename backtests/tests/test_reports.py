"""Reading stored results (pure, no database): which of two metric values is better, which parameters
an optimisation varied, and its heatmap over any two of them (the best objective over the others)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from backtests import reports


def row(objective: float | None, error: str | None = None, **parameters: Any) -> dict[str, Any]:
    return {"parameters": parameters, "objective": objective, "error": error}


@pytest.mark.parametrize(
    ("name", "a", "b", "better"),
    [
        ("total_return", 0.1, 0.2, "b"),
        ("sharpe", 1.5, -0.3, "a"),
        ("max_drawdown", 0.1, 0.2, "a"),  # a smaller fall
        ("volatility", 0.3, 0.2, "b"),
        ("average_loss", -50.0, -20.0, "b"),  # nearer zero
        ("var_historical", 0.02, 0.01, "b"),  # a smaller loss
        ("profit_factor", "inf", 3.0, "a"),
        ("profit_factor", 3.0, "inf", "b"),
        ("trades", 10, 20, None),  # neither way is better
        ("buy_and_hold_return", 0.1, 0.2, None),
        ("sharpe", None, 1.0, None),
        ("sharpe", 1.0, 1.0, None),
        ("unknown_metric", 1.0, 2.0, None),
    ],
)
def test_the_better_of_two_values_depends_on_the_metric(name, a, b, better):
    assert reports.better(name, a, b) == better


def test_metric_numbers_read_infinities_and_refuse_what_is_not_a_number():
    assert reports.metric_number("inf") == math.inf
    assert reports.metric_number("-inf") == -math.inf
    assert reports.metric_number(3) == 3.0
    assert [reports.metric_number(value) for value in (None, True, "abc", math.nan)] == [None] * 4


def test_varying_parameters_are_the_ones_with_several_values_most_varied_first():
    rows = [
        row(1.0, fast=fast, slow=slow, average="sma", short=short)
        for fast in (5, 10, 15)
        for slow in (20, 30)
        for short in (False,)
    ] + [row(None, "refused", fast=99, slow=99, average="ema", short=True)]

    assert reports.varying_parameters(rows) == ["fast", "slow"]  # the refused row does not count
    assert reports.varying_parameters([row(None, "refused", fast=1)]) == []


def test_the_heatmap_takes_the_best_objective_over_the_other_parameters():
    rows = [
        row(1.0, fast=5, slow=20, average="sma"),
        row(3.0, fast=5, slow=20, average="ema"),  # the best with fast 5, slow 20
        row(2.0, fast=10, slow=20, average="sma"),
        row(-1.0, fast=5, slow=30, average="sma"),
        row(None, fast=10, slow=30, average="sma"),  # undefined objective: no value there
        row(None, "fast must be shorter than slow", fast=30, slow=20, average="sma"),
    ]

    table = reports.heatmap_of(rows, "fast", "slow", maximize=True)

    assert (table["xs"], table["ys"]) == ([5, 10], [20, 30])
    assert table["values"] == [[3.0, 2.0], [-1.0, None]]
    assert table["best"] == [0, 0]
    assert table["levels"] == [[9, 7], [0, None]]  # 3.0 best, -1.0 worst, 2.0 three quarters up


def test_when_lower_is_better_the_heatmap_keeps_the_lowest_and_grades_it_best():
    rows = [
        row(0.2, window=10, deviations="2.0"),
        row(0.1, window=10, deviations="2.0"),
        row(0.3, window=20, deviations="1.5"),
        row(0.05, window=20, deviations="2.0"),
    ]

    table = reports.heatmap_of(rows, "window", "deviations", maximize=False)

    assert table["ys"] == ["1.5", "2.0"]  # Decimal parameters (stored as text) sort as numbers
    assert table["values"] == [[None, 0.3], [0.1, 0.05]]
    assert table["best"] == [1, 1]
    assert table["levels"][1][1] == reports.HEATMAP_LEVELS - 1
    assert table["levels"][0][1] == 0


def test_a_heatmap_needs_two_axes_and_a_defined_objective():
    rows = [row(1.0, fast=5, slow=20), row(None, fast=10, slow=20)]

    assert reports.heatmap_of(rows, "fast", "fast", maximize=True) is None
    assert reports.heatmap_of([row(None, fast=5, slow=20)], "fast", "slow", maximize=True) is None
    one = reports.heatmap_of(rows, "fast", "slow", maximize=True)
    assert one["levels"] == [[9, None]]  # a single value is the best there is


def test_an_infinite_objective_is_shown_at_the_end_of_the_scale():
    rows = [row(math.inf, a=1, b=1), row(1.0, a=2, b=1), row(2.0, a=3, b=1)]

    table = reports.heatmap_of(rows, "a", "b", maximize=True)

    assert table["best"] == [0, 0]
    assert table["levels"] == [[9, 0, 9]]


def test_a_histogram_of_identical_values_is_one_bin_at_the_value():
    assert reports.histogram(np.zeros(40)) == {"edges": [0.0, 0.0], "counts": [40]}
    spread = reports.histogram(np.array([0.0, 0.1, 0.2, 0.3]), bins=3)
    assert spread["counts"] == [1, 1, 2]
    assert (spread["edges"][0], spread["edges"][-1]) == (0.0, 0.3)
