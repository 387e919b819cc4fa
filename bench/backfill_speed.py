"""Backfill speed: the full default backfill (every instrument: 2 years of 1d, 30 days of 1m, and the
5m/15m/1h rolled up from them) into the fresh bench database, in bars written per second; next to it
the time the simulator alone needs to generate the same history (cold caches both times)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bench.stats import heading, show


def generation_only(now: Any) -> dict[str, float]:
    from marketdata.ingest import utc_midnight
    from marketdata.providers import simulator

    simulator.clear_caches()
    provider = simulator.SimulatorProvider(seed=7)
    started = time.perf_counter()
    count = 0
    for spec in provider.instruments():
        count += len(provider.history(spec.symbol, "1d", now - timedelta(days=730), now))
        count += len(provider.history(spec.symbol, "1m", utc_midnight(now - timedelta(days=30)), now))
    seconds = time.perf_counter() - started
    return {"bars": count, "seconds": round(seconds, 2), "bars_per_second": round(count / seconds)}


def run() -> dict[str, Any]:
    from django.db import connection

    from marketdata import ingest
    from marketdata.providers import simulator
    from tradeapp.core import clock

    heading("Backfill speed (full default backfill into a fresh database)")
    now = clock.now()
    simulator.clear_caches()
    report = ingest.backfill(now=now)
    first = {
        "bars": report.total_written,
        "by_timeframe": report.written,
        "seconds": round(report.seconds, 2),
        "bars_per_second": round(report.bars_per_second),
        "rejected": len(report.rejected),
    }
    show("first run", first)
    again = ingest.backfill(now=now)
    second = {"bars": again.total_written, "seconds": round(again.seconds, 2)}
    show("second run (nothing new)", second)
    generation = generation_only(now)
    show("simulator alone (history(), Decimal bars)", generation)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketdata_bar")
        cursor.execute("SELECT pg_total_relation_size('marketdata_bar')")
        size = cursor.fetchone()[0]
    result = {
        "first": first,
        "second": second,
        "generation_only": generation,
        "table_mb": round(size / 2**20),
    }
    show("table size with indexes (MB)", {"marketdata_bar": result["table_mb"]})
    return result
