"""Range reads of 1-minute bars: the ``bars_frame`` selector into pandas and the REST bars endpoint
through a real daphne, plus whether an index choice matters (the unique b-tree vs a BRIN on open_time,
and the cost of the foreign key's own index on writes)."""

from __future__ import annotations

import http.client
import json
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bench.environment import api_token
from bench.stats import heading, percentiles, show

SYMBOL = "BTC/USD"
RUNS = 30
WARM_UP = 3


def _time_frame(
    instrument: Any, start: datetime, end: datetime, runs: int, expected: int, *, cold: bool = False
) -> dict[str, Any]:
    """``bars_frame`` timings; ``cold`` empties the frame cache (marketdata.frames) before each read, so
    every read converts the stored numerics again (the path of a first read, or of a read inside a
    transaction)."""
    from django.db import connection

    from marketdata.selectors import bars_frame

    samples = []
    for index in range(WARM_UP + runs):
        if cold:
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE marketdata_barchunk SET payload = NULL, bar_count = NULL "
                    "WHERE instrument_id = %s",
                    [instrument.pk],
                )
        started = time.perf_counter()
        frame = bars_frame(instrument, "1m", start, end)
        elapsed = time.perf_counter() - started
        if len(frame) != expected:
            raise RuntimeError(f"bars_frame returned {len(frame)} rows, expected {expected}")
        if index >= WARM_UP:
            samples.append(elapsed)
    return {"rows": expected, **percentiles(samples)}


def _get(connection: http.client.HTTPConnection, path: str, token: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Token {token}"})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed, body


def _bars_path(start: datetime, end: datetime, **extra: Any) -> str:
    query = {
        "symbol": "BTC-USD",
        "timeframe": "1m",
        "start": start.isoformat(),
        "end": end.isoformat(),
        **extra,
    }
    return "/api/v1/bars?" + urlencode(query)


def _time_api(port: int, token: str, path: str, runs: int, expected: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    size = 0
    try:
        for index in range(WARM_UP + runs):
            elapsed, body = _get(connection, path, token)
            bars = json.loads(body)["bars"]
            if len(bars) != expected:
                raise RuntimeError(f"API page has {len(bars)} bars, expected {expected}")
            size = len(body)
            if index >= WARM_UP:
                samples.append(elapsed)
    finally:
        connection.close()
    return {"bars": expected, "kb": round(size / 1024), **percentiles(samples)}


def _walk_api(port: int, token: str, start: datetime, end: datetime, expected: int) -> dict[str, Any]:
    """Every page of the window with the largest page size, following ``next``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        count, pages, cursor = 0, 0, None
        while True:
            extra = {"limit": 10_000, **({"cursor": cursor} if cursor else {})}
            _, body = _get(connection, _bars_path(start, end, **extra), token)
            page = json.loads(body)
            count += len(page["bars"])
            pages += 1
            cursor = page["next"]
            if not cursor:
                break
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    if count != expected:
        raise RuntimeError(f"walked {count} bars, expected {expected}")
    return {
        "bars": count,
        "pages": pages,
        "seconds": round(seconds, 2),
        "bars_per_second": round(count / seconds),
    }


def _indexes() -> dict[str, int]:
    """Size of each index of marketdata_bar in KiB."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = 'marketdata_bar'::regclass ORDER BY 1"
        )
        return {name: round(size / 1024) for name, size in cursor.fetchall()}


_RANGE_QUERY = (
    "SELECT open_time, open, high, low, close, volume, trade_count FROM marketdata_bar "
    "WHERE instrument_id = %s AND timeframe = %s AND open_time >= %s AND open_time < %s ORDER BY open_time"
)


def _plan(instrument_id: int, start: datetime, end: datetime) -> list[str]:
    """EXPLAIN ANALYZE of the range scan under a cold ``bars_frame`` read."""
    from django.db import connection

    query = _RANGE_QUERY  # what a cold read scans
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query, [instrument_id, "1m", start, end])
        return [row[0] for row in cursor.fetchall()]


def _fk_index_name() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index JOIN pg_attribute ON attrelid = indrelid "
            "AND attnum = indkey[0] WHERE indrelid = 'marketdata_bar'::regclass AND indnatts = 1 "
            "AND attname = 'instrument_id'"
        )
        row = cursor.fetchone()
    return row[0] if row else ""


