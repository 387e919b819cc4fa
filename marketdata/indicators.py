"""Technical indicators (pure: numpy arrays in and out, no Django): the one implementation the
strategy SDK and the chart API (``/api/v1/indicators``) share.

Conventions, the same on every path (backtest, paper runtime, chart):

- Causal: the value on bar t depends on bars <= t only, so a value never changes when later bars
  arrive and a strategy cannot see the future through an indicator.
- Warm-up is NaN (``None`` in the chart's JSON): SMA, Bollinger and Donchian are defined from index
  ``window - 1``; EMA from index ``window - 1`` (``ewm(span=window, adjust=False)`` seeded with the
  first value); RSI from index ``window - 1`` (the first value counts as a zero change, as ``ta``
  does; the chart hides that seeded value and shows RSI from index ``window``); the MACD line from
  ``slow - 1``, its signal and histogram from ``slow + signal - 2``; ATR from ``window - 1`` (``ta``
  reports 0.0 during its warm-up, we report NaN).
- Values equal the ``ta`` package's on the same data: EMA, RSI, MACD, Bollinger, ATR and Donchian bit
  for bit (the same pandas kernels in the same order: pandas' rolling and exponential windows are
  what ``ta`` runs, and re-implementing them in numpy would lose the last bits). SMA with a tick size
  is the correctly rounded EXACT mean of the window, summed in integers of ticks, so it differs from
  ``ta``'s rolling mean by at most a few units in the last place; without a tick size (or off the
  grid) it is the rolling mean itself.
- Ties: because the SMA is exact and window-local, equal averages are equal floats (SMA(10) ==
  SMA(20) on flat prices), whatever history precedes the window. A crossover is "was at or below,
  now strictly above" (the strategy SDK's ``crossings``), so an exact tie is never a cross and every
  path decides it the same way. Bollinger uses the POPULATION standard deviation (``ddof=0``);
  Donchian's channel includes the current bar; RSI is 100 when there is no down move.

Bad windows raise :class:`IndicatorError` (a ValueError). For the chart, :func:`parse_specs` reads
names such as ``sma:20``, ``ema:50``, ``bb:20:2``, ``rsi:14`` or ``macd:12:26:9`` and :func:`compute`
returns per name a list aligned with the closes (``None`` while warming up), or for multi-line
indicators a dict of such lists: Bollinger ``{"upper", "middle", "lower"}`` and MACD ``{"macd",
"signal", "histogram"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

_GRID_NOISE = 1e-6  # in ticks: float prices within this of a tick count as on it


class IndicatorError(ValueError):
    """An indicator's parameters are unusable; ``field`` names the one at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- the indicators (vectorised, causal) -------------------------------------------------------------


def sma(values: FloatArray, window: int, tick_size: Decimal | None = None) -> FloatArray:
    """Simple moving average; NaN for the first ``window - 1`` values.

    With ``tick_size`` (prices on that grid) the window sums are exact integers of ticks and each value
    is the correctly rounded exact mean: window-local (independent of earlier history) and tie-exact.
    Without it, or for values off the grid, it is pandas' rolling mean (what ``ta`` computes)."""
    _check_window(window)
    count = len(values)
    if count < window:
        return np.full(count, np.nan)
    if tick_size is None:
        return _rolling_mean(values, window)
    tick = Fraction(tick_size)
    scaled = values * (tick.denominator / tick.numerator)
    nearest = np.rint(scaled)
    np.subtract(scaled, nearest, out=scaled)
    np.abs(scaled, out=scaled)
    if scaled.max() > _GRID_NOISE:  # off the grid: no exact sums to take
        return _rolling_mean(values, window)
    sums = nearest.astype(np.int64)
    del nearest
    np.cumsum(sums, out=sums)  # int64 wraps on overflow; differences of wrapped sums are still exact
    result = scaled  # reused as the output
    result[: window - 1] = np.nan
    result[window - 1] = sums[window - 1]
    np.subtract(sums[window:], sums[: count - window], out=result[window:], casting="unsafe")
    defined = result[window - 1 :]
    if max(defined.max(), -defined.min()) * tick.numerator >= 2**53:  # sums too large to be exact
        return _rolling_mean(values, window)
    # mean = sum * p / (q * window): exact float integers, then one correctly rounded division
    if tick.numerator != 1:
        defined *= float(tick.numerator)
    defined /= float(tick.denominator * window)
    return result


def _rolling_mean(values: FloatArray, window: int) -> FloatArray:
    return cast(FloatArray, pd.Series(values).rolling(window, min_periods=window).mean().to_numpy())


def ema(values: FloatArray, window: int) -> FloatArray:
    """Exponential moving average as ``ta.trend.EMAIndicator``: ``ewm(span=window, adjust=False)``,
    defined from the ``window``-th value."""
    _check_window(window)
    series = pd.Series(values).ewm(span=window, min_periods=window, adjust=False).mean()
    return cast(FloatArray, series.to_numpy(dtype=np.float64))


