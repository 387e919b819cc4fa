"""Bars as integer columns (open times in POSIX seconds, prices in ticks, volume in lots): slicing,
joining and rolling minutes up to longer bars before anything becomes a Decimal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from marketdata.providers.simulator.prices import IntArray
from marketdata.providers.simulator.universe import SimulatedInstrument


@dataclass(frozen=True, slots=True)
class Columns:
    """Bars as integer columns: open times (POSIX seconds), prices in ticks, volume in lots."""

    open_time: IntArray
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray
    trades: IntArray | None

    def take(self, mask: npt.NDArray[np.bool_]) -> Columns:
        return Columns(
            self.open_time[mask],
            self.open[mask],
            self.high[mask],
            self.low[mask],
            self.close[mask],
            self.volume[mask],
            None if self.trades is None else self.trades[mask],
        )


def empty_columns(item: SimulatedInstrument) -> Columns:
    empty = np.zeros(0, dtype=np.int64)
    return Columns(empty, empty, empty, empty, empty, empty, None if item.avg_trade_size is None else empty)


def concat(parts: list[Columns]) -> Columns:
    trades = (
        None if parts[0].trades is None else np.concatenate([p.trades for p in parts if p.trades is not None])
    )
    return Columns(
        np.concatenate([p.open_time for p in parts]),
        np.concatenate([p.open for p in parts]),
        np.concatenate([p.high for p in parts]),
        np.concatenate([p.low for p in parts]),
        np.concatenate([p.close for p in parts]),
        np.concatenate([p.volume for p in parts]),
        trades,
    )


def roll_up(columns: Columns, step: int) -> Columns:
    """Intraday aggregation on integer columns (same rules as ``marketdata.aggregate``)."""
    if len(columns.open_time) == 0:
        return columns
    keys = columns.open_time - columns.open_time % step
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    lasts = np.concatenate((starts[1:], [len(keys)])) - 1
    return Columns(
        keys[starts],
        columns.open[starts],
        np.maximum.reduceat(columns.high, starts),
        np.minimum.reduceat(columns.low, starts),
        columns.close[lasts],
        np.add.reduceat(columns.volume, starts),
        None if columns.trades is None else np.add.reduceat(columns.trades, starts),
    )
