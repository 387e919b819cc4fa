"""Celery tasks of market data (queue ``ingest``): thin, idempotent wrappers around ``marketdata.ingest``.

Periodic and bulk jobs take a PostgreSQL advisory lock named after the job, so two workers never run the
same one at once (the second returns ``{"skipped": "locked"}``); the lock is tied to the database
session, so a killed worker cannot leave it behind. Redelivery (``acks_late``) is safe because every
write is an upsert or a delete by age.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from celery import shared_task
from django.db import connection

from marketdata import ingest
from marketdata.domain import Timeframe, ensure_utc
from marketdata.hooks import BarClosed, dispatch_bar_closed
from marketdata.models import Instrument
from marketdata.selectors import bars_page
from tradeapp.core.realtime import redis_client

BAR_CLOSED_DONE_KEY = "tradeapp:marketdata:bar_closed:{key}"
BAR_CLOSED_DONE_SECONDS = 2 * 86_400


@contextlib.contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """Try to take the session-level advisory lock ``name``; yields whether it was taken. Released on
    exit, or by PostgreSQL when the connection ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [name])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


def _lock_name(job: str, symbols: list[str] | None) -> str:
    return f"marketdata.{job}:{','.join(sorted(symbols)) if symbols else '*'}"


@shared_task(name="marketdata.backfill", ignore_result=True, acks_late=True)
def backfill(
    symbols: list[str] | None = None, days_daily: int = 730, days_minute: int = 30, now: str | None = None
) -> dict[str, Any]:
    """Incremental history load up to ``now`` (ISO 8601; default: when the task runs), see
    ``ingest.backfill``. The live feed enqueues one per symbol with its start time as ``now``."""
    with advisory_lock(_lock_name("backfill", symbols)) as acquired:
        if not acquired:
            return {"skipped": "locked"}
        report = ingest.backfill(
            symbols=symbols,
            days_daily=days_daily,
            days_minute=days_minute,
            now=ensure_utc(datetime.fromisoformat(now)) if now else None,
        )
        return {"written": report.written, "rejected": len(report.rejected), "problems": report.problems[:20]}


@shared_task(name="marketdata.repair_gaps", ignore_result=True, acks_late=True)
def repair_gaps(
    symbol: str | None = None,
    timeframe: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """Without arguments: the hourly repair of the recent past for every instrument
    (``ingest.repair_recent_gaps``). With ``symbol``, ``timeframe``, ``start`` and ``end`` (ISO 8601):
    one window of one instrument."""
    with advisory_lock(_lock_name("repair_gaps", [symbol] if symbol else None)) as acquired:
        if not acquired:
            return {"skipped": "locked"}
        if symbol is None:
            reports = ingest.repair_recent_gaps()
        else:
            if timeframe is None or start is None or end is None:
                raise ValueError("repair_gaps for one symbol needs timeframe, start and end")
            instrument = Instrument.objects.filter(symbol=symbol).order_by("-active", "pk").first()
            if instrument is None:
                return {"skipped": f"unknown symbol {symbol}"}
            reports = [
                ingest.repair_gaps(
                    instrument=instrument,
                    timeframe=Timeframe.parse(timeframe),
                    start=ensure_utc(datetime.fromisoformat(start)),
                    end=ensure_utc(datetime.fromisoformat(end)),
                )
            ]
        return {
            "missing": sum(report.missing for report in reports),
            "written": sum(report.written for report in reports),
            "still_missing": sum(report.still_missing for report in reports),
        }


@shared_task(name="marketdata.apply_retention", ignore_result=True, acks_late=True)
def apply_retention() -> dict[str, Any]:
    with advisory_lock("marketdata.apply_retention") as acquired:
        if not acquired:
            return {"skipped": "locked"}
        return {"deleted": ingest.apply_retention().deleted}


@shared_task(name="marketdata.bar_closed", ignore_result=True, acks_late=True)
def bar_closed(instrument_id: int, timeframe: str, open_time: str) -> dict[str, Any]:
    """Run the durable bar-closed handlers (``marketdata.hooks``) for one stored bar, once: a bar that
    is not in the database is skipped, and a marker in Redis (set after every handler ran) makes a
    redelivered or repeated task a no-op."""
    frame = Timeframe.parse(timeframe)
    at = ensure_utc(datetime.fromisoformat(open_time))
    instrument = Instrument.objects.filter(pk=instrument_id).first()
    bars = bars_page(instrument, frame, at, at + frame.delta, limit=1).bars if instrument else []
    if not bars or bars[0].open_time != at:
        return {"skipped": "no such bar"}
    event = BarClosed(instrument_id, bars[0])
    done_key = BAR_CLOSED_DONE_KEY.format(key=event.key)
    if redis_client().exists(done_key):
        return {"skipped": "already dispatched"}
    completed = dispatch_bar_closed(event, durable=True)
    redis_client().set(done_key, "1", ex=BAR_CLOSED_DONE_SECONDS)
    return {"handlers": completed}
