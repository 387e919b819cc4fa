"""The strategy SDK (pure, no Django): Strategy base class, typed parameters, indicators and the Context.

A strategy is a class with typed parameters and four hooks; it talks to the world only through the
:class:`Context` it is handed. The backtest engine (``backtests.engine``) and the paper/live runtime
build the same Context over different backends (a :class:`Broker`), so a strategy runs unchanged from
backtest to paper to live: what you backtest is what you trade.

Conventions (``docs/strategies.md`` has the long version and an example):

- Time: bars are labelled by their OPEN time. ``on_bar`` runs when a bar has CLOSED; the strategy sees
  that bar and everything before it, never anything after (``Series`` and ``History`` refuse to index
  past the current bar). Orders placed on bar t reach the market at the next bar of their symbol and
  fill there under ``orders.matching`` (next-bar-open convention).
- Crossovers: ``a.crossed_above(b)`` on bar t means ``a[t-1] <= b[t-1] and a[t] > b[t]`` ("was at or
  below, now strictly above"); ``crossed_below`` mirrors it (``>=`` then ``<``). A NaN on either bar
  (indicator warm-up) is never a cross. A tie on bar t is not a cross; the cross happens on the first
  bar strictly beyond.
- Indicators are computed vectorised over the whole series the Context holds, then read only up to the
  current bar; every one is causal (its value on bar t depends on bars <= t only). Values equal the
  ``ta`` package's on the same data: EMA, RSI, MACD, Bollinger, ATR and Donchian bit for bit (same
  pandas operations in the same order); SMA is the correctly rounded EXACT mean of the window, computed
  on the instrument's tick grid in integers, so it differs from ``ta``'s rolling mean by at most a few
  units in the last place and exact ties (e.g. SMA(10) == SMA(20) on flat prices) stay exact ties in the
  backtester, the paper runtime and any history window. Warm-up values are NaN (``ta``'s ATR reports
  0.0 there).
- Money, prices and quantities that reach orders are ``Decimal``; float prices given to order calls are
  rounded onto the tick conservatively (a buy limit down, a sell limit up, a buy stop up, a sell stop
  down: never more aggressive than asked). Indicator and history values are float64.
"""

from __future__ import annotations

import importlib
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

from marketdata.domain import Bar, InstrumentSpec, Timeframe
from orders.matching import CommissionModel, Fill
from orders.states import OrderStatus, OrderType, Side, TimeInForce
from portfolio.ledger import PositionState
from tradeapp.core.decimals import floor_to

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_NANOS_PER_MICRO = 1000
_GRID_NOISE = 1e-6  # in ticks: float prices within this of a tick count as on it


# --- errors ------------------------------------------------------------------------------------------


