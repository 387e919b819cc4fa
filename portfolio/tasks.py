"""Celery tasks of the portfolio: equity snapshots on a schedule."""

from __future__ import annotations

from celery import shared_task

from portfolio import services


@shared_task(name="portfolio.snapshot_equity", ignore_result=True, acks_late=True)
def snapshot_equity() -> int:
    """One equity snapshot per account (the daily base of day P&L and the equity curve)."""
    return services.snapshot_all_accounts()
