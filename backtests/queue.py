"""How a backtest reaches a worker: the ``backtests.run`` task by name, so the services that enqueue it and
the task module that runs them never import each other."""

from __future__ import annotations

from celery import current_app

RUN_TASK = "backtests.run"  # routed to the ``backtests`` queue by its prefix (CELERY_TASK_ROUTES)


def enqueue_run(backtest_id: str) -> None:
    """Send one run to the workers. Call it after the commit (``transaction.on_commit``) so a worker
    never looks for a row that is not there yet."""
    current_app.send_task(RUN_TASK, args=(backtest_id,))
