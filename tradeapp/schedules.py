"""Every periodic task in one table. django-celery-beat's DatabaseScheduler copies these into its
tables at start (admins may pause or re-time them there); exactly one beat process runs."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "core.heartbeat": {
        "task": "core.heartbeat",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    # Fills 1m bars the live feed missed (restarts, provider hiccups) over the last day, re-rolls the
    # derived bars around them, and checks the last 10 daily bars.
    "marketdata.repair_gaps": {
        "task": "marketdata.repair_gaps",
        "schedule": crontab(minute=7),
        "options": {"queue": "ingest", "expires": 50 * 60},
    },
    # Deletes 1m bars past MARKETDATA_MINUTE_RETENTION_DAYS, 5m/15m past MARKETDATA_INTRADAY_RETENTION_DAYS.
    "marketdata.apply_retention": {
        "task": "marketdata.apply_retention",
        "schedule": crontab(hour=3, minute=17),
        "options": {"queue": "ingest", "expires": 6 * 3600},
    },
    # DAY orders end at the session close (NYSE calendar; UTC midnight for crypto).
    "orders.expire_orders": {
        "task": "orders.expire_orders",
        "schedule": 30.0,
        "options": {"queue": "orders", "expires": 25},
    },
    # TWAP / VWAP parents send their due slices.
    "orders.run_algos": {
        "task": "orders.run_algos",
        "schedule": 5.0,
        "options": {"queue": "orders", "expires": 4},
    },
    # Equity of every account at the UTC day's start: the base of day P&L and of the equity curve
    # (then old intraday snapshots are thinned to one a day).
    "portfolio.snapshot_equity": {
        "task": "portfolio.snapshot_equity",
        "schedule": crontab(hour=0, minute=0),
        "options": {"queue": "orders", "expires": 3600},
    },
    # Equity of accounts holding positions every 5 minutes: the 1D curve between fills (fills take
    # their own snapshot, throttled per account).
    "portfolio.snapshot_open_accounts": {
        "task": "portfolio.snapshot_open_accounts",
        "schedule": crontab(minute="*/5"),
        "options": {"queue": "orders", "expires": 4 * 60},
    },
}