class StrategyProblem(ValueError):
    """A strategy or its input is unusable. ``code`` is stable (the Django shell turns it into a
    ``DomainError``), ``field`` names the parameter or argument at fault when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ParameterError(StrategyProblem):
    """A parameter is unknown, of the wrong type or out of its range (codes ``unknown_parameter``,
    ``invalid_parameter``, ``parameter_out_of_range``)."""


# --- parameters --------------------------------------------------------------------------------------

T = TypeVar("T", bool, int, float, str, Decimal)


class Param(Generic[T]):
    """A typed strategy parameter, declared as a class attribute::

        class MyStrategy(Strategy):
            fast = Param(10, 2, 200, 1, help="Fast moving-average window (bars)")

    The type is the default's (int, float, bool, str or Decimal). ``minimum``/``maximum`` are inclusive
    bounds checked on every value; ``step`` spaces the values of :meth:`grid` (optimisation, UI
    spinners) and is not enforced on user values. ``choices`` restricts a value to a list (required for
    str parameters that are not free text). On an instance the attribute reads as the plain value.
    """

    def __init__(
        self,
        default: T,
        minimum: T | None = None,
        maximum: T | None = None,
        step: T | None = None,
        *,
        choices: Sequence[T] | None = None,
        help: str = "",
        label: str = "",
    ) -> None:
        self.default: T = default
        self.minimum: T | None = minimum
        self.maximum: T | None = maximum
        self.step: T | None = step
        self.choices: tuple[T, ...] | None = tuple(choices) if choices is not None else None
        self.help = help
        self.label = label
        self.name = ""
        self.kind: type = type(default)
        if self.kind not in (int, float, bool, str, Decimal):
            raise TypeError(f"a Param default must be int, float, bool, str or Decimal, not {self.kind}")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ValueError(f"Param minimum {minimum} is above its maximum {maximum}")
        if step is not None and not step > 0:  # type: ignore[operator]
            raise ValueError(f"Param step must be positive, not {step}")
        self.coerce(default)  # a default outside its own range or choices is a programming error

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if not self.label:
            self.label = name.replace("_", " ").capitalize()

    @overload
    def __get__(self, instance: None, owner: type) -> Param[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Param[T] | T:
        if instance is None:
            return self
        return cast(T, instance.__dict__["_parameters"][self.name])

    def __set__(self, instance: object, value: object) -> None:
        raise AttributeError(f"parameter {self.name} is read-only: pass it to the constructor")

    def coerce(self, value: object) -> T:
        """``value`` as this parameter's type, checked against choices and range; strings (from a
        form or a URL) are parsed. Raises :class:`ParameterError`."""
        converted = self._convert(value)
        if self.choices is not None and converted not in self.choices:
            allowed = ", ".join(str(choice) for choice in self.choices)
            raise ParameterError(
                "invalid_parameter", f"{self.name} must be one of {allowed}, not {value!r}.", self.name
            )
        if self.kind in (int, float, Decimal):
            number = cast(Any, converted)
            if self.minimum is not None and number < self.minimum:
                raise ParameterError(
                    "parameter_out_of_range",
                    f"{self.name} must be at least {self.minimum}, not {converted}.",
                    self.name,
                )
            if self.maximum is not None and number > self.maximum:
                raise ParameterError(
                    "parameter_out_of_range",
                    f"{self.name} must be at most {self.maximum}, not {converted}.",
                    self.name,
                )
        return converted

    def _convert(self, value: object) -> T:
        kind = self.kind
        converter = {bool: _to_bool, str: _to_str, int: _to_int, float: _to_float, Decimal: _to_decimal}[kind]
        # True is an int in Python, never a window length
        converted = None if isinstance(value, bool) and kind is not bool else converter(value)
        if converted is None:
            raise ParameterError(
                "invalid_parameter", f"{self.name} must be a {kind.__name__}, not {value!r}.", self.name
            )
        return cast(T, converted)

    def grid(self) -> list[T]:
        """Every value from ``minimum`` to ``maximum`` by ``step`` (bool: both; choices: the choices;
        numbers without bounds: the default alone). Decimal steps avoid float drift."""
        if self.choices is not None:
            return list(self.choices)
        values: list[Any]
        if self.kind is bool:
            values = [False, True]
        elif self.minimum is None or self.maximum is None or self.kind is str:
            values = [self.default]
        elif self.kind is int:
            values = list(range(int(self.minimum), int(self.maximum) + 1, int(self.step or 1)))
        else:
            low, high = Decimal(repr(self.minimum)), Decimal(repr(self.maximum))
            step = Decimal(repr(self.step)) if self.step is not None else (high - low) / 10 or Decimal(1)
            count = int((high - low) / step) + 1
            values = [low + step * index for index in range(count)]
            if self.kind is float:
                values = [float(value) for value in values]
        return values

    def sample(self, rng: random.Random) -> T:
        """One random value: uniform over :meth:`grid` when it has more than one value, else uniform
        in ``[minimum, maximum]`` for floats; the default when the parameter has no range."""
        values = self.grid()
        if len(values) > 1:
            return values[rng.randrange(len(values))]
        if self.kind is float and self.minimum is not None and self.maximum is not None:
            drawn: Any = rng.uniform(float(self.minimum), float(self.maximum))
            return cast(T, drawn)
        return self.default

    def describe(self) -> dict[str, object]:
        """The parameter as a UI form field (JSON-friendly: Decimals as strings)."""

        def plain(value: object) -> object:
            return str(value) if isinstance(value, Decimal) else value

        return {
            "name": self.name,
            "label": self.label,
            "type": {int: "int", float: "float", bool: "bool", str: "str", Decimal: "decimal"}[self.kind],
            "default": plain(self.default),
            "minimum": plain(self.minimum),
            "maximum": plain(self.maximum),
            "step": plain(self.step),
            "choices": None if self.choices is None else [plain(choice) for choice in self.choices],
            "help": self.help,
        }


def _to_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "on", "off"}:
        return value.strip().lower() in {"true", "1", "on"}
    return None


def _to_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _to_int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _to_float(value: object) -> float | None:
    if not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _to_decimal(value: object) -> Decimal | None:
    if not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# --- the strategy ------------------------------------------------------------------------------------


class Strategy:
    """Base class of every strategy. Subclass it, declare :class:`Param` attributes, override hooks.

    Lifecycle, per run: ``on_start(ctx)`` once before the first bar (declare indicators there),
    ``on_bar(ctx)`` after every closed bar (for several symbols: once per timestamp, after all the
    symbols' bars of that timestamp; ``ctx.has_bar(symbol)`` tells which ones are new),
    ``on_fill(ctx, fill)`` for each execution of one of its orders (before ``on_bar`` of the bar it
    happened on, with the Context still showing the previous bar), ``on_stop(ctx)`` once at the end.

    Parameters are validated by the constructor (types, ranges, then :meth:`check_parameters` for rules
    across parameters); an instance is for one run (it may keep state on ``self``), so optimisers build
    a new one per run. Prefer decisions that follow from the Context (position, open orders,
    indicators): a live deployment restarts from those.
    """

    title: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # False: written for ``ctx.symbol`` alone; deployments and backtests refuse it on several symbols
    multi_symbol: ClassVar[bool] = True

    def __init__(self, **parameters: object) -> None:
        specs = type(self).parameter_specs()
        unknown = sorted(set(parameters) - set(specs))
        if unknown:
            known = ", ".join(specs) or "none"
            raise ParameterError(
                "unknown_parameter",
                f"{type(self).__name__} has no parameter {unknown[0]!r} (parameters: {known}).",
                unknown[0],
            )
        values = {name: spec.coerce(parameters.get(name, spec.default)) for name, spec in specs.items()}
        self.__dict__["_parameters"] = values
        self.check_parameters()

    @classmethod
    def parameter_specs(cls) -> dict[str, Param[Any]]:
        """Declared parameters by name, base classes first, in declaration order."""
        specs: dict[str, Param[Any]] = {}
        for klass in reversed(cls.__mro__):
            specs.update({name: value for name, value in vars(klass).items() if isinstance(value, Param)})
        return specs

    @classmethod
    def schema(cls) -> dict[str, object]:
        """Name, title, summary and parameter fields of the strategy, for a UI form or an API."""
        return {
            "name": f"{cls.__module__}:{cls.__qualname__}",
            "title": cls.title or cls.__name__,
            "summary": cls.summary or (cls.__doc__ or "").strip().split("\n")[0],
            "parameters": [spec.describe() for spec in cls.parameter_specs().values()],
        }

    @property
    def parameters(self) -> dict[str, Any]:
        """This instance's parameter values (a copy)."""
        return dict(self.__dict__["_parameters"])

    def check_parameters(self) -> None:
        """Override to check rules between parameters; raise :class:`ParameterError`."""

    def on_start(self, ctx: Context) -> None:
        """Called once before the first bar: declare indicators, set up state."""

    def on_bar(self, ctx: Context) -> None:
        """Called after each closed bar (once per timestamp with several symbols)."""

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Called for each fill of one of the strategy's orders."""

    def on_stop(self, ctx: Context) -> None:
        """Called once after the last bar."""

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.parameters.items())
        return f"{type(self).__name__}({arguments})"


def load_strategy(path: str) -> type[Strategy]:
    """Import ``"package.module:ClassName"`` (or ``package.module.ClassName``) and check that it is a
    :class:`Strategy` subclass. Raises :class:`StrategyProblem` (``unknown_strategy``)."""
    module_name, _, class_name = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not class_name:
        raise StrategyProblem("unknown_strategy", f"{path!r} is not 'module:ClassName'.", "strategy")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StrategyProblem(
            "unknown_strategy", f"Cannot import {module_name!r}: {error}.", "strategy"
        ) from error
    klass = getattr(module, class_name, None)
    if not (isinstance(klass, type) and issubclass(klass, Strategy)) or klass is Strategy:
        raise StrategyProblem("unknown_strategy", f"{path!r} is not a Strategy subclass.", "strategy")
    return klass


def strategy_path(klass: type[Strategy]) -> str:
    """The ``"module:ClassName"`` string :func:`load_strategy` reads back."""
    return f"{klass.__module__}:{klass.__qualname__}"


