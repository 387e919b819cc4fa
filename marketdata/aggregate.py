"""Rolling bars up into wider bars (pure, no Django): list and pandas versions, and a live bar builder.

Conventions (every bar is labelled by its OPEN time, aware UTC):

- Intraday targets (5m, 15m, 1h) use buckets aligned to multiples of the width since the UTC epoch,
  whatever the session: a stock's 13:30 UTC open falls in the 13:00 hourly bar, which then holds
  only 13:30-13:59. Buckets without input bars produce no output bar (no empty/flat bars).
- Daily target (1d): input bars are grouped by their UTC calendar date, and each day's bar is labelled
  by ``session_anchor(date)``. For stocks/ETFs that is the UTC open time of the day's regular session
  (e.g. 14:30 UTC in winter, 13:30 UTC in summer), i.e. the open time of the first minute of the
  trading day; for crypto and forex it is 00:00 UTC (a forex Sunday is a short day, from the 17:00
  New York open to midnight UTC). Regular-hours stock sessions never cross a UTC midnight, so the UTC
  date is the New York trading date.
- open = first open, high = max high, low = min low, close = last close, volume = sum, trade_count =
  sum (None as soon as one input count is None).

``aggregate`` (Decimal bars) and ``aggregate_frame`` (a pandas frame, any numeric or Decimal object
dtype) give identical results; ``aggregate_frame`` is the one to use on millions of rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from marketdata import calendar
from marketdata.domain import AssetClass, Bar, Quote, Timeframe, ensure_utc

if TYPE_CHECKING:
    import pandas as pd

DayLabel = Callable[[date], datetime]
"""Maps a UTC calendar date to the open-time label of that day's daily bar."""

FRAME_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "trade_count")
_NS_PER_SECOND = 1_000_000_000


