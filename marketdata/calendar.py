"""Trading sessions per asset class (pure, no Django): when a market is open, its next open and close.

- Stocks and ETFs: NYSE (XNYS) regular hours only, with holidays and early closes, from
  pandas_market_calendars. The schedule is computed once per decade block and cached, so a lookup is
  a bisect over plain integers (10,000 ``is_open`` calls take a few milliseconds).
- Crypto: always open. ``next_open``/``next_close`` return None; a "session" is a UTC calendar day.
- Forex: 24/5, open from Sunday 17:00 to Friday 17:00 America/New_York (so 21:00 or 22:00 UTC
  depending on US daylight saving). No holidays. ``session_bounds`` cuts that window at UTC midnights,
  matching the daily-bar convention of ``marketdata.aggregate``.

Intervals are half-open: a market is open at ``t`` when ``open <= t < close``. Every datetime in and
out is timezone-aware UTC; naive input raises ValueError.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from marketdata.domain import AssetClass, ensure_utc

NEW_YORK = ZoneInfo("America/New_York")
FX_ROLL = time(17, 0)  # forex opens Sunday and closes Friday at this New York wall time
_BLOCK_YEARS = 10
_SUNDAY = 6
_SATURDAY = 5
_FRIDAY = 4


@dataclass(frozen=True, slots=True)
class _Sessions:
    """NYSE sessions of one decade block, as parallel sorted lists of POSIX seconds."""

    days: list[date]
    opens: list[int]
    closes: list[int]
    by_day: dict[date, tuple[int, int]]


@lru_cache(maxsize=32)
def _nyse_block(block: int) -> _Sessions:
    import pandas_market_calendars as mcal  # deferred: importing pandas costs ~0.5 s

    first_year = block * _BLOCK_YEARS
    schedule = mcal.get_calendar("XNYS").schedule(
        start_date=f"{first_year}-01-01", end_date=f"{first_year + _BLOCK_YEARS - 1}-12-31"
    )
    days = [stamp.date() for stamp in schedule.index]
    opens = [int(stamp.timestamp()) for stamp in schedule["market_open"]]
    closes = [int(stamp.timestamp()) for stamp in schedule["market_close"]]
    by_day = {day: (open_, close) for day, open_, close in zip(days, opens, closes, strict=True)}
    return _Sessions(days=days, opens=opens, closes=closes, by_day=by_day)


def _block_of(year: int) -> int:
    return year // _BLOCK_YEARS


def _from_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _asset_class(value: AssetClass | str) -> AssetClass:
    return value if isinstance(value, AssetClass) else AssetClass(value)


def _uses_exchange(asset_class: AssetClass) -> bool:
    return asset_class in (AssetClass.STOCK, AssetClass.ETF)


def _ny_wall(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=NEW_YORK).astimezone(UTC)


def _check_day(day: date) -> date:
    if isinstance(day, datetime):
        raise TypeError("pass a date, not a datetime")
    return day


# --- forex ----------------------------------------------------------------------------------------


def _fx_is_open(at: datetime) -> bool:
    local = at.astimezone(NEW_YORK)
    weekday = local.weekday()
    if weekday == _SATURDAY:
        return False
    if weekday == _SUNDAY:
        return local.time() >= FX_ROLL
    if weekday == _FRIDAY:
        return local.time() < FX_ROLL
    return True


def _fx_next(at: datetime, weekday: int) -> datetime:
    """First ``weekday`` 17:00 New York strictly after ``at``."""
    local_day = at.astimezone(NEW_YORK).date()
    candidate_day = local_day + timedelta(days=(weekday - local_day.weekday()) % 7)
    candidate = _ny_wall(candidate_day, FX_ROLL)
    if candidate <= at:
        candidate = _ny_wall(candidate_day + timedelta(days=7), FX_ROLL)
    return candidate


# --- public API -------------------------------------------------------------------------------------


def is_open(asset_class: AssetClass | str, at: datetime) -> bool:
    """True when the market for ``asset_class`` trades at instant ``at`` (``open <= at < close``)."""
    kind = _asset_class(asset_class)
    at = ensure_utc(at)
    if kind is AssetClass.CRYPTO:
        return True
    if kind is AssetClass.FOREX:
        return _fx_is_open(at)
    sessions = _nyse_block(_block_of(at.year))
    seconds = at.timestamp()
    index = bisect.bisect_right(sessions.opens, seconds) - 1
    return index >= 0 and seconds < sessions.closes[index]


def next_open(asset_class: AssetClass | str, at: datetime) -> datetime | None:
    """The first session open strictly after ``at`` (so the *next* one even while open). None for
    crypto, which never closes."""
    kind = _asset_class(asset_class)
    at = ensure_utc(at)
    if kind is AssetClass.CRYPTO:
        return None
    if kind is AssetClass.FOREX:
        return _fx_next(at, _SUNDAY)
    return _from_seconds(_next_boundary(at, opens=True))


def next_close(asset_class: AssetClass | str, at: datetime) -> datetime | None:
    """The first session close strictly after ``at`` (the current session's close while open). None
    for crypto."""
    kind = _asset_class(asset_class)
    at = ensure_utc(at)
    if kind is AssetClass.CRYPTO:
        return None
    if kind is AssetClass.FOREX:
        return _fx_next(at, _FRIDAY)
    return _from_seconds(_next_boundary(at, opens=False))


def _next_boundary(at: datetime, *, opens: bool) -> int:
    seconds = at.timestamp()
    block = _block_of(at.year)
    sessions = _nyse_block(block)
    values = sessions.opens if opens else sessions.closes
    index = bisect.bisect_right(values, seconds)
    if index < len(values):
        return values[index]
    following = _nyse_block(block + 1)
    return following.opens[0] if opens else following.closes[0]


def session_bounds(asset_class: AssetClass | str, day: date) -> tuple[datetime, datetime] | None:
    """``(open, close)`` in UTC of the session for calendar ``day``, or None when there is none.

    Stocks/ETFs: the NYSE regular session of that New York date (None on weekends and holidays; early
    closes end early). Crypto: the UTC day. Forex: the part of the UTC day inside the 24/5 window, so
    Sunday starts at 17:00 New York, Friday ends at 17:00 New York, Saturday is None.
    """
    kind = _asset_class(asset_class)
    day = _check_day(day)
    if _uses_exchange(kind):
        bounds = _nyse_block(_block_of(day.year)).by_day.get(day)
        if bounds is None:
            return None
        return _from_seconds(bounds[0]), _from_seconds(bounds[1])
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    next_midnight = midnight + timedelta(days=1)
    if kind is AssetClass.CRYPTO:
        return midnight, next_midnight
    return _fx_day_bounds(day, midnight, next_midnight)


def _fx_day_bounds(
    day: date, midnight: datetime, next_midnight: datetime
) -> tuple[datetime, datetime] | None:
    weekday = day.weekday()
    if weekday == _SATURDAY:
        return None
    start = _ny_wall(day, FX_ROLL) if weekday == _SUNDAY else midnight
    end = _ny_wall(day, FX_ROLL) if weekday == _FRIDAY else next_midnight
    return start, end


def session_days(asset_class: AssetClass | str, start: date, end: date) -> list[date]:
    """Calendar days in ``[start, end)`` that have a session (see ``session_bounds``)."""
    kind = _asset_class(asset_class)
    start, end = _check_day(start), _check_day(end)
    if start >= end:
        return []
    if _uses_exchange(kind):
        days: list[date] = []
        for block in range(_block_of(start.year), _block_of(end.year) + 1):
            block_days = _nyse_block(block).days
            low = bisect.bisect_left(block_days, start)
            high = bisect.bisect_left(block_days, end)
            days.extend(block_days[low:high])
        return days
    count = (end - start).days
    every_day = [start + timedelta(days=offset) for offset in range(count)]
    if kind is AssetClass.CRYPTO:
        return every_day
    return [day for day in every_day if day.weekday() != _SATURDAY]