# --- market data the context reads -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BarSeries:
    """One symbol's bars as columns, labelled by open time (int64 nanoseconds since the UTC epoch,
    strictly increasing). Prices sit on the instrument's tick grid (checked by :meth:`problems`).

    Build with :meth:`from_frame` (a pandas frame, e.g. from the database) or :meth:`from_bars`.
    Arrays are made read-only: the same series may be shared by many runs."""

    instrument: InstrumentSpec
    timeframe: Timeframe
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        length = len(self.open_time)
        for name in ("open_time", "open", "high", "low", "close", "volume"):
            column = np.ascontiguousarray(
                getattr(self, name), dtype=np.int64 if name == "open_time" else np.float64
            )
            if len(column) != length:
                raise StrategyProblem("invalid_data", f"{self.symbol}: column {name} has another length.")
            column.setflags(write=False)
            object.__setattr__(self, name, column)

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def __len__(self) -> int:
        return len(self.open_time)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, instrument: InstrumentSpec, timeframe: Timeframe) -> BarSeries:
        """From a frame indexed by open time (tz-aware, or naive meaning UTC) with columns open, high,
        low, close and optionally volume (any capitalisation, e.g. backtesting.py's ``Open``...)."""
        import pandas as pd

        columns = {str(name).lower(): name for name in frame.columns}
        missing = [name for name in ("open", "high", "low", "close") if name not in columns]
        if missing:
            raise StrategyProblem(
                "invalid_data", f"{instrument.symbol}: the data has no {missing[0]} column."
            )
        index = pd.DatetimeIndex(frame.index)
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        volume = (
            frame[columns["volume"]].to_numpy(dtype=np.float64, na_value=0.0)
            if "volume" in columns
            else np.zeros(len(frame))
        )
        return cls(
            instrument=instrument,
            timeframe=timeframe,
            open_time=index.as_unit("ns").asi8.astype(np.int64),
            open=frame[columns["open"]].to_numpy(dtype=np.float64),
            high=frame[columns["high"]].to_numpy(dtype=np.float64),
            low=frame[columns["low"]].to_numpy(dtype=np.float64),
            close=frame[columns["close"]].to_numpy(dtype=np.float64),
            volume=volume,
        )

    @classmethod
    def from_bars(cls, bars: Sequence[Bar], instrument: InstrumentSpec) -> BarSeries:
        """From :class:`~marketdata.domain.Bar` values of one symbol and timeframe, in time order."""
        timeframe = bars[0].timeframe if bars else Timeframe.D1
        return cls(
            instrument=instrument,
            timeframe=timeframe,
            open_time=np.array([nanos_of(bar.open_time) for bar in bars], dtype=np.int64),
            open=np.array([float(bar.open) for bar in bars]),
            high=np.array([float(bar.high) for bar in bars]),
            low=np.array([float(bar.low) for bar in bars]),
            close=np.array([float(bar.close) for bar in bars]),
            volume=np.array([float(bar.volume) for bar in bars]),
        )

    def problems(self) -> list[str]:
        """Everything wrong with the series in words (empty: sound). Checked by the engine."""
        symbol = self.symbol
        if len(self) == 0:
            return [f"{symbol} has no bars for {self.timeframe.value} in this period"]
        problems: list[str] = []
        if np.any(self.open_time[1:] <= self.open_time[:-1]):
            problems.append(f"{symbol}: bar times are not strictly increasing")
        # column by column with boolean temporaries only: a million-bar series stays cheap to check
        columns = (self.open, self.high, self.low, self.close)
        if any(not np.isfinite(column).all() or (column <= 0).any() for column in columns):
            problems.append(f"{symbol}: some prices are missing or not positive")
        elif (
            (self.high < self.open).any()
            or (self.high < self.close).any()
            or (self.low > self.open).any()
            or (self.low > self.close).any()
        ):
            problems.append(f"{symbol}: some bars have open or close outside [low, high]")
        elif any(off_grid_count(column, self.instrument.tick_size) for column in columns):
            problems.append(
                f"{symbol}: some prices are not multiples of the tick size {self.instrument.tick_size}"
            )
        if not np.isfinite(self.volume).all() or (self.volume < 0).any():
            problems.append(f"{symbol}: some volumes are missing or negative")
        return problems

    def slice(self, first: int, stop: int) -> BarSeries:
        """Rows ``[first, stop)`` as a new series (views, no copy)."""
        return BarSeries(
            self.instrument,
            self.timeframe,
            self.open_time[first:stop],
            self.open[first:stop],
            self.high[first:stop],
            self.low[first:stop],
            self.close[first:stop],
            self.volume[first:stop],
        )


def tick_fraction(tick_size: Decimal) -> Fraction:
    """The tick as an exact fraction (``Decimal("0.01")`` -> 1/100)."""
    return Fraction(tick_size)


def to_ticks(values: FloatArray, tick_size: Decimal) -> IntArray:
    """Prices as whole numbers of ticks (nearest); exact for prices on the grid."""
    tick = tick_fraction(tick_size)
    return np.rint(values * (tick.denominator / tick.numerator)).astype(np.int64)


def off_grid_count(values: FloatArray, tick_size: Decimal) -> int:
    """How many prices are not on the tick grid (beyond float noise of 1e-6 tick)."""
    tick = tick_fraction(tick_size)
    scaled = values * (tick.denominator / tick.numerator)
    nearest = np.rint(scaled)
    np.subtract(scaled, nearest, out=nearest)
    np.abs(nearest, out=nearest)
    return int(np.count_nonzero(nearest > _GRID_NOISE))


