"""The live feed, driven by the simulator on a fake clock (minutes of market in well under a second),
against the real Redis (latest quotes, the Channels layer) and the real PostgreSQL (bars)."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from marketdata import ingest, tasks
from marketdata.domain import Timeframe
from marketdata.feed import run_feed
from marketdata.hooks import BarClosed, dispatch_bar_closed, on_bar_closed, remove_bar_closed_handler
from marketdata.models import Instrument
from marketdata.providers.simulator import SimulatorProvider
from marketdata.quotes import QUOTE_KEY, latest_quote, quote_payload
from marketdata.selectors import bars_page
from marketdata.streams import quote_stream
from tradeapp.core.realtime import redis_client
from tradeapp.testing.wait import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

BASE_DIR = Path(__file__).resolve().parents[2]
START = datetime(2025, 11, 26, 14, 59, 30, tzinfo=UTC)  # a Wednesday, mid-minute, stocks open
UNTIL = datetime(2025, 11, 26, 15, 2, tzinfo=UTC)
SYMBOLS = ["BTC/USD", "AAPL"]
BAR_TIMES = [datetime(2025, 11, 26, 14, 59, tzinfo=UTC) + timedelta(minutes=n) for n in range(3)]


class FakeClock:
    """A clock that only moves when the stream sleeps; ``pace`` real seconds per sleep let the feed
    keep up tick by tick (otherwise it gets minutes of quotes at once and sends only the newest)."""

    def __init__(self, at: datetime, pace: float = 0.0) -> None:
        self.at = at
        self.pace = pace

    def __call__(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        if self.pace:
            time.sleep(self.pace)
        self.at += timedelta(seconds=seconds)


def simulated(
    at: datetime = START, provider_class: type[SimulatorProvider] = SimulatorProvider, **options
) -> SimulatorProvider:
    clock = FakeClock(at, options.pop("pace", 0.0))
    return provider_class(seed=7, clock=clock, sleep=clock.sleep, **options)


@pytest.fixture
def clean_redis():
    yield
    client = redis_client()
    client.delete(*[QUOTE_KEY.format(symbol=symbol) for symbol in (*SYMBOLS, "ETH/USD")])
    for key in client.scan_iter("tradeapp:marketdata:bar_closed:*"):
        client.delete(key)


@pytest.fixture
def closed_events():
    events: list[BarClosed] = []
    on_bar_closed(events.append)
    yield events
    remove_bar_closed_handler(events.append)


async def receive_all(layer, channel: str, *, quiet: float = 1.0) -> list[dict]:
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=quiet))
        except TimeoutError:
            return messages


def stored_1m(symbol: str) -> list:
    instrument = Instrument.objects.get(symbol=symbol)
    return bars_page(instrument, "1m", BAR_TIMES[0], UNTIL, limit=100).bars


async def test_feed_stores_quotes_publishes_them_in_order_and_closes_bars(
    clean_redis, closed_events, monkeypatch
):
    history = SimulatorProvider(seed=7, clock=lambda: START)
    await database_sync_to_async(ingest.backfill)(
        symbols=SYMBOLS, days_daily=0, days_minute=1, now=START, source=history
    )  # the feed starts where the backfill ended, as in production
    enqueued = []
    monkeypatch.setattr(tasks.bar_closed, "delay", lambda *args: enqueued.append(args))
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for symbol in SYMBOLS:
        await layer.group_add(quote_stream(symbol), channel)
    provider = simulated(quotes_per_second=1, pace=0.004)  # 60 quotes a minute, opens and closes included
    afterwards = SimulatorProvider(seed=7, clock=lambda: UNTIL)

    report = await database_sync_to_async(run_feed)(provider, SYMBOLS, until=UNTIL, enqueue=True)
    messages = await receive_all(layer, channel)
    for symbol in SYMBOLS:
        await layer.group_discard(quote_stream(symbol), channel)

    # latest quotes in Redis: the last tick before UNTIL
    last_tick = UNTIL - timedelta(milliseconds=250)
    for symbol in SYMBOLS:
        assert await sync_to_async(latest_quote)(symbol) == provider.quote_at(symbol, last_tick)
    # quote messages: every one published arrived; per stream, seq without gaps and quotes in time order
    # a batch sends only each symbol's newest quote, so how many messages go out depends on how fast
    # this machine drains the batches (about 300 quotes: fewer messages under load); what must hold
    # is that every one published arrived, in order, and that the last quote was among them
    assert len(messages) == report.published >= 10 * len(SYMBOLS)
    for symbol in SYMBOLS:
        mine = [m for m in messages if m["stream"] == quote_stream(symbol)]
        assert {m["event"] for m in mine} == {"quote"}
        seqs = [m["seq"] for m in mine]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        times = [datetime.fromisoformat(m["data"]["ts"]) for m in mine]
        assert times == sorted(set(times))
        assert mine[-1]["data"] == quote_payload(provider.quote_at(symbol, last_tick))
    # 1m bars: the first (joined mid-minute) comes from history; the others are built from quotes,
    # which open and close on the bar's open and close and carry its volume
    for symbol in SYMBOLS:
        bars = await database_sync_to_async(stored_1m)(symbol)
        truth = afterwards.history(symbol, "1m", BAR_TIMES[0], UNTIL)
        assert [bar.open_time for bar in bars] == BAR_TIMES
        assert bars[0] == truth[0]
        for built, real in zip(bars[1:], truth[1:], strict=True):
            assert (built.open, built.close, built.volume) == (real.open, real.close, real.volume)
            assert real.low <= built.low <= built.high <= real.high
    assert report.partial_bars_fetched == 2
    assert (report.rejected_quotes, report.late_quotes, report.bars_rejected) == (0, 0, 0)
    # bar-closed: once per stored bar, 1m and the 5m/15m/1h bars completed at 15:00, after commit
    keys = collections.Counter(event.key for event in closed_events)
    assert set(keys.values()) == {1}
    closed = {(e.bar.symbol, e.bar.timeframe.value, e.bar.open_time) for e in closed_events}
    expected = {(s, "1m", at) for s in SYMBOLS for at in BAR_TIMES} | {
        (s, timeframe, datetime(2025, 11, 26, 15, tzinfo=UTC) - Timeframe(timeframe).delta)
        for s in SYMBOLS
        for timeframe in ("5m", "15m", "1h")
    }
    assert closed == expected
    assert sorted(enqueued) == sorted(
        (e.instrument_id, e.bar.timeframe.value, e.bar.open_time.isoformat()) for e in closed_events
    )
    # derived bars rolled up at 15:00 equal the provider's (the backfill supplied their other minutes)
    for event in closed_events:
        if event.bar.timeframe is not Timeframe.M1:
            start = event.bar.open_time
            assert [event.bar] == afterwards.history(event.bar.symbol, event.bar.timeframe, start, UNTIL)[:1]


class FaultyProvider(SimulatorProvider):
    """The simulator with three bad quotes slipped into the stream (crossed book, naive time, a
    symbol nobody asked for) and a bad bar for the first, partial minute."""

    def stream_quotes(self, symbols, *, until=None, quotes_per_second=None, sleep=None):
        for index, quote in enumerate(super().stream_quotes(symbols, until=until)):
            if index == 10:
                yield dataclasses.replace(quote, bid=quote.ask + Decimal("1"))
                yield dataclasses.replace(quote, ts=quote.ts.replace(tzinfo=None))
                yield dataclasses.replace(quote, symbol="ETH/USD")
            yield quote

    def history(self, symbol, timeframe, start, end):
        return [
            dataclasses.replace(bar, high=bar.low - Decimal("0.01"))
            for bar in super().history(symbol, timeframe, start, end)
        ]


def test_bad_quotes_and_bars_from_the_provider_are_reported_and_skipped(clean_redis, closed_events):
    provider = simulated(provider_class=FaultyProvider)
    ingest.ensure_instruments(provider, ["BTC/USD"])

    report = run_feed(provider, ["BTC/USD"], until=UNTIL, publish=False, enqueue=False)

    assert report.rejected_quotes == 3
    assert any("crossed book" in problem for problem in report.problems)
    assert any("naive" in problem for problem in report.problems)
    assert any("not a symbol of this feed" in problem for problem in report.problems)
    assert report.bars_rejected == 1  # the partial first minute, fetched from the faulty history
    assert [bar.open_time for bar in stored_1m("BTC/USD")] == BAR_TIMES[1:]
    assert latest_quote("ETH/USD") is None
    assert latest_quote("BTC/USD").ts == UNTIL - timedelta(milliseconds=250)


def test_a_failing_live_handler_does_not_stop_the_feed_or_the_other_handlers(clean_redis, closed_events):
    def broken(event: BarClosed) -> None:
        raise RuntimeError("bug in a handler")

    on_bar_closed(broken)
    try:
        provider = simulated(at=datetime(2025, 11, 26, 15, 0, tzinfo=UTC))
        ingest.ensure_instruments(provider, ["BTC/USD"])
        report = run_feed(provider, ["BTC/USD"], until=UNTIL, publish=False, enqueue=False)
    finally:
        remove_bar_closed_handler(broken)

    assert report.partial_bars_fetched == 0  # started on a minute boundary: every bar is whole
    assert [e.bar.open_time for e in closed_events if e.bar.timeframe is Timeframe.M1] == BAR_TIMES[1:]


def test_the_feed_stops_promptly_when_asked():
    provider = SimulatorProvider(seed=7)  # the real clock: crypto always trades
    ingest.ensure_instruments(provider, ["BTC/USD", "ETH/USD"])
    stop = threading.Event()
    threading.Timer(0.7, stop.set).start()
    started = time.monotonic()

    report = run_feed(provider, ["BTC/USD", "ETH/USD"], publish=False, enqueue=False, stop=stop)

    assert time.monotonic() - started < 2.5
    assert report.quotes > 0


def test_the_bar_closed_task_runs_durable_handlers_once_per_bar(clean_redis):
    provider = simulated()
    ingest.backfill(symbols=["BTC/USD"], days_daily=0, days_minute=1, now=START, source=provider)
    instrument = Instrument.objects.get(symbol="BTC/USD")
    from marketdata import hooks

    heard: list[str] = []
    handler = on_bar_closed(lambda event: heard.append(event.key), durable=True)
    registered = len(hooks._durable)  # other apps (strategies) register theirs too
    try:
        at = datetime(2025, 11, 26, 14, 58, tzinfo=UTC)
        first = tasks.bar_closed(instrument.pk, "1m", at.isoformat())
        again = tasks.bar_closed(instrument.pk, "1m", at.isoformat())
        missing = tasks.bar_closed(instrument.pk, "1m", START.replace(day=27).isoformat())
        live = dispatch_bar_closed(
            BarClosed(instrument.pk, bars_page(instrument, "1m", at, START, limit=1).bars[0])
        )
    finally:
        remove_bar_closed_handler(handler)

    assert first == {"handlers": registered}
    assert again == {"skipped": "already dispatched"}
    assert missing == {"skipped": "no such bar"}
    assert live == 0  # durable handlers never run in the feed process
    assert heard == [f"{instrument.pk}:1m:{at.isoformat()}"]


@pytest.mark.slow
def test_the_feed_command_exits_cleanly_on_sigterm(tmp_path, clean_redis):
    ingest.ensure_instruments(SimulatorProvider(), ["BTC/USD"])
    redis_client().delete(QUOTE_KEY.format(symbol="BTC/USD"))
    db = connection.settings_dict
    credentials = f"{db['USER']}:{db['PASSWORD']}" if db["PASSWORD"] else db["USER"]
    database_url = f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "TRADEAPP_ENV": "test", "LOG_LEVEL": "WARNING"}
    log = tmp_path / "feed.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "feed", "--symbols", "BTC/USD", "--backfill", "skip", "--no-tasks"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:

            def streaming() -> bool:
                assert process.poll() is None, log.read_text()
                return latest_quote("BTC/USD") is not None  # its first quote is in Redis

            wait_until(streaming, timeout=60, message=log.read_text)
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            code = process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, log.read_text()
    assert time.monotonic() - stopped < 5
    assert "feed: stopped" in log.read_text()
