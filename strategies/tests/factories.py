"""Test data for the strategy SDK and the backtester: instruments and bar series (pure, no Django)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from marketdata.domain import AssetClass, InstrumentSpec, Timeframe
from strategies.sdk import BarSeries, nanos_of

START = datetime(2024, 1, 2, tzinfo=UTC)


def instrument(
    symbol: str = "TEST",
    *,
    tick_size: str = "0.01",
    lot_size: str = "1",
    min_quantity: str | None = None,
    shortable: bool = True,
    tradable: bool = True,
    asset_class: AssetClass = AssetClass.STOCK,
) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        name=f"{symbol} test instrument",
        asset_class=asset_class,
        venue="TEST",
        quote_currency="USD",
        tick_size=Decimal(tick_size),
        lot_size=Decimal(lot_size),
        min_quantity=Decimal(min_quantity or lot_size),
        fractionable=False,
        shortable=shortable,
        tradable=tradable,
        data_source="test",
    )


def series(
    opens: Sequence[float],
    highs: Sequence[float] | None = None,
    lows: Sequence[float] | None = None,
    closes: Sequence[float] | None = None,
    *,
    symbol: str = "TEST",
    timeframe: Timeframe = Timeframe.D1,
    start: datetime = START,
    volume: float = 1_000_000.0,
    spec: InstrumentSpec | None = None,
) -> BarSeries:
    """Bars from columns; missing columns default to the opens (a flat bar)."""
    count = len(opens)
    opens_array = np.asarray(opens, dtype=np.float64)
    closes_array = opens_array if closes is None else np.asarray(closes, dtype=np.float64)
    highs_array = (
        np.maximum(opens_array, closes_array) if highs is None else np.asarray(highs, dtype=np.float64)
    )
    lows_array = np.minimum(opens_array, closes_array) if lows is None else np.asarray(lows, dtype=np.float64)
    first = nanos_of(start)
    step = int(timeframe.delta / timedelta(microseconds=1)) * 1000
    return BarSeries(
        instrument=spec or instrument(symbol),
        timeframe=timeframe,
        open_time=first + step * np.arange(count, dtype=np.int64),
        open=opens_array,
        high=highs_array,
        low=lows_array,
        close=closes_array,
        volume=np.full(count, volume),
    )


def from_closes(closes: Sequence[float], *, symbol: str = "TEST", **options: object) -> BarSeries:
    """Each bar opens at the previous close (the first at its own close); high/low span both."""
    closes_array = np.asarray(closes, dtype=np.float64)
    opens = np.concatenate([closes_array[:1], closes_array[:-1]])
    return series(opens, None, None, closes_array, symbol=symbol, **options)  # type: ignore[arg-type]


def random_walk(
    count: int, *, seed: int = 1, symbol: str = "TEST", start_price: float = 100.0, **options: object
) -> BarSeries:
    """A tick-grid random walk with realistic bars (reproducible by seed)."""
    rng = np.random.default_rng(seed)
    ticks = np.maximum(round(start_price * 100) + np.cumsum(np.rint(rng.normal(0, 40, count))), 100).astype(
        np.int64
    )
    opens = np.concatenate([ticks[:1], ticks[:-1]])
    highs = np.maximum(opens, ticks) + rng.integers(0, 30, count)
    lows = np.maximum(np.minimum(opens, ticks) - rng.integers(0, 30, count), 1)
    return series(opens / 100, highs / 100, lows / 100, ticks / 100, symbol=symbol, **options)  # type: ignore[arg-type]


def goog() -> BarSeries:
    """backtesting.py's bundled daily GOOG bars (2004-2013), prices on a 0.01 tick."""
    from backtesting.test import GOOG

    return BarSeries.from_frame(GOOG, instrument("GOOG"), Timeframe.D1)