def nanos_of(value: datetime) -> int:
    """Nanoseconds since the UTC epoch of an aware datetime (exact)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * _NANOS_PER_MICRO


def datetime_of(nanos: int) -> datetime:
    """An aware UTC datetime from nanoseconds since the epoch (microsecond resolution)."""
    return _EPOCH + timedelta(microseconds=nanos // _NANOS_PER_MICRO)


# --- indicators (vectorised, causal) -----------------------------------------------------------------


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
    tick = tick_fraction(tick_size)
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
    import pandas as pd

    return cast(FloatArray, pd.Series(values).rolling(window, min_periods=window).mean().to_numpy())


def ema(values: FloatArray, window: int) -> FloatArray:
    """Exponential moving average as ``ta.trend.EMAIndicator``: ``ewm(span=window, adjust=False)``,
    defined from the ``window``-th value."""
    import pandas as pd

    _check_window(window)
    series = pd.Series(values).ewm(span=window, min_periods=window, adjust=False).mean()
    return cast(FloatArray, series.to_numpy(dtype=np.float64))


def rsi(values: FloatArray, window: int = 14) -> FloatArray:
    """Wilder's RSI as ``ta.momentum.RSIIndicator`` (``alpha = 1 / window``; 100 when there is no
    down move). Like ``ta``, the first value counts as a zero change, so RSI starts at index
    ``window - 1``."""
    import pandas as pd

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
    import pandas as pd

    for window in (fast, slow, signal):
        _check_window(window)
    if fast >= slow:
        raise StrategyProblem("invalid_indicator", "MACD fast window must be shorter than slow.", "fast")
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
    import pandas as pd

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
    import pandas as pd

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
        raise StrategyProblem(
            "invalid_indicator", f"an indicator window must be a whole number >= 1, not {window!r}."
        )


def crossings(first: FloatArray, second: FloatArray | float, *, above: bool) -> frozenset[int]:
    """Indices t where ``first`` crosses ``second``: above means ``first[t-1] <= second[t-1]`` and
    ``first[t] > second[t]``; below mirrors it. NaNs never cross. Vectorised over whole arrays."""
    other = np.broadcast_to(np.asarray(second, dtype=np.float64), first.shape)
    if len(first) < 2:
        return frozenset()
    if above:
        hits = (first[:-1] <= other[:-1]) & (first[1:] > other[1:])
    else:
        hits = (first[:-1] >= other[:-1]) & (first[1:] < other[1:])
    return frozenset((np.flatnonzero(hits) + 1).tolist())


class Series:
    """A read-only, look-ahead-proof view of one price column or indicator of one symbol.

    ``s[-1]`` is the current bar's value, ``s[-2]`` the previous one; a non-negative index counts from
    the first bar; anything beyond the current bar raises IndexError. ``values`` is a read-only array
    up to the current bar. Crossings are precomputed once per pair and then cost a set lookup."""

    __slots__ = ("_cursor", "_events", "_slot", "_values", "name")

    def __init__(self, name: str, values: FloatArray, cursor: list[int], slot: int) -> None:
        values = np.asarray(values, dtype=np.float64)
        values.setflags(write=False)
        self.name = name
        self._values = values
        self._cursor = cursor
        self._slot = slot
        self._events: dict[object, dict[int, int]] = {}

    def __len__(self) -> int:
        return self._cursor[self._slot] + 1

    def __getitem__(self, key: int) -> float:
        current = self._cursor[self._slot]
        position = current + 1 + key if key < 0 else key
        if position < 0 or position > current:
            raise IndexError(
                f"{self.name}[{key}] is outside the {current + 1} bars seen so far (no look-ahead)"
            )
        return float(self._values[position])

    def __iter__(self) -> Iterator[float]:
        return iter(self.values.tolist())

    @property
    def value(self) -> float:
        """The current bar's value (NaN during warm-up or before the symbol's first bar)."""
        current = self._cursor[self._slot]
        return float(self._values[current]) if current >= 0 else math.nan

    @property
    def previous(self) -> float:
        current = self._cursor[self._slot]
        return float(self._values[current - 1]) if current >= 1 else math.nan

    @property
    def values(self) -> FloatArray:
        """Read-only values from the first bar up to and including the current one."""
        return self._values[: self._cursor[self._slot] + 1]

    def crossed_above(self, other: Series | float) -> bool:
        """``self[-2] <= other[-2] and self[-1] > other[-1]`` (was at or below, now strictly above)."""
        return self.cross(other) == 1

    def crossed_below(self, other: Series | float) -> bool:
        """``self[-2] >= other[-2] and self[-1] < other[-1]`` (was at or above, now strictly below)."""
        return self.cross(other) == -1

    def crossing(self, other: Series | float) -> Crossing:
        """A callable answering :meth:`cross` for this pair on the current bar; the cheapest way to
        test a crossover on every bar (declare it in ``on_start``)."""
        if isinstance(other, Series) and (other._cursor is not self._cursor or other._slot != self._slot):
            return Crossing(None, self._cursor, self._slot, (self, other))
        self.cross(other)  # builds and caches the events
        key: object = other if isinstance(other, Series) else float(other)
        return Crossing(self._events[key], self._cursor, self._slot, None)

    def cross(self, other: Series | float) -> int:
        """+1 when ``self`` crossed above ``other`` on the current bar, -1 below, else 0.

        Against a number or a series of the same symbol the crossings are computed once, vectorised
        over the whole arrays (each is causal), then each bar costs one dict lookup."""
        current = self._cursor[self._slot]
        if isinstance(other, Series):
            if other._cursor is not self._cursor or other._slot != self._slot:  # another symbol's clock
                if _crossed_now(self, other, above=True):
                    return 1
                return -1 if _crossed_now(self, other, above=False) else 0
            key: object = other  # identity-hashed; holding it keeps the key unique
        else:
            key = float(other)
        events = self._events.get(key)
        if events is None:
            source: FloatArray | float = other._values if isinstance(other, Series) else float(other)
            events = dict.fromkeys(crossings(self._values, source, above=True), 1)
            events.update(dict.fromkeys(crossings(self._values, source, above=False), -1))
            self._events[key] = events
        return events.get(current, 0)

    def __repr__(self) -> str:
        return f"Series({self.name}, bars={len(self)}, value={self.value})"


class Crossing:
    """``crossing()`` -> +1 (crossed above), -1 (crossed below) or 0 on the current bar."""

    __slots__ = ("_cursor", "_events", "_pair", "_slot")

    def __init__(
        self, events: dict[int, int] | None, cursor: list[int], slot: int, pair: tuple[Series, Series] | None
    ) -> None:
        self._events = events
        self._cursor = cursor
        self._slot = slot
        self._pair = pair

    def __call__(self) -> int:
        events = self._events
        if events is not None:
            return events.get(self._cursor[self._slot], 0)
        assert self._pair is not None
        return self._pair[0].cross(self._pair[1])


def _crossed_now(first: Series, second: Series, *, above: bool) -> bool:
    if len(first) < 2 or len(second) < 2:
        return False
    a0, a1, b0, b1 = first[-2], first[-1], second[-2], second[-1]
    return (a0 <= b0 and a1 > b1) if above else (a0 >= b0 and a1 < b1)


@dataclass(frozen=True, slots=True)
class Bands:
    """Three lines of one indicator: Bollinger or Donchian (``upper``, ``middle``, ``lower``)."""

    upper: Series
    middle: Series
    lower: Series


@dataclass(frozen=True, slots=True)
class MacdLines:
    macd: Series
    signal: Series
    histogram: Series


@dataclass(frozen=True, slots=True)
class BarView:
    """The current bar of a symbol as the strategy sees it (floats; ``index`` counts its bars)."""

    symbol: str
    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    index: int


@dataclass(frozen=True, slots=True)
class History:
    """A symbol's bars up to the current one: read-only numpy views, oldest first."""

    symbol: str
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)

    def frame(self) -> pd.DataFrame:
        """The same bars as a pandas frame indexed by open time (UTC)."""
        import pandas as pd

        index = pd.DatetimeIndex(self.open_time.astype("datetime64[ns]")).tz_localize("UTC")
        return pd.DataFrame(
            {
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": self.volume,
            },
            index=index,
        )


