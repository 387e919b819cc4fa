"""The bars_frame cache (marketdata.frames): same answer as the bars, never stale, never blocking."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, connections, transaction

from marketdata import frames
from marketdata.aggregate import bars_to_frame
from marketdata.domain import Timeframe
from marketdata.models import Bar as BarRow, BarChunk
from marketdata.selectors import bars_frame, bars_page
from marketdata.services import upsert_bars
from marketdata.tests.factories import InstrumentFactory, make_bars

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # two hours before a UTC midnight: two buckets


@pytest.fixture
def series():
    instrument = InstrumentFactory(symbol="BTC/USD", asset_class="crypto")
    upsert_bars(instrument=instrument, bars=make_bars("BTC/USD", 240, start=START))
    return instrument


def exact_frame(instrument, timeframe, start, end):
    page = bars_page(instrument, timeframe, start, end, limit=100_000)
    return bars_to_frame(page.bars)


def chunks(instrument):
    return list(BarChunk.objects.filter(instrument=instrument).order_by("bucket"))


def test_a_read_fills_the_cache_and_a_warm_read_gives_the_same_frame(series):
    window = (START + timedelta(minutes=30), START + timedelta(minutes=200))

    cold = bars_frame(series, "1m", *window)
    assert [chunk.bar_count for chunk in chunks(series)] == [120, 120]
    warm = bars_frame(series, "1m", *window)

    assert len(cold) == 170
    assert cold.equals(warm)
    assert warm.equals(exact_frame(series, Timeframe.M1, *window))


def test_a_write_into_a_cached_bucket_is_seen_by_the_next_read(series):
    end = START + timedelta(hours=4)
    bars_frame(series, "1m", START, end)
    corrected = make_bars("BTC/USD", 1, start=START + timedelta(minutes=5), price=Decimal("150.00"))

    upsert_bars(instrument=series, bars=corrected)

    first = chunks(series)[0]
    assert (first.payload, first.version) == (None, 2)
    frame = bars_frame(series, "1m", START, end)
    assert frame.loc[5, "open"] == 150.0
    assert frame.equals(exact_frame(series, Timeframe.M1, START, end))


def test_deleted_bars_leave_the_frame(series):
    end = START + timedelta(hours=4)
    bars_frame(series, "1m", START, end)

    BarRow.objects.filter(instrument=series, open_time__gte=START + timedelta(hours=2)).delete()

    assert len(bars_frame(series, "1m", START, end)) == 120


def test_a_payload_built_from_bars_older_than_the_version_is_not_stored(series):
    stale = frames._Chunk(
        *BarChunk.objects.filter(instrument=series)
        .values_list("id", "version", "bucket", "bar_count", "payload")
        .order_by("bucket")
        .first()
    )
    upsert_bars(instrument=series, bars=make_bars("BTC/USD", 1, start=START, price=Decimal(200)))

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        frames._build(cursor, series.pk, Timeframe.M1, [stale])

    assert chunks(series)[0].payload is None


def test_a_reader_does_not_wait_for_a_writer_holding_the_bucket(series):
    end = START + timedelta(hours=4)
    written, release = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                upsert_bars(instrument=series, bars=make_bars("BTC/USD", 1, start=START, price=Decimal(300)))
                written.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(10)
        frame = bars_frame(series, "1m", START, end)  # would block on the locked row without SKIP LOCKED
        assert frame.loc[0, "open"] == 100.0  # the writer has not committed
        assert [chunk.payload is None for chunk in chunks(series)] == [True, False]
    finally:
        release.set()
        thread.join()
    assert bars_frame(series, "1m", START, end).loc[0, "open"] == 300.0


def test_reads_inside_a_transaction_do_not_store(series):
    with transaction.atomic():
        frame = bars_frame(series, "1m", START, START + timedelta(hours=4))
    assert len(frame) == 240
    assert all(chunk.payload is None for chunk in chunks(series))


@pytest.mark.parametrize(
    ("timeframe", "step", "count"),
    [(Timeframe.H1, timedelta(hours=1), 24 * 70), (Timeframe.D1, timedelta(days=1), 800)],
)
def test_wide_buckets_match_the_sql_bucket_function(timeframe, step, count):
    instrument = InstrumentFactory(symbol="ETH/USD", asset_class="crypto")
    start = datetime(2024, 11, 30, tzinfo=UTC)
    upsert_bars(instrument=instrument, bars=make_bars("ETH/USD", count, start=start, timeframe=timeframe))
    end = start + step * count

    frame = bars_frame(instrument, timeframe, start + step * 3, end - step * 2)

    assert len(frame) == count - 5
    assert frame.equals(exact_frame(instrument, timeframe, start + step * 3, end - step * 2))
    expected = sorted({frames.bucket_of(timeframe, start + step * index) for index in range(count)})
    assert [chunk.bucket for chunk in chunks(instrument)] == expected
    assert all(frames.bucket_end(timeframe, b) > b for b in expected)
