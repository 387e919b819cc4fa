"""Technical indicators of a close-price series (pure: pandas and ``ta``, no Django).

An indicator is named by a spec such as ``sma:20``, ``ema:50``, ``bb:20:2``, ``rsi:14`` or
``macd:12:26:9``. :func:`parse_specs` checks a comma-separated list of them (raising ValueError with a
message fit for a user); :func:`compute` returns, per spec, a list aligned with the input (one value per
close, ``None`` where the indicator is not yet defined) or, for multi-line indicators, a dict of such
lists: Bollinger ``{"upper", "middle", "lower"}`` and MACD ``{"macd", "signal", "histogram"}``.

Conventions are ``ta``'s: Bollinger uses the population standard deviation; EMA is
``ewm(span, adjust=False)`` defined from the ``window``-th value; RSI is Wilder's (``alpha = 1/window``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

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


def _values(series: pd.Series) -> list[float | None]:
    return [None if value is None or not math.isfinite(value) else float(value) for value in series.tolist()]


def compute_one(close: pd.Series, spec: IndicatorSpec) -> list[float | None] | dict[str, list[float | None]]:
    from ta.momentum import RSIIndicator
    from ta.trend import MACD, EMAIndicator, SMAIndicator
    from ta.volatility import BollingerBands

    close = close.astype("float64")
    if spec.kind == "sma":
        return _values(SMAIndicator(close, window=int(spec.params[0])).sma_indicator())
    if spec.kind == "ema":
        return _values(EMAIndicator(close, window=int(spec.params[0])).ema_indicator())
    if spec.kind == "rsi":
        rsi = RSIIndicator(close, window=int(spec.params[0])).rsi()
        # the first close has no change: the first RSI worth showing needs ``window`` changes
        rsi.iloc[: int(spec.params[0])] = float("nan")
        return _values(rsi)
    if spec.kind == "bb":
        bands = BollingerBands(close, window=int(spec.params[0]), window_dev=spec.params[1])
        return {
            "upper": _values(bands.bollinger_hband()),
            "middle": _values(bands.bollinger_mavg()),
            "lower": _values(bands.bollinger_lband()),
        }
    fast, slow, signal = (int(value) for value in spec.params)
    macd = MACD(close, window_slow=slow, window_fast=fast, window_sign=signal)
    return {
        "macd": _values(macd.macd()),
        "signal": _values(macd.macd_signal()),
        "histogram": _values(macd.macd_diff()),
    }


def compute(close: pd.Series, specs: list[IndicatorSpec]) -> dict[str, Any]:
    """Each spec's values, keyed by its canonical spelling (``spec.key``)."""
    return {spec.key: compute_one(close, spec) for spec in specs}
