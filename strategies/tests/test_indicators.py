"""Indicators give ta's values on the same data; SMA is the exact, window-local mean; all are causal."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from ta.momentum import RSIIndicator
from ta.trend import MACD, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands, DonchianChannel

from strategies import sdk
from strategies.tests.factories import goog, random_walk

DATASETS = {"goog": goog(), "walk": random_walk(3000, seed=3)}


@pytest.fixture(params=sorted(DATASETS))
def bars(request: pytest.FixtureRequest) -> sdk.BarSeries:
    return DATASETS[request.param]


def frame(bars: sdk.BarSeries) -> tuple[pd.Series, pd.Series, pd.Series]:
    return pd.Series(bars.high), pd.Series(bars.low), pd.Series(bars.close)


@pytest.mark.parametrize("window", [5, 14, 50])
def test_ema_rsi_equal_ta_bit_for_bit(bars: sdk.BarSeries, window: int) -> None:
    _, _, close = frame(bars)

    np.testing.assert_array_equal(sdk.ema(bars.close, window), EMAIndicator(close, window).ema_indicator())
    np.testing.assert_array_equal(sdk.rsi(bars.close, window), RSIIndicator(close, window).rsi())


def test_macd_equals_ta_bit_for_bit(bars: sdk.BarSeries) -> None:
    _, _, close = frame(bars)
    reference = MACD(close, window_slow=26, window_fast=12, window_sign=9)

    line, signal, histogram = sdk.macd(bars.close, 12, 26, 9)

    np.testing.assert_array_equal(line, reference.macd())
    np.testing.assert_array_equal(signal, reference.macd_signal())
    np.testing.assert_array_equal(histogram, reference.macd_diff())


@pytest.mark.parametrize(("window", "deviations"), [(20, 2.0), (10, 1.5)])
def test_bollinger_equals_ta_bit_for_bit(bars: sdk.BarSeries, window: int, deviations: float) -> None:
    _, _, close = frame(bars)
    reference = BollingerBands(close, window=window, window_dev=deviations)

    upper, middle, lower = sdk.bollinger(bars.close, window, deviations)

    np.testing.assert_array_equal(upper, reference.bollinger_hband())
    np.testing.assert_array_equal(middle, reference.bollinger_mavg())
    np.testing.assert_array_equal(lower, reference.bollinger_lband())


@pytest.mark.parametrize("window", [14, 20])
def test_atr_equals_ta_bit_for_bit_after_warm_up(bars: sdk.BarSeries, window: int) -> None:
    high, low, close = frame(bars)
    reference = AverageTrueRange(high, low, close, window=window).average_true_range().to_numpy()

    ours = sdk.atr(bars.high, bars.low, bars.close, window)

    np.testing.assert_array_equal(ours[window - 1 :], reference[window - 1 :])
    assert np.all(np.isnan(ours[: window - 1]))  # ta reports 0.0 during warm-up
    assert np.all(reference[: window - 1] == 0.0)


@pytest.mark.parametrize("window", [10, 20])
def test_donchian_equals_ta_bit_for_bit(bars: sdk.BarSeries, window: int) -> None:
    high, low, close = frame(bars)
    reference = DonchianChannel(high, low, close, window=window)

    upper, middle, lower = sdk.donchian(bars.high, bars.low, window)

    np.testing.assert_array_equal(upper, reference.donchian_channel_hband())
    np.testing.assert_array_equal(middle, reference.donchian_channel_mband())
    np.testing.assert_array_equal(lower, reference.donchian_channel_lband())


@pytest.mark.parametrize("window", [1, 10, 20, 200])
def test_sma_equals_ta_to_the_last_places(bars: sdk.BarSeries, window: int) -> None:
    reference = SMAIndicator(pd.Series(bars.close), window).sma_indicator().to_numpy()

    ours = sdk.sma(bars.close, window, Decimal("0.01"))

    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    np.testing.assert_allclose(ours, reference, rtol=1e-13, atol=0)


def test_without_a_tick_grid_sma_is_tas_rolling_mean(bars: sdk.BarSeries) -> None:
    reference = SMAIndicator(pd.Series(bars.close), 20).sma_indicator()

    np.testing.assert_array_equal(sdk.sma(bars.close, 20), reference)


ticks = st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(
    values=ticks,
    window=st.integers(min_value=1, max_value=25),
    tick=st.sampled_from(["0.01", "0.25", "5", "0.0001"]),
)
def test_sma_is_the_correctly_rounded_exact_mean(values: list[int], window: int, tick: str) -> None:
    step = Decimal(tick)
    prices = np.array([float(value * step) for value in values])

    ours = sdk.sma(prices, window, step)

    fraction = Fraction(step)
    for index in range(window - 1, len(values)):
        exact = Fraction(sum(values[index - window + 1 : index + 1])) * fraction / window
        assert ours[index] == float(exact)  # float(Fraction) rounds correctly


@settings(max_examples=100, deadline=None)
@given(
    values=ticks, window=st.integers(min_value=1, max_value=10), cut=st.integers(min_value=0, max_value=30)
)
def test_sma_is_window_local_so_any_history_start_gives_the_same_value(
    values: list[int], window: int, cut: int
) -> None:
    prices = np.array(values, dtype=np.float64) / 100
    start = min(cut, len(values))

    whole = sdk.sma(prices, window, Decimal("0.01"))
    tail = sdk.sma(prices[start:], window, Decimal("0.01"))

    np.testing.assert_array_equal(whole[start + window - 1 :], tail[window - 1 :])


def test_exact_ties_stay_ties() -> None:
    # flat prices: every average equals the price exactly, so SMA(10) == SMA(20) is a true tie
    prices = np.full(40, 100.37)

    fast, slow = sdk.sma(prices, 10, Decimal("0.01")), sdk.sma(prices, 20, Decimal("0.01"))

    assert np.all(fast[19:] == slow[19:])
    assert np.all(fast[19:] == 100.37)
    assert not sdk.crossings(fast, slow, above=True)
    assert not sdk.crossings(fast, slow, above=False)


def test_indicators_are_causal(bars: sdk.BarSeries) -> None:
    # values up to bar t depend on bars <= t only: recomputing on a prefix changes nothing
    cut = len(bars) // 2
    prefix = bars.slice(0, cut)
    pairs = [
        (sdk.sma(bars.close, 20, Decimal("0.01")), sdk.sma(prefix.close, 20, Decimal("0.01"))),
        (sdk.ema(bars.close, 20), sdk.ema(prefix.close, 20)),
        (sdk.rsi(bars.close, 14), sdk.rsi(prefix.close, 14)),
        (sdk.atr(bars.high, bars.low, bars.close, 14), sdk.atr(prefix.high, prefix.low, prefix.close, 14)),
        (sdk.macd(bars.close)[1], sdk.macd(prefix.close)[1]),
        (sdk.bollinger(bars.close)[0], sdk.bollinger(prefix.close)[0]),
        (sdk.donchian(bars.high, bars.low)[2], sdk.donchian(prefix.high, prefix.low)[2]),
    ]
    for whole, part in pairs:
        np.testing.assert_array_equal(whole[:cut], part)


def test_bad_windows_are_refused() -> None:
    with pytest.raises(sdk.StrategyProblem):
        sdk.sma(np.ones(5), 0)
    with pytest.raises(sdk.StrategyProblem):
        sdk.macd(np.ones(50), 26, 12, 9)
