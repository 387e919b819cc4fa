"""Backfill, gap repair and retention against the real PostgreSQL, with the simulator as the provider.

The simulator is the oracle: what a backfill stores must be exactly what ``provider.history`` returns,
and derived bars exactly the aggregation (``marketdata.aggregate``) of the stored minutes.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from marketdata import ingest, tasks
from marketdata.aggregate import aggregate
from marketdata.domain import Bar, Timeframe
from marketdata.models import Bar as BarRow, Instrument
from marketdata.providers.simulator import SimulatorProvider
from marketdata.selectors import bars_page
from marketdata.services import upsert_bars
from marketdata.streams import bar_stream, quote_stream
from marketdata.tests.factories import InstrumentFactory, make_bars

# commits matter: upsert_bars stages rows in a temporary table emptied at COMMIT
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

NOW = datetime(2025, 11, 26, 18, 0, 30, tzinfo=UTC)  # a Wednesday: stocks, crypto and forex all trade
SYMBOLS = ["AAPL", "BTC/USD", "EUR/USD"]
MINUTE_START = datetime(2025, 11, 24, tzinfo=UTC)  # UTC midnight of NOW - 2 days


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def provider() -> SimulatorProvider:
    return SimulatorProvider(seed=7, clock=lambda: NOW)


def run_backfill(provider: SimulatorProvider, *, now: datetime = NOW, **options) -> ingest.BackfillReport:
    return ingest.backfill(symbols=SYMBOLS, days_daily=10, days_minute=2, now=now, source=provider, **options)


def stored(symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime) -> list[Bar]:
    instrument = Instrument.objects.get(symbol=symbol)
    return bars_page(instrument, timeframe, start, end, limit=100_000).bars


def test_backfill_stores_exactly_the_providers_history_and_a_second_run_writes_nothing(provider):
    first = run_backfill(provider)
    second = run_backfill(provider)

    for symbol in SYMBOLS:
        assert stored(symbol, "1m", MINUTE_START, NOW) == provider.history(symbol, "1m", MINUTE_START, NOW)
        daily_start = NOW - timedelta(days=10)
        assert stored(symbol, "1d", daily_start, NOW) == provider.history(symbol, "1d", daily_start, NOW)
    expected_minutes = sum(len(provider.history(s, "1m", MINUTE_START, NOW)) for s in SYMBOLS)
    assert first.written["1m"] == expected_minutes == BarRow.objects.filter(timeframe="1m").count()
    assert first.instruments == 3
    assert first.rejected == []
    assert first.problems == []
    assert second.total_written == 0
    assert BarRow.objects.count() == first.total_written


def test_derived_bars_equal_the_aggregation_of_the_stored_minutes(provider):
    run_backfill(provider)

    for symbol in SYMBOLS:
        minutes = stored(symbol, "1m", MINUTE_START, NOW)
        for timeframe in ("5m", "15m", "1h"):
            complete = [
                bar for bar in aggregate(minutes, timeframe) if bar.close_time <= NOW.replace(second=0)
            ]
            assert stored(symbol, timeframe, MINUTE_START, NOW) == complete, (symbol, timeframe)
        kind = Instrument.objects.get(symbol=symbol).asset_class
        days = aggregate(minutes, "1d", session_anchor=kind)
        # every day of the minute window whose session has closed (not today's)
        closed_days = [day for day in days if day.open_time.date() < NOW.date()]
        assert len(closed_days) == 2
        for day in closed_days:
            assert stored(symbol, "1d", day.open_time, day.open_time + timedelta(seconds=1)) == [day]


def test_a_later_backfill_fetches_only_what_came_after_the_newest_bar(provider):
    run_backfill(provider)
    later = NOW + timedelta(hours=1)
    provider_later = SimulatorProvider(seed=7, clock=lambda: later)

    report = run_backfill(provider_later, now=later)

    assert report.written == {"1m": 3 * 60, "5m": 3 * 12, "15m": 3 * 4, "1h": 3}  # 18:00-18:59 of each
    for symbol in SYMBOLS:
        assert stored(symbol, "1m", MINUTE_START, later) == provider_later.history(
            symbol, "1m", MINUTE_START, later
        )


def test_an_interrupted_backfill_resumes_where_it_stopped(provider):
    ingest.backfill(symbols=["BTC/USD"], days_daily=10, days_minute=2, now=NOW, source=provider)
    instrument = Instrument.objects.get(symbol="BTC/USD")
    BarRow.objects.filter(instrument=instrument, timeframe="1m", open_time__gte=utc(2025, 11, 25)).delete()
    BarRow.objects.filter(instrument=instrument, timeframe__in=["5m", "15m", "1h"]).delete()

    report = ingest.backfill(symbols=["BTC/USD"], days_daily=10, days_minute=2, now=NOW, source=provider)

    assert report.written["1m"] == len(provider.history("BTC/USD", "1m", utc(2025, 11, 25), NOW))
    assert stored("BTC/USD", "1m", MINUTE_START, NOW) == provider.history("BTC/USD", "1m", MINUTE_START, NOW)
    assert len(stored("BTC/USD", "1h", MINUTE_START, NOW)) == 24 * 2 + 18


def test_a_backfill_up_to_the_feeds_start_fills_the_downtime_before_the_feeds_first_bars(provider):
    run_backfill(provider)  # history until NOW; then the platform was down for three hours
    restart = NOW + timedelta(hours=3)
    provider_later = SimulatorProvider(seed=7, clock=lambda: restart + timedelta(minutes=2))
    instrument = Instrument.objects.get(symbol="BTC/USD")
    feed_bars = provider_later.history("BTC/USD", "1m", restart, restart + timedelta(minutes=2))
    upsert_bars(instrument=instrument, bars=feed_bars)  # the live feed was quicker than the worker

    report = ingest.backfill(
        symbols=["BTC/USD"], days_daily=10, days_minute=2, now=restart, source=provider_later
    )

    assert report.written["1m"] == 3 * 60 + 1  # 18:00 to 20:59, and the 21:00 minute open at NOW + 3 h
    window = (MINUTE_START, restart + timedelta(minutes=2))
    assert stored("BTC/USD", "1m", *window) == provider_later.history("BTC/USD", "1m", *window)


def test_unknown_symbols_are_refused_before_anything_is_written(provider):
    from marketdata.providers.base import UnknownSymbol

    with pytest.raises(UnknownSymbol):
        ingest.backfill(symbols=["AAPL", "NOPE"], now=NOW, source=provider)

    assert not BarRow.objects.exists()


def test_gap_repair_refills_deleted_minutes_and_the_bars_rolled_up_from_them(provider):
    run_backfill(provider)
    instrument = Instrument.objects.get(symbol="AAPL")
    hole = (utc(2025, 11, 25, 15, 10), utc(2025, 11, 25, 15, 40))
    BarRow.objects.filter(instrument=instrument, timeframe="1m", open_time__range=(hole[0], hole[1])).delete()
    BarRow.objects.filter(instrument=instrument, timeframe="1m", open_time=utc(2025, 11, 26, 17, 3)).delete()
    # the derived bars of the hole, as a feed running through the outage would have rolled them
    stale = BarRow.objects.filter(instrument=instrument, timeframe="1h", open_time=utc(2025, 11, 25, 15))
    stale.update(volume=Decimal(1))
    BarRow.objects.filter(
        instrument=instrument, timeframe="15m", open_time=utc(2025, 11, 25, 19, 15)
    ).delete()

    report = ingest.repair_gaps(
        instrument=instrument, timeframe="1m", start=MINUTE_START, end=NOW, now=NOW, source=provider
    )
    again = ingest.repair_gaps(
        instrument=instrument, timeframe="1m", start=MINUTE_START, end=NOW, now=NOW, source=provider
    )

    assert (report.missing, report.written, report.still_missing) == (32, 32, 0)
    assert report.expected == 390 + 390 + 210 - 2  # two sessions and today's until 17:58 (settling)
    assert (again.missing, again.written) == (0, 0)
    assert stored("AAPL", "1m", MINUTE_START, NOW) == provider.history("AAPL", "1m", MINUTE_START, NOW)
    minutes = stored("AAPL", "1m", utc(2025, 11, 25), utc(2025, 11, 26))
    assert stored("AAPL", "1h", utc(2025, 11, 25, 15), utc(2025, 11, 25, 16)) == aggregate(
        [bar for bar in minutes if bar.open_time.hour == 15], "1h"
    )
    # the deleted 15m bar is a hole of the 15m series: its own repair rolls it up again
    repair_15m = ingest.repair_gaps(
        instrument=instrument, timeframe="15m", start=MINUTE_START, end=NOW, now=NOW, source=provider
    )
    assert (repair_15m.missing, repair_15m.rolled_up, repair_15m.still_missing) == (1, 1, 0)


def test_gap_repair_of_daily_bars(provider):
    run_backfill(provider)
    instrument = Instrument.objects.get(symbol="EUR/USD")
    BarRow.objects.filter(instrument=instrument, timeframe="1d", open_time=utc(2025, 11, 20)).delete()

    report = ingest.repair_gaps(
        instrument=instrument,
        timeframe="1d",
        start=NOW - timedelta(days=10),
        end=NOW,
        now=NOW,
        source=provider,
    )

    assert (report.missing, report.written, report.still_missing) == (1, 1, 0)
    window = (NOW - timedelta(days=10), NOW)
    assert stored("EUR/USD", "1d", *window) == provider.history("EUR/USD", "1d", *window)


class CorruptingProvider(SimulatorProvider):
    """The simulator, except that the bar opening at ``bad_at`` comes back with high below low."""

    bad_at = utc(2025, 11, 26, 10, 5)

    def history(self, symbol, timeframe, start, end):
        return [
            dataclasses.replace(bar, high=bar.low - Decimal("0.01")) if bar.open_time == self.bad_at else bar
            for bar in super().history(symbol, timeframe, start, end)
        ]


def test_bad_rows_from_the_provider_are_reported_and_skipped_not_stored(provider):
    run_backfill(provider)
    instrument = Instrument.objects.get(symbol="BTC/USD")
    window = (utc(2025, 11, 26, 10), utc(2025, 11, 26, 10, 10))
    BarRow.objects.filter(instrument=instrument, timeframe="1m", open_time__range=window).delete()

    report = ingest.repair_gaps(
        instrument=instrument,
        timeframe="1m",
        start=window[0],
        end=window[1] + timedelta(minutes=1),
        now=NOW,
        source=CorruptingProvider(seed=7, clock=lambda: NOW),
    )

    assert (report.missing, report.written, report.still_missing) == (11, 10, 1)
    assert [row.open_time for row in report.rejected] == [CorruptingProvider.bad_at]
    assert "below low" in report.rejected[0].reasons[0]
    assert not BarRow.objects.filter(
        instrument=instrument, timeframe="1m", open_time=CorruptingProvider.bad_at
    )


def test_retention_deletes_only_old_minute_and_five_or_fifteen_minute_bars(settings):
    settings.MARKETDATA_MINUTE_RETENTION_DAYS = 35
    settings.MARKETDATA_INTRADAY_RETENTION_DAYS = 400
    instrument = InstrumentFactory(symbol="RET", asset_class="crypto")
    ages = {"1m": (36, 34), "5m": (401, 399), "15m": (401, 399), "1h": (2000, 1), "1d": (3000, 1)}
    for timeframe, (old, recent) in ages.items():
        for days in (old, recent):
            start = ingest.floor_time(NOW - timedelta(days=days), Timeframe(timeframe).delta)
            upsert_bars(
                instrument=instrument, bars=make_bars("RET", 3, start=start, timeframe=Timeframe(timeframe))
            )

    report = ingest.apply_retention(now=NOW)
    again = ingest.apply_retention(now=NOW)

    assert report.deleted == {"1m": 3, "5m": 3, "15m": 3}
    assert again.deleted == {"1m": 0, "5m": 0, "15m": 0}
    remaining = BarRow.objects.filter(instrument=instrument)
    assert {tf: remaining.filter(timeframe=tf).count() for tf in ages} == {
        "1m": 3,
        "5m": 3,
        "15m": 3,
        "1h": 6,
        "1d": 6,
    }
    assert not remaining.filter(timeframe="1m", open_time__lt=NOW - timedelta(days=35)).exists()


def test_provider_comes_from_settings(settings):
    settings.MARKETDATA_PROVIDER = "simulator"
    settings.SIMULATOR_SEED = 11

    assert ingest.provider().seed == 11
    settings.MARKETDATA_PROVIDER = "nowhere"
    with pytest.raises(ImproperlyConfigured, match="unknown MARKETDATA_PROVIDER 'nowhere'"):
        ingest.provider()


def test_periodic_jobs_skip_while_another_worker_holds_the_lock():
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "dbname", "password")
    with psycopg.connect(**{key: params[key] for key in keys if params.get(key)}, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext('marketdata.apply_retention'))")

        assert tasks.apply_retention() == {"skipped": "locked"}

        other.execute("SELECT pg_advisory_unlock(hashtext('marketdata.apply_retention'))")
    assert tasks.apply_retention() == {"deleted": {"1m": 0, "5m": 0, "15m": 0}}


def test_stream_names_are_valid_channels_group_names():
    assert quote_stream("BTC/USD") == "quotes.BTC-USD"
    assert bar_stream("BTC/USD", "1m") == "bars.BTC-USD.1m"
    assert bar_stream("BRK.B", Timeframe.H1) == "bars.BRK.B.1h"