# --- orders, signals, the broker a context talks to --------------------------------------------------


class Direction(StrEnum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class OrderRequest(NamedTuple):
    """What a strategy asked for. Exactly one of ``quantity`` / ``equity_percent`` unless
    ``close_position`` (then the quantity is the position when the order reaches the market).

    ``equity_percent`` sizes the order when it reaches the market: the largest quantity on the lot
    grid whose cost plus commission fits in that share of equity at the price it is expected to fill
    (see :func:`size_for_budget`). ``take_profit`` / ``stop_loss`` add exit legs: both make a bracket,
    one an OTO; ``stop_loss_limit`` turns the stop-loss into a stop-limit. ``oco_stop_price`` makes the
    order (a limit) one side of an OCO pair whose other side is a stop at that price.

    A NamedTuple (not a dataclass) because one is built per order in hot backtest loops."""

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal | None = None
    equity_percent: Decimal | None = None
    close_position: bool = False
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_limit: Decimal | None = None
    oco_stop_price: Decimal | None = None
    tag: str = ""


class OrderView(NamedTuple):
    """An open order as the strategy sees it. ``quantity`` is None until an ``equity_percent`` or
    ``close_position`` order has been sized at the market. ``role``: ``entry``, ``take_profit``,
    ``stop_loss``, ``oco`` or empty for a simple order."""

    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal | None
    filled_quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    role: str
    tag: str


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's view, stored and shown whether or not it trades on it. ``ts`` is the open time of
    the bar it was emitted on; ``confidence`` is in [0, 1]."""

    ts: datetime
    symbol: str
    direction: Direction
    confidence: float
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    ts: datetime
    message: str


class Broker(Protocol):
    """What a :class:`Context` needs from whatever executes orders: the backtest engine's simulated
    broker or the paper/live runtime. Quantities and money are Decimal."""

    def submit(self, request: OrderRequest) -> str:
        """Queue ``request``; return its order id. It reaches the market at the next bar/quote."""
        ...

    def cancel(self, order_id: str) -> bool:
        """Cancel an open order; False when it is unknown or already ended."""
        ...

    def open_orders(self, symbol: str | None) -> list[OrderView]: ...

    def get_order(self, order_id: str) -> OrderView | None: ...

    def position(self, symbol: str) -> PositionState: ...

    def cash(self) -> Decimal: ...

    def equity(self) -> Decimal:
        """Cash plus positions marked at the latest close the strategy has seen."""
        ...

    def record_signal(self, signal: Signal) -> None: ...

    def record_log(self, line: LogLine) -> None: ...


def size_for_budget(
    budget: Decimal, price: Decimal, *, lot_size: Decimal, commission: CommissionModel
) -> Decimal:
    """The largest quantity on the lot grid with ``quantity * price + commission <= budget`` (0 when
    not even one lot fits). The commission model must grow with quantity (all standard ones do).

    Used for ``equity_percent`` orders at the moment they reach the market, which is how an "all-in"
    order is sized: with a bps commission this is ``floor(budget / (price * (1 + bps/10000)))``."""
    if budget <= 0 or price <= 0:
        return _ZERO

    def cost(quantity: Decimal) -> Decimal:
        return quantity * price + commission.commission(quantity, price)

    most = floor_to(budget / price, lot_size)
    if most <= 0:
        return _ZERO
    if cost(most) <= budget:
        return most
    # start from the per-unit cost at the largest size, then walk a few lots to the exact boundary
    per_unit = cost(most) / most
    quantity = min(floor_to(budget / per_unit, lot_size), most)
    for _ in range(8):
        if quantity > 0 and cost(quantity) > budget:
            quantity -= lot_size
        elif quantity + lot_size <= most and cost(quantity + lot_size) <= budget:
            quantity += lot_size
        else:
            return max(quantity, _ZERO)
    low, high = 0, int(most / lot_size)  # fall back to bisection on lot counts: cost(low) fits
    while low < high:
        middle = (low + high + 1) // 2
        if cost(lot_size * middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return lot_size * low


def to_price(value: Decimal | float | int, tick_size: Decimal, *, round_up: bool) -> Decimal:
    """A price for an order. Decimal passes unchanged (validation reports an off-tick one); a float or
    int is read by its shortest decimal spelling and rounded onto the tick, up or down."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StrategyProblem("invalid_price", f"a price must be a finite number, not {value!r}.", "price")
    text = repr(value) if isinstance(value, float) else str(value)
    return (Decimal(text) / tick_size).to_integral_value(
        rounding=ROUND_CEILING if round_up else ROUND_FLOOR
    ) * tick_size


def _sizing(
    quantity: Decimal | int | None, equity_percent: Decimal | float | int | None
) -> tuple[Decimal | None, Decimal | None]:
    """``(quantity, equity_percent)`` of an order call as Decimals, exactly one of them set."""
    if (quantity is None) == (equity_percent is None):
        raise StrategyProblem("invalid_quantity", "Give either a quantity or equity_percent.", "quantity")
    if quantity is not None:
        if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int):
            raise StrategyProblem(
                "invalid_quantity", f"quantity must be a Decimal or an int, not {quantity!r}.", "quantity"
            )
        return Decimal(quantity), None
    percent = _decimal_of(equity_percent)
    if not (percent.is_finite() and percent > 0):
        raise StrategyProblem(
            "invalid_quantity", f"equity_percent must be positive, not {equity_percent}.", "equity_percent"
        )
    return None, percent


