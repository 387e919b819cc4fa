"""The bars a Context reads (one symbol's columns as numpy arrays) and the tick and time conversions
around them (pure, no Django)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from marketdata.domain import Bar, InstrumentSpec, Timeframe
from strategies.sdk.errors import StrategyProblem

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANOS_PER_MICRO = 1000
_GRID_NOISE = 1e-6  # in ticks: float prices within this of a tick count as on it


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