def rsi(values: FloatArray, window: int = 14) -> FloatArray:
    """Wilder's RSI as ``ta.momentum.RSIIndicator`` (``alpha = 1 / window``; 100 when there is no
    down move). Like ``ta``, the first value counts as a zero change, so RSI starts at index
    ``window - 1``."""
    _check_window(window)
    difference = pd.Series(values).diff(1)
    up = difference.where(difference > 0, 0.0)
    down = -difference.where(difference < 0, 0.0)
    average_up = up.ewm(alpha=1 / window, min_periods=window, adjust=False).mean()
    average_down = down.ewm(alpha=1 / window, min_periods=window, adjust=False).mean()
    relative = average_up / average_down
    result = np.where(average_down == 0, 100, 100 - (100 / (1 + relative)))
    result[np.isnan(average_down.to_numpy())] = np.nan
    return result.astype(np.float64)


def macd(
    values: FloatArray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(macd, signal, histogram)`` as ``ta.trend.MACD``."""
    for window in (fast, slow, signal):
        _check_window(window)
    if fast >= slow:
        raise IndicatorError("MACD fast window must be shorter than slow.", "fast")
    closes = pd.Series(values)
    line = (
        closes.ewm(span=fast, min_periods=fast, adjust=False).mean()
        - closes.ewm(span=slow, min_periods=slow, adjust=False).mean()
    )
    signal_line = line.ewm(span=signal, min_periods=signal, adjust=False).mean()
    return (
        line.to_numpy(dtype=np.float64),
        signal_line.to_numpy(dtype=np.float64),
        (line - signal_line).to_numpy(dtype=np.float64),
    )


def bollinger(
    values: FloatArray, window: int = 20, deviations: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(upper, middle, lower)`` as ``ta.volatility.BollingerBands``: pandas rolling mean and the
    POPULATION standard deviation (``ddof=0``)."""
    _check_window(window)
    closes = pd.Series(values)
    middle = closes.rolling(window, min_periods=window).mean()
    deviation = closes.rolling(window, min_periods=window).std(ddof=0)
    return (
        (middle + deviations * deviation).to_numpy(dtype=np.float64),
        middle.to_numpy(dtype=np.float64),
        (middle - deviations * deviation).to_numpy(dtype=np.float64),
    )


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """``max(high - low, |high - previous close|, |low - previous close|)``; the first bar's is
    ``high - low``."""
    previous = np.empty_like(close)
    previous[0] = np.nan
    previous[1:] = close[:-1]
    ranges = np.stack([high - low, np.abs(high - previous), np.abs(low - previous)])
    return cast(FloatArray, np.fmax.reduce(ranges, axis=0))


def atr(high: FloatArray, low: FloatArray, close: FloatArray, window: int = 14) -> FloatArray:
    """Average true range as ``ta.volatility.AverageTrueRange``: the mean of the first ``window`` true
    ranges, then Wilder's smoothing ``(previous * (window - 1) + tr) / window``. NaN before index
    ``window - 1`` (``ta`` reports 0.0 there)."""
    _check_window(window)
    length = len(close)
    result = np.full(length, np.nan)
    if length < window:
        return result
    ranges = true_range(high, low, close)
    previous = float(ranges[:window].sum() / float(window))
    result[window - 1] = previous
    tail = ranges[window:].tolist()
    smoothed: list[float] = []
    keep = window - 1
    divisor = float(window)
    append = smoothed.append
    for value in tail:  # recursive: same operations in the same order as ta, hence bit-identical
        previous = (previous * keep + value) / divisor
        append(previous)
    result[window:] = smoothed
    return result


def donchian(
    high: FloatArray, low: FloatArray, window: int = 20
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(upper, middle, lower)`` as ``ta.volatility.DonchianChannel``: the highest high and lowest low
    of the last ``window`` bars INCLUDING the current one (a breakout rule compares with the previous
    bar's channel), middle ``(upper - lower) / 2 + lower``."""
    _check_window(window)
    upper = pd.Series(high).rolling(window, min_periods=window).max()
    lower = pd.Series(low).rolling(window, min_periods=window).min()
    middle = ((upper - lower) / 2.0) + lower
    return (
        upper.to_numpy(dtype=np.float64),
        middle.to_numpy(dtype=np.float64),
        lower.to_numpy(dtype=np.float64),
    )


def _check_window(window: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise IndicatorError(f"an indicator window must be a whole number >= 1, not {window!r}.", "window")


# --- the chart's named indicators --------------------------------------------------------------------

MAX_WINDOW = 500
MAX_SPECS = 8

# name -> (parameter names, their defaults); trailing parameters may be left out
_KINDS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "sma": (("window",), (20,)),
    "ema": (("window",), (20,)),
    "bb": (("window", "deviations"), (20, 2)),
    "rsi": (("window",), (14,)),
    "macd": (("fast", "slow", "signal"), (12, 26, 9)),
}


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    kind: str
    params: tuple[float, ...]

    @property
    def key(self) -> str:
        return ":".join([self.kind, *(_number_text(value) for value in self.params)])

    @property
    def warmup(self) -> int:
        """Bars of history it takes before the values settle (exponential ones: about 3 windows)."""
        if self.kind in {"sma", "bb"}:
            return int(self.params[0])
        if self.kind == "macd":
            return int(3 * self.params[1] + self.params[2])
        return int(3 * self.params[0])


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _integer(text: str, name: str, lowest: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not '{text}'.") from None
    if not lowest <= value <= MAX_WINDOW:
        raise ValueError(f"{name} must be between {lowest} and {MAX_WINDOW}.")
    return value


def parse_spec(text: str) -> IndicatorSpec:
    kind, *parts = text.strip().lower().split(":")
    if kind not in _KINDS:
        raise ValueError(f"Unknown indicator '{kind}'; use one of {', '.join(_KINDS)}.")
    names, defaults = _KINDS[kind]
    if len(parts) > len(names):
        raise ValueError(f"{kind} takes at most {len(names)} parameter(s): {kind}:{':'.join(names)}.")
    texts = parts + [_number_text(value) for value in defaults[len(parts) :]]
    if kind == "bb":
        window = _integer(texts[0], "bb window", 2)
        try:
            deviations = float(texts[1])
        except ValueError:
            raise ValueError(f"bb deviations must be a number, not '{texts[1]}'.") from None
        if not (math.isfinite(deviations) and 0 < deviations <= 10):
            raise ValueError("bb deviations must be above 0 and at most 10.")
        return IndicatorSpec(kind, (window, deviations))
    if kind == "macd":
        fast, slow, signal = (
            _integer(value, f"macd {name}", 1) for value, name in zip(texts, names, strict=True)
        )
        if fast >= slow:
            raise ValueError("macd fast must be shorter than slow (e.g. macd:12:26:9).")
        return IndicatorSpec(kind, (fast, slow, signal))
    return IndicatorSpec(kind, (_integer(texts[0], f"{kind} window", 2 if kind == "rsi" else 1),))


def parse_specs(text: str) -> list[IndicatorSpec]:
    """``"sma:20,ema:50"`` -> specs, without duplicates, in order. Raises ValueError."""
    items = [item for item in (part.strip() for part in text.split(",")) if item]
    if not items:
        raise ValueError("Name at least one indicator, e.g. sma:20,rsi:14.")
    specs = list(dict.fromkeys(parse_spec(item) for item in items))
    if len(specs) > MAX_SPECS:
        raise ValueError(f"Ask for at most {MAX_SPECS} indicators at once.")
    return specs


def _points(values: FloatArray, hidden: int = 0) -> list[float | None]:
    points: list[float | None] = [value if math.isfinite(value) else None for value in values.tolist()]
    points[:hidden] = [None] * min(hidden, len(points))
    return points


def compute_one(
    close: FloatArray, spec: IndicatorSpec, tick_size: Decimal | None = None
) -> list[float | None] | dict[str, list[float | None]]:
    """One spec's values over ``close`` (float64, oldest first); ``tick_size`` makes the SMA exact."""
    if spec.kind == "sma":
        return _points(sma(close, int(spec.params[0]), tick_size))
    if spec.kind == "ema":
        return _points(ema(close, int(spec.params[0])))
    if spec.kind == "rsi":
        window = int(spec.params[0])
        # the first close has no change: the first RSI worth showing needs ``window`` real changes
        return _points(rsi(close, window), hidden=window)
    if spec.kind == "bb":
        upper, middle, lower = bollinger(close, int(spec.params[0]), spec.params[1])
        return {"upper": _points(upper), "middle": _points(middle), "lower": _points(lower)}
    fast, slow, signal = (int(value) for value in spec.params)
    line, signal_line, histogram = macd(close, fast, slow, signal)
    return {"macd": _points(line), "signal": _points(signal_line), "histogram": _points(histogram)}


def compute(
    close: FloatArray | pd.Series, specs: list[IndicatorSpec], tick_size: Decimal | None = None
) -> dict[str, Any]:
    """Each spec's values, keyed by its canonical spelling (``spec.key``). Give the instrument's
    ``tick_size`` so the SMA is the exact mean the strategy SDK computes for the same bars."""
    values = np.asarray(close, dtype=np.float64)
    return {spec.key: compute_one(values, spec, tick_size) for spec in specs}