def _decimal_of(value: Decimal | float | int | None) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyProblem("invalid_number", f"expected a number, not {value!r}.")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _priced_request(
    symbol: str,
    side: Side,
    tick: Decimal,
    *,
    order_type: OrderType | str | None,
    quantity: Decimal | None,
    equity_percent: Decimal | None,
    limit_price: Decimal | float | None,
    stop_price: Decimal | float | None,
    trail_amount: Decimal | float | None,
    trail_percent: Decimal | float | None,
    take_profit: Decimal | float | None,
    stop_loss: Decimal | float | None,
    stop_loss_limit: Decimal | float | None,
) -> OrderRequest:
    """An order request with prices on the tick (floats rounded never more aggressively than asked)
    and, when ``order_type`` is None, the type the prices imply."""
    buy = side == Side.BUY

    def price(value: Decimal | float | None, *, round_up: bool) -> Decimal | None:
        return None if value is None else to_price(value, tick, round_up=round_up)

    limit = price(limit_price, round_up=not buy)
    stop = price(stop_price, round_up=buy)
    amount = price(trail_amount, round_up=True)
    percent_trail = None if trail_percent is None else _decimal_of(trail_percent)
    if order_type is not None:
        kind = OrderType(order_type)
    elif limit is not None:
        kind = OrderType.STOP_LIMIT if stop is not None else OrderType.LIMIT
    elif stop is not None:
        kind = OrderType.STOP
    else:
        trailing = amount is not None or percent_trail is not None
        kind = OrderType.TRAILING_STOP if trailing else OrderType.MARKET
    # exit legs sit on the other side: a long's take-profit rounds up, its stop-loss down
    loss = price(stop_loss, round_up=not buy)
    loss_limit = price(stop_loss_limit, round_up=not buy)
    if loss_limit is not None and loss is None:
        raise StrategyProblem("invalid_order", "stop_loss_limit needs a stop_loss.", "stop_loss_limit")
    return OrderRequest(
        symbol=symbol,
        side=side,
        order_type=kind,
        quantity=quantity,
        equity_percent=equity_percent,
        limit_price=limit,
        stop_price=stop,
        trail_amount=amount,
        trail_percent=percent_trail,
        take_profit=price(take_profit, round_up=buy),
        stop_loss=loss,
        stop_loss_limit=loss_limit,
    )


# --- the context -------------------------------------------------------------------------------------


