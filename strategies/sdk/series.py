"""What a strategy reads: look-ahead-proof Series, crossings, bands, the current bar and its history
(pure, no Django)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from strategies.sdk.bars import FloatArray, IntArray

if TYPE_CHECKING:
    import pandas as pd


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
