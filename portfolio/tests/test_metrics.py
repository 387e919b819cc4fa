"""The one metrics module: figures checked by hand on small curves, conventions, properties."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from marketdata.domain import Timeframe
from portfolio.metrics import (
    compute_metrics,
    longest_drawdown,
    max_drawdown,
    periods_per_year,
    returns_of,
    var_historical,
    var_monte_carlo,
)

DAY = timedelta(days=1)
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_periods_per_year_by_timeframe_and_asset_class() -> None:
    assert periods_per_year(Timeframe.D1) == 252
    assert periods_per_year("1m") == 252 * 390
    assert periods_per_year(Timeframe.M5, "etf") == 252 * 78
    assert periods_per_year(Timeframe.H1, "stock") == 252 * 7
    assert periods_per_year(Timeframe.D1, "crypto") == 365
    assert periods_per_year(Timeframe.M1, "crypto") == 365 * 1440
    assert periods_per_year(Timeframe.M15, "forex") == 260 * 96


def test_returns_and_risk_figures_by_hand() -> None:
    equity = [100.0, 110.0, 99.0, 108.9, 119.79]  # +10 %, -10 %, +10 %, +10 %

    metrics = compute_metrics(equity=equity, periods_per_year=4)

    returns = np.array([0.1, -0.1, 0.1, 0.1])
    np.testing.assert_allclose(returns_of(np.array(equity)), returns)
    assert metrics.total_return == pytest.approx(0.1979)
    assert metrics.annualized_return == pytest.approx(0.1979)  # four periods of a four-period year
    deviation = float(np.std(returns, ddof=1))
    assert metrics.volatility == pytest.approx(deviation * 2)
    assert metrics.sharpe == pytest.approx(0.05 / deviation * 2)
    downside = math.sqrt(0.01 / 4)
    assert metrics.sortino == pytest.approx(0.05 / downside * 2)
    assert metrics.max_drawdown == pytest.approx(0.1)
    assert metrics.calmar == pytest.approx(0.1979 / 0.1)
    assert metrics.periods == 4


def test_a_risk_free_rate_lowers_sharpe() -> None:
    equity = list(100 * np.cumprod(1 + np.array([0.0, 0.01, -0.005, 0.012, 0.003, -0.002])))

    plain = compute_metrics(equity=equity)
    with_rate = compute_metrics(equity=equity, risk_free_rate=0.05)

    assert with_rate.sharpe is not None
    assert plain.sharpe is not None
    assert with_rate.sharpe < plain.sharpe
    assert with_rate.risk_free_rate == 0.05


def test_drawdown_depth_and_longest_duration() -> None:
    equity = np.array([100, 120, 90, 100, 130, 125, 126, 127, 128, 129.0])
    times = [START + DAY * index for index in range(len(equity))]

    metrics = compute_metrics(equity=equity, times=times)

    assert max_drawdown(equity) == pytest.approx(0.25)  # 120 -> 90
    assert longest_drawdown(equity) == (5, 4, 9)  # below 130 from period 5 to the end
    assert metrics.max_drawdown_periods == 5
    assert metrics.max_drawdown_duration == 5 * DAY
    nanos = np.array([int(moment.timestamp()) * 1_000_000_000 for moment in times])
    assert compute_metrics(equity=equity, times=nanos).max_drawdown_duration == 5 * DAY


def test_a_recovered_drawdown_ends_at_the_new_peak() -> None:
    assert longest_drawdown(np.array([100, 90, 95, 101, 100, 101.0])) == (3, 0, 3)
    assert longest_drawdown(np.array([1, 2, 3.0])) == (0, 0, 0)


def test_trade_statistics() -> None:
    metrics = compute_metrics(
        equity=[100.0, 101.0],
        trade_pnls=[100.0, -50.0, 30.0, 0.0, -10.0],
        trade_returns=[0.1, -0.05, 0.03, 0.0, -0.01],
    )

    assert metrics.trades == 5
    assert metrics.win_rate == pytest.approx(2 / 5)
    assert metrics.average_win == pytest.approx(65.0)
    assert metrics.average_loss == pytest.approx(-30.0)
    assert metrics.profit_factor == pytest.approx(130 / 60)
    assert metrics.expectancy == pytest.approx(14.0)
    assert metrics.average_trade_return == pytest.approx(0.014)


def test_trade_statistics_edge_cases() -> None:
    none = compute_metrics(equity=[100.0, 100.0])
    winners = compute_metrics(equity=[100.0, 100.0], trade_pnls=[5.0, 6.0])

    assert (none.trades, none.win_rate, none.profit_factor, none.expectancy) == (0, None, None, None)
    assert winners.profit_factor == math.inf
    assert json.dumps(winners.as_dict())  # JSON-friendly, infinity spelled out
    assert winners.as_dict()["profit_factor"] == "inf"


def test_exposure_and_buy_and_hold() -> None:
    metrics = compute_metrics(
        equity=[100.0, 102.0, 104.0, 103.0],
        in_market=[False, True, True, False],
        benchmark=[50.0, 51.0, 53.0, 55.0],
    )

    assert metrics.exposure_time == pytest.approx(0.5)
    assert metrics.buy_and_hold_return == pytest.approx(0.1)
    assert metrics.excess_return == pytest.approx(0.03 - 0.1)


def test_value_at_risk() -> None:
    returns = np.linspace(-0.05, 0.05, 101)  # 1 % steps of 0.1 %

    assert var_historical(returns, 0.95) == pytest.approx(0.045)
    assert var_historical(np.array([]), 0.95) is None
    draws = var_monte_carlo(returns, 0.95, simulations=20_000, seed=3)
    assert draws == var_monte_carlo(returns, 0.95, simulations=20_000, seed=3)
    assert draws == pytest.approx(1.645 * float(np.std(returns, ddof=1)), rel=0.05)
    assert var_monte_carlo(returns[:1]) is None


def test_undefined_figures_are_none_not_nan() -> None:
    flat = compute_metrics(equity=[100.0, 100.0, 100.0])
    empty = compute_metrics(equity=[])

    assert (flat.sharpe, flat.sortino, flat.calmar, flat.max_drawdown) == (None, None, None, 0.0)
    assert flat.max_drawdown_duration is None
    assert (empty.total_return, empty.annualized_return, empty.max_drawdown, empty.start_equity) == (
        None,
        None,
        None,
        None,
    )
    for value in compute_metrics(equity=[100.0]).as_dict().values():
        assert not (isinstance(value, float) and math.isnan(value))


@settings(max_examples=100, deadline=None)
@given(
    returns=st.lists(st.floats(min_value=-0.5, max_value=0.5, allow_nan=False), min_size=2, max_size=60),
    scale=st.floats(min_value=0.01, max_value=1e6),
)
def test_properties(returns: list[float], scale: float) -> None:
    equity = 100 * np.cumprod(1 + np.array([0.0, *returns]))

    metrics = compute_metrics(equity=equity)
    scaled = compute_metrics(equity=equity * scale)

    assert metrics.max_drawdown is not None
    assert 0 <= metrics.max_drawdown <= 1
    assert metrics.total_return == pytest.approx(equity[-1] / equity[0] - 1)
    # figures of returns do not depend on the account's size (away from a zero deviation, where
    # float noise in the returns decides between "undefined" and huge)
    assume(float(np.std(returns)) > 1e-6)
    for name in ("total_return", "volatility", "sharpe", "max_drawdown"):
        first, second = getattr(metrics, name), getattr(scaled, name)
        assert (first is None) == (second is None)
        if first is not None:
            assert second == pytest.approx(first, rel=1e-9, abs=1e-12)
