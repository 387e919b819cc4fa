"""``SimulatorProvider``: the simulated market behind the ``MarketDataProvider`` interface (reference
data, history as bars or a frame, quotes at an instant and a live quote stream)."""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from marketdata import calendar
from marketdata.domain import Bar, InstrumentSpec, Quote, Timeframe, ensure_utc
from marketdata.providers.base import UnknownSymbol, check_window
from marketdata.providers.simulator.columns import Columns, concat, empty_columns, roll_up
from marketdata.providers.simulator.prices import day_in_ticks, day_summary, minute_profiles, year_series
from marketdata.providers.simulator.quotes import (
    CELL_SECONDS,
    MAX_QUOTES_PER_SECOND,
    QUOTE_GRID,
    idle_quote,
    minute_quotes,
    session_quote,
)
from marketdata.providers.simulator.sessions import (
    EPOCH,
    EPOCH_ORDINAL,
    LAST_DAY,
    SECONDS_PER_DAY,
    session_table,
)
from marketdata.providers.simulator.universe import (
    BY_SYMBOL,
    UNIVERSE,
    SimulatedInstrument,
    inverse_tick_of,
    is_equity,
)

if TYPE_CHECKING:
    import pandas as pd

_RESYNC_SECONDS = 1.0


def _system_clock() -> datetime:
    return datetime.now(UTC)