def utc_midnight(day: date) -> datetime:
    """Daily label for crypto and forex: 00:00 UTC of ``day``."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def exchange_session_open(day: date) -> datetime:
    """Daily label for stocks/ETFs: the NYSE session open of ``day`` in UTC (midnight if no session,
    which only happens for bars outside the calendar)."""
    bounds = calendar.session_bounds(AssetClass.STOCK, day)
    return bounds[0] if bounds is not None else utc_midnight(day)


def daily_label_for(asset_class: AssetClass | str) -> DayLabel:
    """The daily-bar labelling convention for ``asset_class``."""
    kind = asset_class if isinstance(asset_class, AssetClass) else AssetClass(asset_class)
    return exchange_session_open if kind in (AssetClass.STOCK, AssetClass.ETF) else utc_midnight


def _resolve_anchor(session_anchor: DayLabel | AssetClass | str) -> DayLabel:
    if isinstance(session_anchor, str):  # AssetClass is a str
        return daily_label_for(session_anchor)
    return session_anchor


def _check_widths(source: Timeframe, target: Timeframe) -> None:
    if not source.is_intraday:
        raise ValueError(f"cannot aggregate {source.value} bars: only intraday bars roll up")
    if target.is_intraday and (target.seconds % source.seconds or target.seconds < source.seconds):
        raise ValueError(f"cannot roll {source.value} bars into {target.value}: widths do not divide")


def aggregate(
    bars: Sequence[Bar],
    timeframe: Timeframe | str,
    *,
    session_anchor: DayLabel | AssetClass | str = utc_midnight,
) -> list[Bar]:
    """Roll ``bars`` (one symbol, one intraday timeframe, strictly increasing open times) into
    ``timeframe`` bars; see the module docstring for bucket and label conventions. ``session_anchor``
    only matters for daily output: a ``DayLabel`` or an asset class (``daily_label_for``)."""
    target = Timeframe.parse(timeframe)
    if not bars:
        return []
    first = bars[0]
    _check_widths(first.timeframe, target)
    anchor = _resolve_anchor(session_anchor)
    step = target.seconds
    out: list[Bar] = []
    labels: dict[date, datetime] = {}
    key: object = None
    previous_time: datetime | None = None
    label = first.open_time
    open_ = high = low = close = volume = Decimal(0)
    trade_count: int | None = 0

    def emit() -> None:
        out.append(Bar(first.symbol, target, label, open_, high, low, close, volume, trade_count))

    for bar in bars:
        if bar.symbol != first.symbol or bar.timeframe is not first.timeframe:
            raise ValueError("aggregate takes bars of one symbol and one timeframe")
        at = ensure_utc(bar.open_time)
        if previous_time is not None and at <= previous_time:
            raise ValueError(f"bars must be in strictly increasing open_time order (at {at.isoformat()})")
        previous_time = at
        if target.is_intraday:
            seconds = math.floor(at.timestamp())
            bar_key: object = seconds - seconds % step
        else:
            bar_key = at.date()
        if bar_key != key:
            if key is not None:
                emit()
            key = bar_key
            if isinstance(bar_key, int):
                label = datetime.fromtimestamp(bar_key, UTC)
            else:
                assert isinstance(bar_key, date)
                if bar_key not in labels:
                    labels[bar_key] = ensure_utc(anchor(bar_key))
                label = labels[bar_key]
            open_, high, low, close, volume = bar.open, bar.high, bar.low, bar.close, bar.volume
            trade_count = bar.trade_count
            continue
        high = max(high, bar.high)
        low = min(low, bar.low)
        close = bar.close
        volume += bar.volume
        trade_count = (
            None if trade_count is None or bar.trade_count is None else trade_count + bar.trade_count
        )
    emit()
    return out


# --- pandas ----------------------------------------------------------------------------------------


def aggregate_frame(
    frame: pd.DataFrame,
    timeframe: Timeframe | str,
    *,
    session_anchor: DayLabel | AssetClass | str = utc_midnight,
) -> pd.DataFrame:
    """Vectorised ``aggregate`` over a frame with ``FRAME_COLUMNS`` (``trade_count`` optional), sorted
    by strictly increasing ``open_time`` (aware). Price/volume columns keep their dtype (float64, int64
    or Decimal objects); ``trade_count`` comes back as nullable ``Int64``. The input's width is not
    known to a frame, so the caller makes sure it divides ``timeframe``."""
    import numpy as np
    import pandas as pd

    target = Timeframe.parse(timeframe)
    times = _utc_times(frame["open_time"])
    stamps = times.array.asi8
    if len(stamps) > 1 and not bool(np.all(stamps[1:] > stamps[:-1])):
        raise ValueError("frame must be in strictly increasing open_time order")
    if len(stamps) == 0:
        empty = frame.iloc[0:0][[c for c in FRAME_COLUMNS if c in frame.columns]].copy()
        empty["open_time"] = times.iloc[0:0]
        return empty.reset_index(drop=True)

    if target.is_intraday:
        step = target.seconds * _NS_PER_SECOND
        keys = stamps - stamps % step
        label_ns = keys
    else:
        day_ns = 86_400 * _NS_PER_SECOND
        keys = stamps - stamps % day_ns
        anchor = _resolve_anchor(session_anchor)
        unique_days = np.unique(keys)
        label_of = {
            int(day): int(pd.Timestamp(ensure_utc(anchor(pd.Timestamp(int(day), tz=UTC).date()))).value)
            for day in unique_days
        }
        label_ns = np.array([label_of[int(day)] for day in keys], dtype="int64")

    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    lasts = np.concatenate((starts[1:], [len(keys)])) - 1

    def column(name: str) -> Any:
        return frame[name].to_numpy()

    result: dict[str, object] = {
        "open_time": pd.DatetimeIndex(label_ns[starts].astype("datetime64[ns]")).tz_localize(UTC),
        "open": column("open")[starts],
        "high": np.maximum.reduceat(column("high"), starts),
        "low": np.minimum.reduceat(column("low"), starts),
        "close": column("close")[lasts],
        "volume": np.add.reduceat(column("volume"), starts),
    }
    if "trade_count" in frame.columns:
        counts = frame["trade_count"]
        missing = counts.isna().to_numpy()
        filled = counts.fillna(0).to_numpy(dtype="int64")
        sums = np.add.reduceat(filled, starts)
        any_missing = np.logical_or.reduceat(missing, starts)
        result["trade_count"] = pd.arrays.IntegerArray(sums, any_missing)
    return pd.DataFrame(result)


def _utc_times(values: pd.Series) -> pd.Series:
    import pandas as pd

    series = pd.Series(values)
    if getattr(series.dt, "tz", None) is None:
        raise ValueError("open_time must be timezone-aware")
    return series.dt.tz_convert(UTC).astype("datetime64[ns, UTC]")


def bars_to_frame(bars: Sequence[Bar], *, exact: bool = False) -> pd.DataFrame:
    """Bars as a frame with ``FRAME_COLUMNS``: float64 prices/volume, or Decimal objects if ``exact``."""
    import pandas as pd

    def values(name: str) -> list[object]:
        if exact:
            return [getattr(bar, name) for bar in bars]
        return [float(getattr(bar, name)) for bar in bars]

    return pd.DataFrame(
        {
            "open_time": pd.DatetimeIndex([bar.open_time for bar in bars], dtype="datetime64[ns, UTC]"),
            "open": pd.Series(values("open"), dtype=object if exact else "float64"),
            "high": pd.Series(values("high"), dtype=object if exact else "float64"),
            "low": pd.Series(values("low"), dtype=object if exact else "float64"),
            "close": pd.Series(values("close"), dtype=object if exact else "float64"),
            "volume": pd.Series(values("volume"), dtype=object if exact else "float64"),
            "trade_count": pd.array([bar.trade_count for bar in bars], dtype="Int64"),
        }
    )


def frame_to_bars(
    frame: pd.DataFrame,
    *,
    symbol: str,
    timeframe: Timeframe | str,
    tick_size: Decimal | None = None,
    lot_size: Decimal | None = None,
) -> list[Bar]:
    """Frame rows back to Decimal bars. Floats go through their shortest repr (``123.45`` stays
    exactly 123.45); give ``tick_size``/``lot_size`` to quantise prices/volume (float sums drift)."""
    target = Timeframe.parse(timeframe)
    times = _utc_times(frame["open_time"])
    import pandas as pd

    counts: list[int | None] = (
        [None if pd.isna(count) else int(count) for count in frame["trade_count"].tolist()]
        if "trade_count" in frame.columns
        else [None] * len(frame)
    )

    def decimals(name: str, step: Decimal | None) -> list[Decimal]:
        out = [_to_decimal(value) for value in frame[name].tolist()]
        if step is not None:
            out = [(value / step).to_integral_value() * step for value in out]
        return out

    opens, highs = decimals("open", tick_size), decimals("high", tick_size)
    lows, closes = decimals("low", tick_size), decimals("close", tick_size)
    volumes = decimals("volume", lot_size)
    return [
        Bar(
            symbol,
            target,
            stamp.to_pydatetime(),
            opens[i],
            highs[i],
            lows[i],
            closes[i],
            volumes[i],
            counts[i],
        )
        for i, stamp in enumerate(times)
    ]


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(str(value))


# --- live ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Working:
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trade_count: int


class BarBuilder:
    """Builds intraday bars (1m by default) from a live stream of trades or quotes.

    Feed updates in time order; each call returns the bars it closed (a bar closes when an update
    falls into a later bucket, or when ``flush(now)`` is called at or after the bar's end). Buckets
    without updates produce no bar. Updates older than the working bar are dropped and counted in
    ``dropped``. For quotes, the trade size is the increase of the quote's cumulative ``volume`` (0 for
    the first quote seen, and the full volume after a session reset), and ``trade_count`` counts the
    updates that carried volume.
    """

    def __init__(self, symbol: str, timeframe: Timeframe | str = Timeframe.M1) -> None:
        self.symbol = symbol
        self.timeframe = Timeframe.parse(timeframe)
        if not self.timeframe.is_intraday:
            raise ValueError("BarBuilder builds intraday bars; roll daily bars up with aggregate()")
        self.dropped = 0
        self._step = self.timeframe.seconds
        self._working: _Working | None = None
        self._last_volume: Decimal | None = None

    @property
    def current(self) -> Bar | None:
        """The bar being built (not closed yet), if any."""
        return None if self._working is None else self._to_bar(self._working)

    def add_trade(self, price: Decimal, size: Decimal, ts: datetime) -> list[Bar]:
        """One trade print: counts as one trade."""
        return self._update(price, size, ensure_utc(ts), counted=True)

    def add_quote(self, quote: Quote) -> list[Bar]:
        """One quote; ``quote.last`` is the price, the growth of ``quote.volume`` the size."""
        if self._last_volume is None:
            size = Decimal(0)
        elif quote.volume >= self._last_volume:
            size = quote.volume - self._last_volume
        else:  # a new session restarted the cumulative volume
            size = quote.volume
        self._last_volume = quote.volume
        return self._update(quote.last, size, ensure_utc(quote.ts), counted=size > 0)

    def flush(self, now: datetime) -> list[Bar]:
        """Close the working bar if ``now`` is at or past its end (call on a timer in quiet markets)."""
        working = self._working
        if working is None or ensure_utc(now) < working.open_time + self.timeframe.delta:
            return []
        self._working = None
        return [self._to_bar(working)]

    def _update(self, price: Decimal, size: Decimal, at: datetime, *, counted: bool) -> list[Bar]:
        if price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        if size < 0:
            raise ValueError(f"size must not be negative, got {size}")
        seconds = math.floor(at.timestamp())
        bucket = datetime.fromtimestamp(seconds - seconds % self._step, UTC)
        working = self._working
        closed: list[Bar] = []
        if working is not None and bucket < working.open_time:
            self.dropped += 1
            return closed
        if working is not None and bucket > working.open_time:
            closed.append(self._to_bar(working))
            working = None
        if working is None:
            self._working = _Working(bucket, price, price, price, price, size, int(counted))
            return closed
        working.high = max(working.high, price)
        working.low = min(working.low, price)
        working.close = price
        working.volume += size
        working.trade_count += int(counted)
        return closed

    def _to_bar(self, working: _Working) -> Bar:
        return Bar(
            self.symbol,
            self.timeframe,
            working.open_time,
            working.open,
            working.high,
            working.low,
            working.close,
            working.volume,
            working.trade_count,
        )
