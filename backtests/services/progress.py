"""Progress and cancellation of one running attempt: throttled progress writes with an event to the owner,
and throttled reads of the row's status so a cancel is noticed."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import transaction

from backtests.engine import BacktestCancelled
from backtests.models import Backtest, BacktestStatus
from backtests.services.events import announce

PROGRESS_INTERVAL = 0.5  # seconds between progress writes (and events) of one run
STOP_CHECK_INTERVAL = 0.2  # seconds between reads of the row's status while running


class Monitor:
    """Progress and cancellation for one attempt: progress rows and events at most every
    PROGRESS_INTERVAL, status reads at most every STOP_CHECK_INTERVAL. ``part(low, high)`` maps a
    phase's own 0..1 onto that share of the whole run."""

    def __init__(self, row: Backtest) -> None:
        self.row = row
        self.percent = 0
        self.written_at = 0.0
        self.checked_at = 0.0
        self.stopped = False

    def part(self, low: float, high: float) -> Callable[[float], None]:
        return lambda fraction: self.progress(low + (high - low) * min(max(fraction, 0.0), 1.0))

    def progress(self, fraction: float) -> None:
        percent = min(int(fraction * 100), 99)  # 100 is written with the results
        now = time.monotonic()
        if percent <= self.percent or now - self.written_at < PROGRESS_INTERVAL:
            return
        self.percent, self.written_at = percent, now
        with transaction.atomic():
            updated = Backtest.objects.filter(
                pk=self.row.pk, status=BacktestStatus.RUNNING, attempts=self.row.attempts
            ).update(progress=percent)
            if updated:
                self.row.progress = percent
                announce(self.row)

    def should_stop(self) -> bool:
        if self.stopped:
            return True
        now = time.monotonic()
        if now - self.checked_at < STOP_CHECK_INTERVAL:
            return False
        self.checked_at = now
        current = Backtest.objects.filter(pk=self.row.pk).values_list("status", "attempts").first()
        self.stopped = current != (BacktestStatus.RUNNING, self.row.attempts)
        return self.stopped

    def check(self) -> None:
        if self.should_stop():
            raise BacktestCancelled()
