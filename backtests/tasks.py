"""Celery tasks of the backtests app (queue ``backtests``): a thin, idempotent wrapper around
``backtests.services.run_backtest``. A finished run is never rerun; a run whose worker died (``acks_late``
+ reject-on-worker-lost redeliver it) starts again from scratch under a new attempt."""

from __future__ import annotations

import logging

from celery import shared_task

from backtests import services
from backtests.queue import RUN_TASK

logger = logging.getLogger(__name__)


@shared_task(name=RUN_TASK, ignore_result=True, acks_late=True)
def run(backtest_id: str) -> str | None:
    """Run one backtest; returns its final status (None when the row is gone)."""
    try:
        row = services.run_backtest(backtest_id=backtest_id)
    except Exception:
        # Bad input, bad data and a raising strategy end the run `failed` inside the service; this is
        # a bug of ours. The row must not stay `running` for ever: say so on it, keep the traceback.
        logger.exception("backtest %s stopped on an unexpected error", backtest_id)
        services.fail_backtest(
            backtest_id=backtest_id,
            code="internal_error",
            message="The run stopped on an internal error (it has been logged). Try again later.",
        )
        raise
    return None if row is None else row.status
