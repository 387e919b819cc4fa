"""The simulator's calendar: the simulated span of days, each asset class's session minutes per day
(from ``marketdata.calendar``), and minutes counted from the POSIX epoch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from marketdata import calendar
from marketdata.domain import AssetClass

EPOCH = date(2010, 1, 1)
"""First simulated day; history starts here (earlier requests are clamped)."""
LAST_DAY = date(2099, 12, 31)
"""Last simulated day (later requests are clamped)."""
DAY_MINUTES = 1440
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class SessionTable:
    """Sessions of one asset class in one year: minute-of-UTC-day bounds per active day."""

    days: list[date]
    ordinals: list[int]
    minutes: dict[int, tuple[int, int]]  # ordinal -> (first minute, end minute exclusive)


@lru_cache(maxsize=512)
def session_table(kind: AssetClass, year: int) -> SessionTable:
    days = calendar.session_days(kind, date(year, 1, 1), date(year + 1, 1, 1))
    minutes: dict[int, tuple[int, int]] = {}
    for day in days:
        bounds = calendar.session_bounds(kind, day)
        assert bounds is not None
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        minutes[day.toordinal()] = (
            int((bounds[0] - midnight).total_seconds()) // 60,
            int((bounds[1] - midnight).total_seconds()) // 60,
        )
    return SessionTable(days=days, ordinals=[day.toordinal() for day in days], minutes=minutes)


def session_minutes(kind: AssetClass, ordinal: int) -> tuple[int, int] | None:
    """First and end (exclusive) minute-of-UTC-day of the session of a day, None without one."""
    return session_table(kind, date.fromordinal(ordinal).year).minutes.get(ordinal)


def first_epoch_minute(ordinal: int) -> int:
    return (ordinal - EPOCH_ORDINAL) * DAY_MINUTES


def ordinal_of_minute(epoch_minute: int) -> int:
    return EPOCH_ORDINAL + epoch_minute // DAY_MINUTES


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
