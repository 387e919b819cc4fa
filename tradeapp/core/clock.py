"""The one clock: aware UTC time that tests can freeze or move (``frozen_clock``).

Domain code asks ``clock.now()`` instead of ``datetime.now()`` so a backtest, a test, or a replay can
run at any instant. Everything returned is timezone-aware UTC.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_local = threading.local()


def now() -> datetime:
    """Current aware UTC time (frozen if a ``frozen_clock`` is active in this thread)."""
    frozen: datetime | None = getattr(_local, "frozen", None)
    return frozen if frozen is not None else datetime.now(UTC)


def ensure_aware_utc(value: datetime) -> datetime:
    """Refuse naive datetimes; convert aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
    return value.astimezone(UTC)


class FrozenClock:
    def __init__(self, at: datetime):
        self.at = ensure_aware_utc(at)

    def tick(self, delta: timedelta) -> datetime:
        self.at += delta
        _local.frozen = self.at
        return self.at

    def set(self, at: datetime) -> datetime:
        self.at = ensure_aware_utc(at)
        _local.frozen = self.at
        return self.at


@contextlib.contextmanager
def frozen_clock(at: datetime) -> Iterator[FrozenClock]:
    """Freeze ``now()`` at ``at`` for the current thread; ``tick``/``set`` move it."""
    previous = getattr(_local, "frozen", None)
    clock = FrozenClock(at)
    _local.frozen = clock.at
    try:
        yield clock
    finally:
        _local.frozen = previous
