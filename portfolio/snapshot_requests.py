"""Asking for an equity snapshot after a fill: one Redis SET NX per fill, one task per account per
burst. The service layer calls this after commit; ``portfolio.tasks.snapshot_account`` (the task, found by
name so this module needs no import of the tasks module) frees the slot when it runs."""

from __future__ import annotations

from celery import current_app
from kombu.exceptions import OperationalError
from redis import RedisError

from tradeapp.core.realtime import redis_client

SNAPSHOT_TASK = "portfolio.snapshot_account"
SNAPSHOT_PENDING_KEY = "tradeapp:portfolio:snapshot:{account}"
# Fills of one account within this many seconds share one snapshot (a strategy's burst, a bracket).
SNAPSHOT_DELAY_SECONDS = 2
# A lost task (broker restart) frees the account's slot after this; a normal run frees it at once.
SNAPSHOT_PENDING_SECONDS = 60


def request_snapshot(account_id: str) -> bool:
    """Enqueue a snapshot of the account unless one is already waiting (after a fill's commit).
    Returns whether one was enqueued. Costs one Redis SET NX; the enqueue only when it wins."""
    key = SNAPSHOT_PENDING_KEY.format(account=account_id)
    client = redis_client()
    if not client.set(key, "1", nx=True, ex=SNAPSHOT_PENDING_SECONDS):
        return False
    try:
        current_app.tasks[SNAPSHOT_TASK].apply_async((account_id,), countdown=SNAPSHOT_DELAY_SECONDS)
    except (OperationalError, RedisError, OSError):
        client.delete(key)  # the broker is down: let the next fill try again
        raise
    return True