class Context:
    """Everything a strategy sees and can do. Built by a runner (backtest engine or live runtime)
    over the bars of its symbols and a :class:`Broker`.

    ``cursor`` belongs to the runner: ``cursor[i]`` is the row of the current bar of ``symbols[i]``
    (-1 before its first bar). Strategies read; only runners move it."""

    def __init__(self, data: Sequence[BarSeries], broker: Broker) -> None:
        if not data:
            raise StrategyProblem("invalid_data", "A strategy needs at least one symbol.", "symbols")
        symbols = [series.symbol for series in data]
        if len(set(symbols)) != len(symbols):
            raise StrategyProblem("invalid_data", "Each symbol may appear once.", "symbols")
        self.symbols: tuple[str, ...] = tuple(symbols)
        self.symbol = symbols[0]
        self.cursor: list[int] = [-1] * len(data)
        self._data = list(data)
        self._slots = {symbol: slot for slot, symbol in enumerate(symbols)}
        self._broker = broker
        self._cache: dict[tuple[object, ...], object] = {}

    # --- market data -----------------------------------------------------------------------------

    def slot_of(self, symbol: str | None) -> int:
        """Index of ``symbol`` in ``symbols`` (0 for None); raises ``unknown_symbol``."""
        if symbol is None:
            return 0
        try:
            return self._slots[symbol]
        except KeyError:
            raise StrategyProblem(
                "unknown_symbol", f"{symbol} is not one of this run's symbols {self.symbols}.", "symbol"
            ) from None

    def series_data(self, symbol: str | None = None) -> BarSeries:
        """The full bar series of ``symbol`` (for runners; strategies use history/indicators)."""
        return self._data[self.slot_of(symbol)]

    @property
    def time(self) -> datetime:
        """Open time of the latest bar seen (across symbols)."""
        latest = max(
            (
                int(series.open_time[row])
                for series, row in zip(self._data, self.cursor, strict=True)
                if row >= 0
            ),
            default=None,
        )
        if latest is None:
            raise StrategyProblem("no_data_yet", "No bar has been seen yet.")
        return datetime_of(latest)

    def bar_count(self, symbol: str | None = None) -> int:
        """How many bars of ``symbol`` have been seen (0 before its first)."""
        return self.cursor[self.slot_of(symbol)] + 1

    def has_bar(self, symbol: str | None = None) -> bool:
        """True when ``symbol`` has a bar at the current timestamp (always, with one symbol)."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        if row < 0:
            return False
        if len(self._data) == 1:
            return True
        now = max(
            int(series.open_time[r]) for series, r in zip(self._data, self.cursor, strict=True) if r >= 0
        )
        return int(self._data[slot].open_time[row]) == now

    def bar(self, symbol: str | None = None) -> BarView:
        """The latest bar of ``symbol`` (its current one)."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        if row < 0:
            raise StrategyProblem("no_data_yet", f"No bar of {self.symbols[slot]} has been seen yet.")
        series = self._data[slot]
        return BarView(
            series.symbol,
            datetime_of(int(series.open_time[row])),
            float(series.open[row]),
            float(series.high[row]),
            float(series.low[row]),
            float(series.close[row]),
            float(series.volume[row]),
            row,
        )

    def close_price(self, symbol: str | None = None) -> float:
        """The current close of ``symbol`` as a float (NaN before its first bar)."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        return float(self._data[slot].close[row]) if row >= 0 else math.nan

    def price(self, symbol: str | None = None) -> Decimal:
        """The current close of ``symbol`` as an exact Decimal on its tick grid."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        if row < 0:
            raise StrategyProblem("no_data_yet", f"No bar of {self.symbols[slot]} has been seen yet.")
        series = self._data[slot]
        tick = series.instrument.tick_size
        fraction = tick_fraction(tick)
        return Decimal(round(float(series.close[row]) * fraction.denominator / fraction.numerator)) * tick

    def history(self, symbol: str | None = None, length: int | None = None) -> History:
        """The last ``length`` bars (all seen so far when None) up to the current one, as arrays."""
        slot = self.slot_of(symbol)
        stop = self.cursor[slot] + 1
        first = 0 if length is None else max(0, stop - length)
        series = self._data[slot]
        return History(
            series.symbol,
            series.open_time[first:stop],
            series.open[first:stop],
            series.high[first:stop],
            series.low[first:stop],
            series.close[first:stop],
            series.volume[first:stop],
        )

    def frame(self, symbol: str | None = None, length: int | None = None) -> pd.DataFrame:
        """:meth:`history` as a pandas frame (built on demand: slower than the arrays)."""
        return self.history(symbol, length).frame()

    # --- indicators ------------------------------------------------------------------------------

    def _cached(self, key: tuple[object, ...], build: Callable[[], object]) -> Any:
        found = self._cache.get(key)
        if found is None:
            found = build()
            self._cache[key] = found
        return found

    def _series(self, name: str, values: FloatArray, slot: int) -> Series:
        return Series(name, values, self.cursor, slot)

    def price_series(self, field: str = "close", symbol: str | None = None) -> Series:
        """A price column (open, high, low, close, volume) as a :class:`Series`."""
        if field not in ("open", "high", "low", "close", "volume"):
            raise StrategyProblem("invalid_indicator", f"no price field {field!r}.", "field")
        slot = self.slot_of(symbol)
        return cast(
            Series,
            self._cached(
                ("price", field, slot),
                lambda: self._series(f"{self.symbols[slot]}.{field}", getattr(self._data[slot], field), slot),
            ),
        )

    def sma(self, window: int, symbol: str | None = None, field: str = "close") -> Series:
        """Simple moving average of ``field`` (exact on the tick grid; see :func:`sma`)."""
        slot = self.slot_of(symbol)
        series = self._data[slot]
        tick = series.instrument.tick_size if field != "volume" else None
        return cast(
            Series,
            self._cached(
                ("sma", window, field, slot),
                lambda: self._series(f"sma({window})", sma(getattr(series, field), window, tick), slot),
            ),
        )

    def ema(self, window: int, symbol: str | None = None, field: str = "close") -> Series:
        slot = self.slot_of(symbol)
        series = self._data[slot]
        return cast(
            Series,
            self._cached(
                ("ema", window, field, slot),
                lambda: self._series(f"ema({window})", ema(getattr(series, field), window), slot),
            ),
        )

    def rsi(self, window: int = 14, symbol: str | None = None) -> Series:
        slot = self.slot_of(symbol)
        return cast(
            Series,
            self._cached(
                ("rsi", window, slot),
                lambda: self._series(f"rsi({window})", rsi(self._data[slot].close, window), slot),
            ),
        )

    def macd(self, fast: int = 12, slow: int = 26, signal: int = 9, symbol: str | None = None) -> MacdLines:
        slot = self.slot_of(symbol)

        def build() -> MacdLines:
            line, signal_line, histogram = macd(self._data[slot].close, fast, slow, signal)
            name = f"macd({fast},{slow},{signal})"
            return MacdLines(
                self._series(name, line, slot),
                self._series(f"{name}.signal", signal_line, slot),
                self._series(f"{name}.histogram", histogram, slot),
            )

        return cast(MacdLines, self._cached(("macd", fast, slow, signal, slot), build))

    def bollinger(self, window: int = 20, deviations: float = 2.0, symbol: str | None = None) -> Bands:
        slot = self.slot_of(symbol)

        def build() -> Bands:
            upper, middle, lower = bollinger(self._data[slot].close, window, deviations)
            name = f"bollinger({window},{deviations})"
            return Bands(
                self._series(f"{name}.upper", upper, slot),
                self._series(f"{name}.middle", middle, slot),
                self._series(f"{name}.lower", lower, slot),
            )

        return cast(Bands, self._cached(("bollinger", window, float(deviations), slot), build))

    def atr(self, window: int = 14, symbol: str | None = None) -> Series:
        slot = self.slot_of(symbol)
        series = self._data[slot]
        return cast(
            Series,
            self._cached(
                ("atr", window, slot),
                lambda: self._series(
                    f"atr({window})", atr(series.high, series.low, series.close, window), slot
                ),
            ),
        )

    def donchian(self, window: int = 20, symbol: str | None = None) -> Bands:
        slot = self.slot_of(symbol)

        def build() -> Bands:
            upper, middle, lower = donchian(self._data[slot].high, self._data[slot].low, window)
            name = f"donchian({window})"
            return Bands(
                self._series(f"{name}.upper", upper, slot),
                self._series(f"{name}.middle", middle, slot),
                self._series(f"{name}.lower", lower, slot),
            )

        return cast(Bands, self._cached(("donchian", window, slot), build))

    # --- account ---------------------------------------------------------------------------------

    def position(self, symbol: str | None = None) -> Decimal:
        """Signed quantity held: > 0 long, < 0 short, 0 flat."""
        return self._broker.position(self.symbols[self.slot_of(symbol)]).quantity

    def position_state(self, symbol: str | None = None) -> PositionState:
        """Quantity, average cost and realised P&L of ``symbol``."""
        return self._broker.position(self.symbols[self.slot_of(symbol)])

    @property
    def cash(self) -> Decimal:
        return self._broker.cash()

    @property
    def equity(self) -> Decimal:
        """Cash plus positions at the latest closes seen."""
        return self._broker.equity()

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        """Orders not yet ended (including those not yet at the market), oldest first."""
        return self._broker.open_orders(None if symbol is None else self.symbols[self.slot_of(symbol)])

    def get_order(self, order_id: str) -> OrderView | None:
        return self._broker.get_order(order_id)

    # --- orders ----------------------------------------------------------------------------------

    def buy(self, quantity: Decimal | int | None = None, **options: Any) -> str:
        """A buy order; options as :meth:`order`. A market order unless prices say otherwise."""
        return self.order(Side.BUY, quantity, **options)

    def sell(self, quantity: Decimal | int | None = None, **options: Any) -> str:
        """A sell order (opens or adds to a short when the position is not long enough)."""
        return self.order(Side.SELL, quantity, **options)

    def order(
        self,
        side: Side | str,
        quantity: Decimal | int | None = None,
        *,
        symbol: str | None = None,
        order_type: OrderType | str | None = None,
        limit_price: Decimal | float | None = None,
        stop_price: Decimal | float | None = None,
        trail_amount: Decimal | float | None = None,
        trail_percent: Decimal | float | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        take_profit: Decimal | float | None = None,
        stop_loss: Decimal | float | None = None,
        stop_loss_limit: Decimal | float | None = None,
        equity_percent: Decimal | float | int | None = None,
        tag: str = "",
    ) -> str:
        """Place an order; returns its id. It reaches the market at the symbol's next bar.

        ``order_type`` defaults from the prices given: limit + stop -> stop_limit, limit -> limit,
        stop -> stop, a trail -> trailing_stop, none -> market. Give ``quantity`` (Decimal or int, on
        the lot grid) or ``equity_percent`` (sized at the market, see :func:`size_for_budget`).
        ``take_profit`` / ``stop_loss`` (+ ``stop_loss_limit``) attach exit legs (bracket / OTO).
        Validation and risk checks happen when the order reaches the market; a refused order ends
        ``rejected`` with its reason code (see :meth:`get_order`)."""
        side = side if type(side) is Side else Side(side)
        slot = self.slot_of(symbol)
        size, percent = _sizing(quantity, equity_percent)
        if (
            order_type is None
            and limit_price is None
            and stop_price is None
            and trail_amount is None
            and trail_percent is None
            and take_profit is None
            and stop_loss is None
            and stop_loss_limit is None
        ):  # the common market order: no prices to read
            request = OrderRequest(self.symbols[slot], side, OrderType.MARKET, size, percent)
        else:
            request = _priced_request(
                self.symbols[slot],
                side,
                self._data[slot].instrument.tick_size,
                order_type=order_type,
                quantity=size,
                equity_percent=percent,
                limit_price=limit_price,
                stop_price=stop_price,
                trail_amount=trail_amount,
                trail_percent=trail_percent,
                take_profit=take_profit,
                stop_loss=stop_loss,
                stop_loss_limit=stop_loss_limit,
            )
        if time_in_force != TimeInForce.GTC or tag:
            request = request._replace(
                time_in_force=time_in_force
                if type(time_in_force) is TimeInForce
                else TimeInForce(time_in_force),
                tag=tag,
            )
        return self._broker.submit(request)

    def exit_oco(
        self,
        *,
        take_profit: Decimal | float,
        stop_loss: Decimal | float,
        quantity: Decimal | int | None = None,
        symbol: str | None = None,
        tag: str = "",
    ) -> str:
        """Protect an open position with two exits, one cancelling the other: a limit at
        ``take_profit`` and a stop at ``stop_loss``, for ``quantity`` (default: the whole position).
        Returns the limit order's id."""
        slot = self.slot_of(symbol)
        name = self.symbols[slot]
        held = self.position(name)
        if held == 0:
            raise StrategyProblem("no_position", f"No {name} position to protect.", "symbol")
        side = Side.SELL if held > 0 else Side.BUY
        tick = self._data[slot].instrument.tick_size
        request = OrderRequest(
            symbol=name,
            side=side,
            order_type=OrderType.LIMIT,
            quantity=abs(held) if quantity is None else Decimal(quantity),
            limit_price=to_price(take_profit, tick, round_up=side == Side.SELL),
            oco_stop_price=to_price(stop_loss, tick, round_up=side == Side.BUY),
            tag=tag,
        )
        return self._broker.submit(request)

    def close(self, symbol: str | None = None, *, cancel_orders: bool = True, tag: str = "") -> str | None:
        """Flatten ``symbol`` with a market order (sized to the position when it reaches the market);
        first cancel its open orders (exit legs included) unless ``cancel_orders`` is False. Returns
        the order id, or None when already flat."""
        slot = self.slot_of(symbol)
        name = self.symbols[slot]
        if cancel_orders:
            self.cancel_all(name)
        held = self.position(name)
        if held == 0:
            return None
        request = OrderRequest(
            symbol=name,
            side=Side.SELL if held > 0 else Side.BUY,
            order_type=OrderType.MARKET,
            close_position=True,
            tag=tag,
        )
        return self._broker.submit(request)

    def cancel(self, order_id: str) -> bool:
        """Cancel an open order (its contingent legs follow the group rules); False if not open."""
        return self._broker.cancel(order_id)

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order (of ``symbol`` when given); returns how many were canceled."""
        return sum(1 for order in self.open_orders(symbol) if self._broker.cancel(order.order_id))

    # --- sizing ----------------------------------------------------------------------------------

    def _lot(self, symbol: str | None) -> Decimal:
        return self._data[self.slot_of(symbol)].instrument.lot_size

    def size_fixed(self, quantity: Decimal | int, symbol: str | None = None) -> Decimal:
        """``quantity`` rounded down to the lot size."""
        return max(floor_to(Decimal(quantity), self._lot(symbol)), _ZERO)

    def size_percent_of_equity(
        self, percent: Decimal | float, symbol: str | None = None, price: Decimal | None = None
    ) -> Decimal:
        """The quantity worth ``percent`` % of equity at ``price`` (default: the current close),
        rounded down to the lot size. Commission is not included (``equity_percent=`` orders include
        it, sized at the market)."""
        share = Decimal(repr(percent)) if isinstance(percent, float) else percent
        at = self.price(symbol) if price is None else price
        if at <= 0:
            return _ZERO
        budget = self.equity * share / _HUNDRED
        return max(floor_to(budget / at, self._lot(symbol)), _ZERO)

    def size_atr_risk(
        self,
        risk_percent: Decimal | float,
        *,
        atr_window: int = 14,
        atr_multiple: Decimal | float = 2,
        symbol: str | None = None,
        max_percent_of_equity: Decimal | float = 100,
    ) -> Decimal:
        """Volatility sizing: risk ``risk_percent`` % of equity on a stop ``atr_multiple`` ATRs away,
        i.e. ``equity * risk% / (ATR * multiple)``, rounded down to the lot and capped at
        ``max_percent_of_equity`` % of equity at the current close. 0 while the ATR warms up."""
        value = self.atr(atr_window, symbol).value
        if not math.isfinite(value) or value <= 0:
            return _ZERO

        def decimal(number: Decimal | float) -> Decimal:
            return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)

        distance = Decimal(repr(value)) * decimal(atr_multiple)
        equity = self.equity
        quantity = floor_to(equity * decimal(risk_percent) / _HUNDRED / distance, self._lot(symbol))
        cap = self.size_percent_of_equity(decimal(max_percent_of_equity), symbol)
        return max(min(quantity, cap), _ZERO)

    # --- journal ---------------------------------------------------------------------------------

    def log(self, message: str) -> None:
        """A line in the run's log, stamped with the current bar's time (before the first bar: the
        first bar's time)."""
        if all(row < 0 for row in self.cursor):
            moment = datetime_of(min(int(series.open_time[0]) for series in self._data))
        else:
            moment = self.time
        self._broker.record_log(LogLine(moment, str(message)))

    def signal(
        self,
        direction: Direction | str,
        confidence: float = 1.0,
        *,
        stop_loss: Decimal | float | None = None,
        take_profit: Decimal | float | None = None,
        symbol: str | None = None,
        note: str = "",
    ) -> Signal:
        """Record a view (buy / sell / hold) with a confidence in [0, 1] and optional levels. A signal
        places no order; deployments store and show it."""
        slot = self.slot_of(symbol)
        tick = self._data[slot].instrument.tick_size
        if not (isinstance(confidence, int | float) and 0 <= confidence <= 1):
            raise StrategyProblem(
                "invalid_signal", f"confidence must be between 0 and 1, not {confidence!r}.", "confidence"
            )
        kind = Direction(direction)
        # rounded away from the market for a buy view's stop (down) and target (up), mirrored for sells
        buy = kind != Direction.SELL
        emitted = Signal(
            ts=self.time,
            symbol=self.symbols[slot],
            direction=kind,
            confidence=float(confidence),
            stop_loss=None if stop_loss is None else to_price(stop_loss, tick, round_up=not buy),
            take_profit=None if take_profit is None else to_price(take_profit, tick, round_up=buy),
            note=note,
        )
        self._broker.record_signal(emitted)
        return emitted
