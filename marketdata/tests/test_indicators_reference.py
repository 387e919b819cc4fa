"""marketdata.indicators (the one implementation) against the ``ta`` package on a fixed random series.

Tolerances: EMA, RSI, MACD, Bollinger, ATR (after its warm-up) and Donchian must equal ``ta`` bit for
bit (they run the same pandas kernels in the same order). SMA on the tick grid is the exact mean, so
it may differ from ``ta``'s rolling mean by float noise: relative 1e-13, no absolute slack. Warm-up
positions must be NaN in both (``ta``'s ATR reports 0.0 there, ours NaN).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from ta.momentum import RSIIndicator
from ta.trend import MACD, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands, DonchianChannel

from marketdata import indicators
from marketdata.indicators import IndicatorError

TICK = Decimal("0.01")


def random_bars(count: int = 2_000, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Highs, lows and closes of a geometric random walk on a 0.01 tick (fixed seed)."""
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, count))), 2)
    high = np.round(close + rng.integers(0, 50, count) / 100, 2)
    low = np.round(close - rng.integers(0, 50, count) / 100, 2)
    return high, low, close


HIGH, LOW, CLOSE = random_bars()


@pytest.mark.parametrize("window", [1, 5, 20, 200])
def test_sma_is_tas_mean_within_float_noise(window: int) -> None:
    reference = SMAIndicator(pd.Series(CLOSE), window).sma_indicator().to_numpy()

    ours = indicators.sma(CLOSE, window, TICK)

    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    np.testing.assert_allclose(ours, reference, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(indicators.sma(CLOSE, window), reference)  # no tick: ta's own mean


@pytest.mark.parametrize("window", [5, 14, 50])
def test_ema_and_rsi_equal_ta(window: int) -> None:
    close = pd.Series(CLOSE)

    np.testing.assert_array_equal(indicators.ema(CLOSE, window), EMAIndicator(close, window).ema_indicator())
    np.testing.assert_array_equal(indicators.rsi(CLOSE, window), RSIIndicator(close, window).rsi())
    assert np.isnan(indicators.rsi(CLOSE, window)[: window - 1]).all()


def test_macd_equals_ta() -> None:
    reference = MACD(pd.Series(CLOSE), window_slow=26, window_fast=12, window_sign=9)

    line, signal, histogram = indicators.macd(CLOSE, 12, 26, 9)

    np.testing.assert_array_equal(line, reference.macd())
    np.testing.assert_array_equal(signal, reference.macd_signal())
    np.testing.assert_array_equal(histogram, reference.macd_diff())


def test_bollinger_equals_ta() -> None:
    reference = BollingerBands(pd.Series(CLOSE), window=20, window_dev=2.0)

    upper, middle, lower = indicators.bollinger(CLOSE, 20, 2.0)

    np.testing.assert_array_equal(upper, reference.bollinger_hband())
    np.testing.assert_array_equal(middle, reference.bollinger_mavg())
    np.testing.assert_array_equal(lower, reference.bollinger_lband())


def test_atr_equals_ta_after_warm_up() -> None:
    reference = AverageTrueRange(pd.Series(HIGH), pd.Series(LOW), pd.Series(CLOSE), window=14)
    expected = reference.average_true_range().to_numpy()

    ours = indicators.atr(HIGH, LOW, CLOSE, 14)

    np.testing.assert_array_equal(ours[13:], expected[13:])
    assert np.isnan(ours[:13]).all()


def test_donchian_equals_ta() -> None:
    reference = DonchianChannel(pd.Series(HIGH), pd.Series(LOW), pd.Series(CLOSE), window=20)

    upper, middle, lower = indicators.donchian(HIGH, LOW, 20)

    np.testing.assert_array_equal(upper, reference.donchian_channel_hband())
    np.testing.assert_array_equal(middle, reference.donchian_channel_mband())
    np.testing.assert_array_equal(lower, reference.donchian_channel_lband())


def test_chart_values_are_the_functions_values_with_warm_up_as_none() -> None:
    specs = indicators.parse_specs("sma:20,ema:10,rsi:14,bb:20:2,macd:12:26:9")

    chart = indicators.compute(pd.Series(CLOSE), specs, tick_size=TICK)

    def points(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(value) else float(value) for value in values]

    assert chart["sma:20"] == points(indicators.sma(CLOSE, 20, TICK))
    assert chart["ema:10"] == points(indicators.ema(CLOSE, 10))
    # the first RSI (seeded with a zero change) is hidden on the chart: it shows window real changes
    assert chart["rsi:14"] == [None] * 14 + points(indicators.rsi(CLOSE, 14))[14:]
    assert chart["bb:20:2"]["upper"] == points(indicators.bollinger(CLOSE, 20, 2.0)[0])
    assert chart["macd:12:26:9"]["signal"] == points(indicators.macd(CLOSE, 12, 26, 9)[1])


@pytest.mark.parametrize("window", [0, -3, 2.5, True])
def test_bad_windows_raise_indicator_error(window: object) -> None:
    with pytest.raises(IndicatorError):
        indicators.ema(CLOSE, window)  # type: ignore[arg-type]
    with pytest.raises(IndicatorError):
        indicators.macd(CLOSE, 26, 12, 9)
