"""What a run's owner hears about it: the ``backtest`` event on their stream, sent after the commit."""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.db import transaction

from backtests.models import Backtest
from tradeapp.core.realtime import publish, user_group

logger = logging.getLogger(__name__)

EVENT = "backtest"  # the websocket event on the owner's stream


def event_payload(row: Backtest) -> dict[str, Any]:
    """What the owner's browser hears about a run: enough to move a progress bar or reload results."""
    return {
        "id": str(row.pk),
        "status": row.status,
        "progress": row.progress,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
    }


def announce(row: Backtest) -> None:
    """Publish the row's state to its owner after the commit. A lost message is harmless (the page
    re-reads the run over REST), so a Redis failure is logged, never raised into the run."""
    stream, payload = user_group(row.owner_id), event_payload(row)

    def send() -> None:
        try:
            publish(stream, EVENT, payload)
        except redis.RedisError:
            logger.warning("could not publish backtest %s progress", payload["id"], exc_info=True)

    transaction.on_commit(send)