def _brin_experiment(instrument: Any, start: datetime, end: datetime, expected: int) -> dict[str, Any]:
    """Add a BRIN on open_time; time the planner's choice with it present, then the BRIN alone (the
    b-tree indexes dropped inside a transaction that is rolled back)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX bench_bar_open_time_brin ON marketdata_bar USING brin (open_time)")
        cursor.execute("ANALYZE marketdata_bar")
    try:
        sizes = _indexes()
        with_brin = _time_frame(instrument, start, end, 15, expected, cold=True)
        plan_with_brin = _plan(instrument.pk, start, end)
        fk_index = _fk_index_name()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE marketdata_bar DROP CONSTRAINT bar_unique_time")
                if fk_index:
                    cursor.execute(f"DROP INDEX {fk_index}")
            brin_only = _time_frame(instrument, start, end, 10, expected, cold=True)
            plan_brin_only = _plan(instrument.pk, start, end)
            transaction.set_rollback(True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS bench_bar_open_time_brin")
    return {
        "brin_kb": sizes.get("bench_bar_open_time_brin"),
        "planner_with_brin_present": with_brin,
        "plan_with_brin_present": [line for line in plan_with_brin if "Scan" in line or "Index" in line][:4],
        "brin_only": brin_only,
        "plan_brin_only": [line for line in plan_brin_only if "Scan" in line or "Index" in line][:4],
    }


def _fk_index_write_cost(now: datetime) -> dict[str, Any]:
    """Upsert 30 days of ETH/USD minutes (43,200 rows, freshly deleted) with and without the foreign
    key's separate (instrument_id) index; each attempt in a transaction that is rolled back."""
    from django.db import connection, transaction

    from marketdata.ingest import utc_midnight
    from marketdata.models import Bar as BarRow, Instrument
    from marketdata.providers.simulator import SimulatorProvider
    from marketdata.services import upsert_bars

    instrument = Instrument.objects.get(symbol="ETH/USD")
    start = utc_midnight(now - timedelta(days=30))
    bars = SimulatorProvider(seed=7, clock=lambda: now).history("ETH/USD", "1m", start, utc_midnight(now))
    fk_index = _fk_index_name()
    timings: dict[str, list[float]] = {"with_fk_index": [], "without_fk_index": []}
    for _ in range(3):
        for variant, samples in timings.items():
            with transaction.atomic():
                if variant == "without_fk_index" and fk_index:
                    with connection.cursor() as cursor:
                        cursor.execute(f"DROP INDEX {fk_index}")
                BarRow.objects.filter(instrument=instrument, timeframe="1m", open_time__gte=start).delete()
                started = time.perf_counter()
                upsert_bars(instrument=instrument, bars=bars)
                samples.append(time.perf_counter() - started)
                transaction.set_rollback(True)
    return {
        "rows": len(bars),
        "fk_index": fk_index,
        **{variant: round(sorted(values)[1], 3) for variant, values in timings.items()},
    }


def run(port: int, now: datetime) -> dict[str, Any]:
    from django.db import connection

    from marketdata import ingest
    from marketdata.models import Instrument

    heading(f"Range read: one year of {SYMBOL} 1-minute bars")
    loaded = ingest.backfill(symbols=[SYMBOL], days_daily=0, days_minute=366, now=now)
    show("loaded", {"bars": loaded.total_written, "seconds": round(loaded.seconds, 1)})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketdata_bar")
    instrument = Instrument.objects.get(symbol=SYMBOL)
    end = ingest.utc_midnight(now)
    windows = {
        "90 days": (end - timedelta(days=90), 129_600),
        "365 days": (end - timedelta(days=365), 525_600),
    }
    result: dict[str, Any] = {"selector": {}, "api": {}}
    for label, (start, rows) in windows.items():
        result["selector"][label] = _time_frame(instrument, start, end, RUNS, rows)
        show(f"bars_frame {label} ({rows:,} rows), cache warm, ms", result["selector"][label])
        result["selector"][f"{label}, cold"] = _time_frame(instrument, start, end, 10, rows, cold=True)
        show(f"bars_frame {label} ({rows:,} rows), cache cold, ms", result["selector"][f"{label}, cold"])
    result["plan"] = [line for line in _plan(instrument.pk, end - timedelta(days=90), end) if "Scan" in line][
        :3
    ]
    show("plan (90 days)", {"scan": " | ".join(line.strip() for line in result["plan"])})

    token = api_token("bench-api")
    start_90 = windows["90 days"][0]
    result["api"]["page of 1,000 (default)"] = _time_api(port, token, _bars_path(start_90, end), RUNS, 1000)
    result["api"]["page of 10,000 (max)"] = _time_api(
        port, token, _bars_path(start_90, end, limit=10_000), 20, 10_000
    )
    for label, values in result["api"].items():
        show(f"GET /api/v1/bars {label} ms", values)
    result["api"]["walk 90 days"] = _walk_api(port, token, start_90, end, 129_600)
    show("GET /api/v1/bars, every page of 90 days", result["api"]["walk 90 days"])

    result["indexes_kb"] = _indexes()
    show("index sizes (KiB)", result["indexes_kb"])
    result["brin"] = _brin_experiment(instrument, start_90, end, 129_600)
    show("BRIN(open_time) present, planner's choice, 90 days ms", result["brin"]["planner_with_brin_present"])
    show("BRIN(open_time) only (b-trees dropped), 90 days ms", result["brin"]["brin_only"])
    show("BRIN size (KiB)", {"brin": result["brin"]["brin_kb"]})
    result["fk_index_write_cost"] = _fk_index_write_cost(now)
    show("upsert 43,200 1m bars, seconds (median of 3)", result["fk_index_write_cost"])
    return result
