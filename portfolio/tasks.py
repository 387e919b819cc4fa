"""Celery tasks of the portfolio (queue ``orders``): equity snapshots after fills and on a schedule.

Snapshots after fills are throttled per account: the first fill sets a Redis key (SET NX) and enqueues
one ``portfolio.snapshot_account`` a moment later; later fills find the key and add nothing. The task
deletes the key *before* it values the account, so every fill is followed by a snapshot taken after
it commits: a fill committed before the delete is in the valuation, one after it sets the key again.
"""

from __future__ import annotations

import logging

from celery import shared_task

from portfolio import services
from portfolio.models import SnapshotReason
from portfolio.snapshot_requests import SNAPSHOT_PENDING_KEY
from tradeapp.core.realtime import redis_client

logger = logging.getLogger(__name__)


@shared_task(name="portfolio.snapshot_account", ignore_result=True, acks_late=True)
def snapshot_account(account_id: str) -> bool:
    """The account's equity after its latest fills. False when the account no longer exists."""
    redis_client().delete(SNAPSHOT_PENDING_KEY.format(account=account_id))
    return services.snapshot_account(account_id=account_id) is not None


@shared_task(name="portfolio.snapshot_equity", ignore_result=True, acks_late=True)
def snapshot_equity() -> int:
    """One equity snapshot per account at the start of the UTC day (the base of day P&L), then the
    thinning of old intraday snapshots. Returns how many snapshots were taken."""
    taken = services.snapshot_all_accounts()
    thinned = services.thin_snapshots()
    if thinned:
        logger.info("thinned %d intraday equity snapshots", thinned)
    return taken


@shared_task(name="portfolio.snapshot_open_accounts", ignore_result=True, acks_late=True)
def snapshot_open_accounts() -> int:
    """Every few minutes: a snapshot of each account holding a position (the 1D curve between fills;
    a cash-only account's equity moves only with fills, which are snapshotted anyway)."""
    return services.snapshot_accounts(reason=SnapshotReason.SCHEDULE, open_positions_only=True)
