"""Ending a run before it finishes by itself: a cancel at its owner's request, or a failure the task records
when a bug of ours stopped it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from backtests import selectors
from backtests.models import Backtest, BacktestStatus
from backtests.services.events import announce
from tradeapp.core import clock
from tradeapp.core.errors import Conflict


def cancel_backtest(*, owner: Any, backtest_id: object) -> Backtest:
    """Cancel a queued or running run of ``owner`` (404 for anyone else's). A queued run is canceled at
    once; a running one is marked ``canceled`` and its worker stops at the next check, keeping nothing.
    Canceling a canceled run changes nothing; a completed or failed one is a 409 ``already_finished``."""
    with transaction.atomic():
        row = selectors.backtest_of(owner, backtest_id)
        row = Backtest.objects.select_for_update().defer("trades").get(pk=row.pk)
        if row.status == BacktestStatus.CANCELED:
            return row
        if row.is_finished:
            raise Conflict(
                "already_finished", f"The run has {row.status}: there is nothing to cancel.", "backtest_id"
            )
        row.status = BacktestStatus.CANCELED
        row.error_code = "cancelled"
        row.error_message = "Cancelled at your request."
        row.finished_at = clock.now()
        row.save(update_fields=["status", "error_code", "error_message", "finished_at"])
        announce(row)
    return row


def fail_backtest(*, backtest_id: object, code: str, message: str) -> Backtest | None:
    """Mark a running or queued run ``failed`` (the task's last resort on an unexpected error)."""
    with transaction.atomic():
        row = Backtest.objects.select_for_update().defer("trades", "results").filter(pk=backtest_id).first()
        if row is None or row.is_finished:
            return row
        row.status = BacktestStatus.FAILED
        row.error_code = code
        row.error_message = message
        row.finished_at = clock.now()
        row.save(update_fields=["status", "error_code", "error_message", "finished_at"])
        announce(row)
    return row