class SimulatorProvider:
    """Deterministic offline market: see the package docstring. Implements ``MarketDataProvider``.

    ``clock`` gives "now" (default: the system clock); history never returns a bar that is not complete
    at ``clock()``. ``sleep`` and ``quotes_per_second`` drive ``stream_quotes``; inject a fake clock and
    a ``sleep`` that advances it to run a stream at full speed in tests.
    """

    name = "simulator"

    def __init__(
        self,
        seed: int = 7,
        clock: Callable[[], datetime] | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        quotes_per_second: float = 4.0,
    ) -> None:
        if seed < 0:
            raise ValueError("seed must not be negative")
        self.seed = seed
        self.clock = clock or _system_clock
        self.sleep = sleep or _time.sleep
        self.quotes_per_second = _check_rate(quotes_per_second)

    # -- reference data --

    def instruments(self) -> list[InstrumentSpec]:
        return [item.spec for item in UNIVERSE]

    def instrument(self, symbol: str) -> InstrumentSpec:
        return self._item(symbol).spec

    def _item(self, symbol: str) -> SimulatedInstrument:
        item = BY_SYMBOL.get(symbol)
        if item is None:
            raise UnknownSymbol(symbol, self.name)
        return item

    def _now(self) -> datetime:
        return ensure_utc(self.clock())

    # -- history --

    def history(self, symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime) -> list[Bar]:
        """Decimal bars with ``start <= open_time < end`` complete at ``clock()``: prices on the tick
        grid, volume on the lot grid; daily bars labelled as in ``marketdata.aggregate``."""
        item = self._item(symbol)
        target = Timeframe.parse(timeframe)
        columns = self._columns(item, target, start, end)
        tick, lot = item.spec.tick_size, item.spec.lot_size
        times = [datetime.fromtimestamp(seconds, UTC) for seconds in columns.open_time.tolist()]
        trades: list[int] | list[None] = (
            columns.trades.tolist() if columns.trades is not None else [None] * len(times)
        )
        distinct = np.unique(
            np.concatenate((columns.open, columns.high, columns.low, columns.close))
        ).tolist()
        price = {ticks: Decimal(ticks) * tick for ticks in distinct}  # prices repeat a lot: convert once
        return [
            Bar(symbol, target, at, price[o], price[h], price[lo], price[c], Decimal(v) * lot, n)
            for at, o, h, lo, c, v, n in zip(
                times,
                columns.open.tolist(),
                columns.high.tolist(),
                columns.low.tolist(),
                columns.close.tolist(),
                columns.volume.tolist(),
                trades,
                strict=True,
            )
        ]

    def history_frame(
        self, symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """The same bars as ``history`` as a frame: ``open_time`` (datetime64[ns, UTC]), float64
        ``open/high/low/close/volume`` (the nearest doubles to the Decimal values) and nullable Int64
        ``trade_count``."""
        import pandas as pd

        item = self._item(symbol)
        columns = self._columns(item, Timeframe.parse(timeframe), start, end)
        inverse_tick = inverse_tick_of(item.spec)
        lot = item.spec.lot_size
        inverse_lot = 1 / lot
        volume: npt.NDArray[Any]
        if inverse_lot == inverse_lot.to_integral_value():  # exact division gives the nearest double
            volume = columns.volume / float(inverse_lot)
        else:
            volume = columns.volume * float(lot)
        trades = (
            pd.array(columns.trades, dtype="Int64")
            if columns.trades is not None
            else pd.array([None] * len(columns.open_time), dtype="Int64")
        )
        return pd.DataFrame(
            {
                "open_time": pd.to_datetime(columns.open_time, unit="s", utc=True).astype(
                    "datetime64[ns, UTC]"
                ),
                "open": columns.open / inverse_tick,
                "high": columns.high / inverse_tick,
                "low": columns.low / inverse_tick,
                "close": columns.close / inverse_tick,
                "volume": volume,
                "trade_count": trades,
            }
        )

    def _columns(
        self, item: SimulatedInstrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> Columns:
        start, end = check_window(start, end)
        now = self._now()
        first = datetime.combine(EPOCH, datetime.min.time(), tzinfo=UTC)
        last = datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        start, end = max(start, first), min(end, last)
        if start >= end:
            return empty_columns(item)
        if timeframe is Timeframe.D1:
            return self._daily_columns(item, start, end, now)
        return self._intraday_columns(item, timeframe, start, end, now)

    def _daily_columns(
        self, item: SimulatedInstrument, start: datetime, end: datetime, now: datetime
    ) -> Columns:
        kind = item.spec.asset_class
        symbol = item.spec.symbol
        rows: list[tuple[int, int, int, int, int, int, int | None]] = []
        for day in calendar.session_days(kind, start.date(), end.date() + timedelta(days=1)):
            bounds = calendar.session_bounds(kind, day)
            assert bounds is not None
            label = bounds[0] if is_equity(kind) else datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            if not start <= label < end or bounds[1] > now:
                continue
            summary = day_summary(self.seed, symbol, day.toordinal())
            assert summary is not None
            rows.append((int(label.timestamp()), *summary))
        if not rows:
            return empty_columns(item)
        table = list(zip(*rows, strict=True))
        trades = None if item.avg_trade_size is None else np.array(table[6], dtype=np.int64)
        opens, highs, lows, closes, volumes = (np.array(table[i], dtype=np.int64) for i in range(1, 6))
        return Columns(np.array(table[0], dtype=np.int64), opens, highs, lows, closes, volumes, trades)

    def _intraday_columns(
        self, item: SimulatedInstrument, timeframe: Timeframe, start: datetime, end: datetime, now: datetime
    ) -> Columns:
        kind = item.spec.asset_class
        step = timeframe.seconds
        low = math.floor(start.timestamp() / step) * step  # whole buckets, so bars never depend on the window
        high = math.ceil(end.timestamp() / step) * step
        first_day = datetime.fromtimestamp(low, UTC).date()
        last_day = datetime.fromtimestamp(high - 1, UTC).date()
        parts: list[Columns] = []
        for day in calendar.session_days(kind, first_day, last_day + timedelta(days=1)):
            built = day_in_ticks(self.seed, item.spec.symbol, day.toordinal())
            assert built is not None
            midnight = (day.toordinal() - EPOCH_ORDINAL) * SECONDS_PER_DAY
            times = midnight + (built.path.first_minute + np.arange(built.size, dtype=np.int64)) * 60
            columns = Columns(
                times,
                built.open_t,
                built.high_t,
                built.low_t,
                built.close_t,
                built.path.volume,
                built.path.trades,
            )
            parts.append(columns.take((times >= low) & (times < high)))
        if not parts:
            return empty_columns(item)
        merged = concat(parts)
        if timeframe is not Timeframe.M1:
            merged = roll_up(merged, step)
        complete = merged.open_time + step <= now.timestamp()
        inside = (merged.open_time >= start.timestamp()) & (merged.open_time < end.timestamp())
        return merged.take(complete & inside)

    # -- quotes --

    def latest_quote(self, symbol: str) -> Quote | None:
        """The quote at ``clock()`` (see ``quote_at``)."""
        return self.quote_at(symbol, self._now())

    def quote_at(self, symbol: str, at: datetime) -> Quote | None:
        """The deterministic quote at instant ``at``; None before ``EPOCH``. In session the price
        follows the sub-minute path; outside it (stocks, forex weekends) ``last`` is the last session's
        close, ``volume`` that session's volume, and ``prev_close`` the close of the session before."""
        item = self._item(symbol)
        at = ensure_utc(at)
        if at.date() < EPOCH or at.date() > LAST_DAY:
            return None
        kind = item.spec.asset_class
        if calendar.is_open(kind, at):
            return session_quote(self.seed, item, at)
        return idle_quote(self.seed, item, at)

    def stream_quotes(
        self,
        symbols: Sequence[str],
        *,
        until: datetime | None = None,
        quotes_per_second: float | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Iterator[Quote]:
        """Live quotes for ``symbols`` while their markets are open, until ``until`` (exclusive).

        Each open symbol gets ``round(60 * rate)`` quotes a minute (rate at most
        ``MAX_QUOTES_PER_SECOND``), stamped on the 250 ms path grid and always including the minute's
        first (open) and last (close) grid points; at the default 4/s that is one every 250 ms. All
        symbols of a tick share its timestamp and equal ``quote_at(symbol, ts)``. Between ticks the
        stream calls ``sleep``; while every market is closed it sleeps until the next open. If the
        consumer falls more than a second behind, the stream skips ahead to the present instead of
        replaying missed quotes. Unknown symbols raise ``UnknownSymbol`` at once.
        """
        items = [self._item(symbol) for symbol in symbols]
        rate = self.quotes_per_second if quotes_per_second is None else _check_rate(quotes_per_second)
        stop = ensure_utc(until) if until is not None else None
        return self._stream(items, rate, stop, sleep or self.sleep)

    def _stream(
        self,
        items: list[SimulatedInstrument],
        rate: float,
        until: datetime | None,
        sleep: Callable[[float], None],
    ) -> Iterator[Quote]:
        per_minute = max(1, min(QUOTE_GRID, round(60 * rate)))
        cells = (
            [round(k * (QUOTE_GRID - 1) / (per_minute - 1)) for k in range(per_minute)]
            if per_minute > 1
            else [QUOTE_GRID - 1]
        )
        offsets = [timedelta(seconds=cell * CELL_SECONDS) for cell in cells]
        if not items:
            return
        first_instant = datetime.combine(EPOCH, datetime.min.time(), tzinfo=UTC)

        def position(at: datetime) -> tuple[datetime, int]:
            """The first tick at or after ``at``."""
            minute = at.replace(second=0, microsecond=0)
            for index, offset in enumerate(offsets):
                if minute + offset >= at:
                    return minute, index
            return minute + timedelta(minutes=1), 0

        minute, index = position(max(self._now(), first_instant))
        while True:
            ts = minute + offsets[index]
            if until is not None and ts >= until:
                return
            open_items = [item for item in items if calendar.is_open(item.spec.asset_class, ts)]
            if not open_items:  # all markets closed: wait for the first to open (or for ``until``)
                opens = [calendar.next_open(item.spec.asset_class, ts) for item in items]
                reopen = min(moment for moment in opens if moment is not None)
                if until is not None and reopen >= until:
                    wait = (until - self._now()).total_seconds()
                    if wait > 0:
                        sleep(wait)
                    return
                minute, index = position(reopen)
                continue
            wait = (ts - self._now()).total_seconds()
            if wait > 0:
                sleep(wait)
            elif -wait > _RESYNC_SECONDS:
                minute, index = position(self._now())
                continue
            for item in open_items:
                yield session_quote(self.seed, item, ts)
            index += 1
            if index == len(offsets):
                minute, index = minute + timedelta(minutes=1), 0


def _check_rate(rate: float) -> float:
    if not 0 < rate <= MAX_QUOTES_PER_SECOND:
        raise ValueError(f"quotes_per_second must be in (0, {MAX_QUOTES_PER_SECOND:g}], got {rate}")
    return float(rate)


def clear_caches() -> None:
    """Drop every memoised series, day and minute (to free memory; results never change)."""
    for cached in (session_table, year_series, minute_profiles, day_in_ticks, day_summary, minute_quotes):
        cached.cache_clear()
