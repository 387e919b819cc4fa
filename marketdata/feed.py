"""The live feed: provider quotes -> latest quotes (Redis) -> websocket groups -> 1m bars (PostgreSQL).

Three threads, so that nothing slow sits between a quote and the browsers:

- **producer**: iterates ``provider.stream_quotes`` (which blocks and sleeps between ticks) into a queue.
- **main** (``LiveFeed.run``): takes what arrived together as one batch (normally one provider tick:
  every symbol's quote at one instant, so batching adds no waiting), screens it (a bad quote is counted
  and logged, never a crash), writes the newest quote per symbol to Redis in one pipeline, publishes
  each to ``quote_stream(symbol)`` with its sequence number (``marketdata.fanout``: the batch's sequence
  numbers in one Redis round trip, then one PUBLISH per stream, on one long-lived asyncio loop whose
  channel-layer connections are reused), and feeds a per-symbol ``BarBuilder``. Once a second, when it
  has caught up, it also closes
  bars whose minute ended more than ``grace`` ago without a newer quote (a market that just closed).
- **writer**: upserts closed 1m bars (``upsert_bars``), rolls up the 5m/15m/1h bars and the daily bar
  they complete (``ingest.roll_up``), and after the commit emits "bar closed": live handlers
  (``marketdata.hooks``), one ``marketdata.bar_closed`` task per bar, and a ``bar`` event on
  ``bar_stream(symbol, timeframe)``. Database trouble is retried on the next batch; the feed goes on.

A bar built from quotes has the quotes' extremes as high/low. The first bar of each symbol after a start
is incomplete (the feed joined mid-minute), so that one minute is fetched from ``provider.history``
instead; minutes the feed missed while down are filled by the backfill and the hourly gap repair.

``run_feed`` returns when the stream ends (``until``) or ``stop`` is set (SIGTERM/SIGINT in the
``feed`` command), within about a quarter of a second plus the writer's last commit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.layers import get_channel_layer
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from marketdata import calendar, ingest
from marketdata.aggregate import BarBuilder, daily_label_for
from marketdata.domain import AssetClass, Bar, Quote, Timeframe, ensure_utc, quote_problems
from marketdata.fanout import Publication, publish_events
from marketdata.hooks import BarClosed, dispatch_bar_closed, dispatch_quotes
from marketdata.models import Instrument
from marketdata.providers.base import MarketDataProvider, ProviderError
from marketdata.quotes import quote_payload, store_quotes
from marketdata.selectors import bars_page
from marketdata.services import upsert_bars
from marketdata.streams import bar_stream, quote_stream
from marketdata.tasks import bar_closed
from tradeapp.core import clock as core_clock

logger = logging.getLogger(__name__)

WAKE_SECONDS = 0.25
"""Longest wait for a quote before the main loop looks at ``stop`` and idle bars again."""
GATHER_SECONDS = 0.002
"""A batch ends when no further quote arrives within this (the rest of a tick comes in microseconds)."""
MAX_BATCH_SECONDS = 0.05
MAX_BATCH = 5000
FLUSH_EVERY_SECONDS = 1.0
DEFAULT_GRACE = timedelta(seconds=2)
STATUS_EVERY_SECONDS = 60.0
WRITER_RETRY_LIMIT = 20_000  # closed bars kept for retry while the database is away
QUEUE_LIMIT = 100_000
MAX_PROBLEMS = 100


@dataclass
class FeedReport:
    """Counters of one ``run_feed`` (the writer's are final once ``run_feed`` returned)."""

    quotes: int = 0
    rejected_quotes: int = 0
    late_quotes: int = 0
    stored_quotes: int = 0
    published: int = 0
    publish_errors: int = 0
    batches: int = 0
    bars_closed: int = 0
    bars_written: int = 0
    bars_rejected: int = 0
    partial_bars_fetched: int = 0
    partial_bars_dropped: int = 0
    derived_written: int = 0
    bar_events: int = 0
    write_errors: int = 0
    problems: list[str] = field(default_factory=list)
    batch_seconds_total: float = 0.0
    batch_seconds_max: float = 0.0

    def note(self, problem: str) -> None:
        """Record (and log) a problem; after the first 100 only the counters and the status line tell."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
            logger.warning("feed: %s", problem)

    def summary(self) -> str:
        mean_ms = 1000 * self.batch_seconds_total / self.batches if self.batches else 0.0
        return (
            f"{self.quotes:,} quotes ({self.rejected_quotes} rejected, {self.late_quotes} late), "
            f"{self.published:,} published, {self.batches:,} batches (mean {mean_ms:.2f} ms, max "
            f"{1000 * self.batch_seconds_max:.1f} ms); {self.bars_closed:,} 1m bars closed, "
            f"{self.bars_written:,} written ({self.bars_rejected} rejected, {self.partial_bars_fetched} "
            f"partial fetched from history), {self.derived_written:,} derived, {self.bar_events:,} bar events"
        )


@dataclass(frozen=True, slots=True)
class _ClosedBar:
    instrument: Instrument
    bar: Bar
    partial: bool


class _End:
    """Marks the end of the stream (or its failure) in the producer queue."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class _SymbolBars:
    """The 1m bar being built for one symbol, and what is known about it."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.builder = BarBuilder(instrument.symbol, Timeframe.M1)
        self.partial_open: datetime | None = None  # open time of the first, incomplete bar
        self.last_closed: datetime | None = None
        self.started = False

    def add(self, quote: Quote) -> tuple[list[_ClosedBar], bool]:
        """Closed bars, and False when the quote was late (its minute is closed already)."""
        minute = quote.ts.replace(second=0, microsecond=0)
        if self.last_closed is not None and minute <= self.last_closed:
            return [], False
        if not self.started:
            self.started = True
            if quote.ts != minute:
                self.partial_open = minute
        return self._closed(self.builder.add_quote(quote)), True

    def flush(self, now: datetime) -> list[_ClosedBar]:
        return self._closed(self.builder.flush(now))

    def _closed(self, bars: list[Bar]) -> list[_ClosedBar]:
        out = []
        for bar in bars:
            self.last_closed = bar.open_time
            out.append(_ClosedBar(self.instrument, bar, partial=bar.open_time == self.partial_open))
        return out


class _Publisher:
    """Sends on one long-lived event loop (the channel layer keeps its connections per loop), all of a
    batch's events at once (``marketdata.fanout``)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._layer = get_channel_layer()

    def publish(self, publications: Sequence[Publication]) -> int:
        if not publications:
            return 0
        return self._loop.run_until_complete(publish_events(self._layer, publications))

    def close(self) -> None:
        # channels_redis hooks loop.close() to close this loop's connections (and only this loop's:
        # close_pools() would close those of every loop in the process)
        try:
            self._loop.close()
        except (RedisError, OSError) as error:
            logger.warning("feed: closing channel-layer connections failed: %s", error)


class _BarWriter:
    """The writer thread: upserts, roll-ups and bar-closed events, off the quotes' path."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self.report = feed.report
        self.queue: queue.Queue[list[_ClosedBar] | None] = queue.Queue()
        self.pending: list[_ClosedBar] = []  # kept for a retry after a database error
        self.thread = threading.Thread(target=self._run, name="feed-bar-writer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def submit(self, closed: list[_ClosedBar]) -> None:
        if closed:
            self.queue.put(closed)

    def close(self, timeout: float = 10.0) -> None:
        self.queue.put(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            logger.warning("feed: the bar writer did not finish within %.0f s", timeout)

    def _run(self) -> None:
        try:
            stopping = False
            while not stopping:
                item = self.queue.get()
                batch = list(self.pending)
                if item is None:
                    stopping = True
                else:
                    batch.extend(item)
                while True:  # take everything that queued up meanwhile: one transaction for all
                    try:
                        more = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                    else:
                        batch.extend(more)
                self.pending = []
                if batch:
                    self._write(batch)
        finally:
            connections.close_all()  # this thread's connections

    def _write(self, closed: list[_ClosedBar]) -> None:
        """One short transaction per instrument (upsert + roll-ups); its events go out after commit."""
        failed: list[_ClosedBar] = []
        for instrument, bars in _by_instrument(self._complete(closed)).items():
            try:
                with transaction.atomic():
                    events = self._upsert(instrument, bars)
                    transaction.on_commit(functools.partial(self._after_commit, events))
            except DatabaseError as error:
                self.report.write_errors += 1
                self.report.note(f"writing {len(bars)} {instrument.symbol} bars failed ({error}); will retry")
                failed.extend(_ClosedBar(instrument, bar, partial=False) for bar in bars)
        close_old_connections()  # a broken connection is replaced before the next batch
        if failed:
            self.pending = failed[-WRITER_RETRY_LIMIT:]
            time.sleep(0.5)

    def _complete(self, closed: list[_ClosedBar]) -> list[tuple[Instrument, Bar]]:
        """The closed bars, each partial one replaced by the provider's bar of that minute (or dropped
        when the provider has none: gap repair fills it later)."""
        out: list[tuple[Instrument, Bar]] = []
        for item in closed:
            if not item.partial:
                out.append((item.instrument, item.bar))
                continue
            start = item.bar.open_time
            try:
                history = self.feed.provider.history(
                    item.bar.symbol, Timeframe.M1, start, item.bar.close_time
                )
            except ProviderError as error:
                history = []
                self.report.note(f"{item.bar.symbol}: history of {start:%H:%M} failed: {error}")
            if len(history) == 1 and history[0].open_time == start:
                self.report.partial_bars_fetched += 1
                out.append((item.instrument, history[0]))
            else:
                self.report.partial_bars_dropped += 1
        return out

    def _upsert(self, instrument: Instrument, bars: list[Bar]) -> list[BarClosed]:
        report = upsert_bars(instrument=instrument, bars=bars)
        self.report.bars_written += report.written
        self.report.bars_rejected += report.skipped
        for rejected in report.rejected:
            self.report.note(f"{instrument.symbol} bar {rejected.open_time}: {'; '.join(rejected.reasons)}")
        refused = {row.open_time for row in report.rejected}
        events: list[BarClosed] = []
        for bar in bars:
            if bar.open_time in refused:
                continue
            events.append(BarClosed(instrument.pk, bar))
            events.extend(self._roll_up_completed(instrument, bar))
        return events

    def _roll_up_completed(self, instrument: Instrument, bar: Bar) -> list[BarClosed]:
        """Roll up every derived bar (and the daily bar) that ends where this minute ends."""
        end = bar.close_time
        events: list[BarClosed] = []
        for timeframe in ingest.DERIVED_TIMEFRAMES:
            if ingest.floor_time(end, timeframe.delta) == end:
                start = end - timeframe.delta
                self.report.derived_written += ingest.roll_up(
                    instrument_id=instrument.pk, timeframe=timeframe, start=start, end=end
                )
                events.extend(self._stored(instrument, timeframe, start, end))
        kind = AssetClass(instrument.asset_class)
        day = bar.open_time.date()
        bounds = calendar.session_bounds(kind, day)
        if bounds is not None and bounds[1] == end:
            self.report.derived_written += ingest.roll_up_day(
                instrument_id=instrument.pk, asset_class=kind, day=day
            )
            label = daily_label_for(kind)(day)
            events.extend(self._stored(instrument, Timeframe.D1, label, label + timedelta(seconds=1)))
        return events

    @staticmethod
    def _stored(
        instrument: Instrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> list[BarClosed]:
        page = bars_page(instrument, timeframe, start, end, limit=1)
        return [BarClosed(instrument.pk, bar) for bar in page.bars]

    def _after_commit(self, events: list[BarClosed]) -> None:
        self.report.bar_events += len(events)
        for event in events:
            dispatch_bar_closed(event)
        if self.feed.enqueue:
            self._enqueue(events)
        if self.feed.publish:
            self.feed.publications.put(
                [(bar_stream(e.bar.symbol, e.bar.timeframe), "bar", _bar_payload(e.bar)) for e in events]
            )

    def _enqueue(self, events: list[BarClosed]) -> None:
        try:
            for event in events:
                bar_closed.delay(
                    event.instrument_id, event.bar.timeframe.value, event.bar.open_time.isoformat()
                )
        except BrokerError as error:
            self.report.note(f"enqueueing bar_closed tasks failed: {error}")


def _by_instrument(bars: Iterable[tuple[Instrument, Bar]]) -> dict[Instrument, list[Bar]]:
    grouped: dict[Instrument, list[Bar]] = {}
    for instrument, bar in bars:
        grouped.setdefault(instrument, []).append(bar)
    for items in grouped.values():
        items.sort(key=lambda bar: bar.open_time)
    return grouped


def _bar_payload(bar: Bar) -> dict[str, Any]:
    return {
        "symbol": bar.symbol,
        "timeframe": bar.timeframe.value,
        "open_time": bar.open_time.isoformat(),
        "open": str(bar.open),
        "high": str(bar.high),
        "low": str(bar.low),
        "close": str(bar.close),
        "volume": str(bar.volume),
        "trade_count": bar.trade_count,
    }


def _instruments(provider: MarketDataProvider, symbols: Sequence[str]) -> dict[str, Instrument]:
    """One row per symbol: active before inactive, the provider's own before other sources'."""
    rows = sorted(
        Instrument.objects.filter(symbol__in=list(symbols)),
        key=lambda row: (not row.active, row.data_source != provider.name, row.pk),
    )
    found: dict[str, Instrument] = {}
    for row in rows:
        found.setdefault(row.symbol, row)
    missing = [symbol for symbol in symbols if symbol not in found]
    if missing:
        raise ValueError(f"no instrument for {', '.join(missing)}: sync instruments before starting the feed")
    return found


class LiveFeed:
    """One run of the live feed; see the module docstring. Use ``run_feed``."""

    def __init__(
        self,
        provider: MarketDataProvider,
        symbols: Sequence[str],
        *,
        until: datetime | None = None,
        publish: bool = True,
        enqueue: bool = True,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] | None = None,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        self.provider = provider
        self.symbols = list(dict.fromkeys(symbols))
        self.until = ensure_utc(until) if until is not None else None
        self.publish = publish
        self.enqueue = enqueue
        self.stop = stop or threading.Event()
        self.clock = clock or getattr(provider, "clock", None) or core_clock.now
        self.grace = grace
        self.report = FeedReport()
        self.publications: queue.SimpleQueue[list[Publication]] = queue.SimpleQueue()
        self._quotes: queue.Queue[Quote | _End] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._bars = {
            symbol: _SymbolBars(row) for symbol, row in _instruments(provider, self.symbols).items()
        }
        if not connection.in_atomic_block:
            # from here on only the writer thread uses the database: an idle connection held for days
            # would only break on the next database restart
            connection.close()
        self._writer = _BarWriter(self)
        self._publisher = _Publisher() if publish else None
        self._last_flush = time.monotonic()
        self._last_status = time.monotonic()

    # -- threads --

    def _produce(self) -> None:
        end = _End()
        try:
            for quote in self.provider.stream_quotes(self.symbols, until=self.until):
                while not self.stop.is_set():
                    try:
                        self._quotes.put(quote, timeout=WAKE_SECONDS)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    break
        # handed to the main thread, which raises it: a stream failure must end the feed loudly
        except Exception as error:  # noqa: BLE001
            end = _End(error)
        finally:
            self._quotes.put(end)

    def run(self) -> FeedReport:
        producer = threading.Thread(target=self._produce, name="feed-quotes", daemon=True)
        self._writer.start()
        producer.start()
        logger.info("feed: streaming %d symbols from %s", len(self.symbols), self.provider.name)
        failure: BaseException | None = None
        try:
            while not self.stop.is_set():
                batch, end = self._next_batch()
                if batch:
                    self._handle(batch)
                self._publish_bar_events()
                if end is not None:
                    failure = end.error
                    if failure is None and self.until is not None:
                        self._writer.submit(self._flush(self.until))
                    break
                if self._quotes.empty() and time.monotonic() - self._last_flush >= FLUSH_EVERY_SECONDS:
                    self._writer.submit(self._flush(ensure_utc(self.clock()) - self.grace))
                self._log_status()
        finally:
            self.stop.set()
            self._writer.close()
            self._publish_bar_events()
            if self._publisher is not None:
                self._publisher.close()
        if failure is not None:
            raise failure
        logger.info("feed: stopped; %s", self.report.summary())
        return self.report

    # -- main loop steps --

    def _next_batch(self) -> tuple[list[Quote], _End | None]:
        try:
            first = self._quotes.get(timeout=WAKE_SECONDS)
        except queue.Empty:
            return [], None
        if isinstance(first, _End):
            return [], first
        batch = [first]
        deadline = time.monotonic() + MAX_BATCH_SECONDS
        while len(batch) < MAX_BATCH and time.monotonic() < deadline:
            try:
                item = self._quotes.get(timeout=GATHER_SECONDS)
            except queue.Empty:
                break
            if isinstance(item, _End):
                return batch, item
            batch.append(item)
        return batch, None

    def _handle(self, batch: list[Quote]) -> None:
        started = time.perf_counter()
        report = self.report
        report.batches += 1
        report.quotes += len(batch)
        newest: dict[str, Quote] = {}
        closed: list[_ClosedBar] = []
        for quote in batch:
            state = self._bars.get(quote.symbol)
            problems = quote_problems(quote) if state is not None else ["not a symbol of this feed"]
            if problems:
                report.rejected_quotes += 1
                report.note(f"quote {quote.symbol} at {quote.ts}: {'; '.join(problems)}")
                continue
            assert state is not None
            utc_quote = _in_utc(quote)
            bars, on_time = state.add(utc_quote)
            if not on_time:
                report.late_quotes += 1
                continue
            closed.extend(bars)
            newest[utc_quote.symbol] = utc_quote  # a symbol seen twice in one batch: only its newest is sent
        if newest:
            self._store_and_publish(list(newest.values()))
        report.bars_closed += len(closed)
        self._writer.submit(closed)
        elapsed = time.perf_counter() - started
        report.batch_seconds_total += elapsed
        report.batch_seconds_max = max(report.batch_seconds_max, elapsed)

    def _store_and_publish(self, quotes: list[Quote]) -> None:
        try:
            self.report.stored_quotes += store_quotes(quotes)
        except (RedisError, OSError) as error:
            self.report.note(f"storing {len(quotes)} quotes failed: {error}")
        if self._publisher is not None:
            publications = [(quote_stream(q.symbol), "quote", quote_payload(q)) for q in quotes]
            try:
                self.report.published += self._publisher.publish(publications)
            except (RedisError, OSError) as error:
                self.report.publish_errors += 1
                self.report.note(f"publishing {len(quotes)} quotes failed: {error}")
        if self.enqueue:
            dispatch_quotes(quotes)  # after publishing: the browsers' latency does not wait for it

    def _publish_bar_events(self) -> None:
        if self._publisher is None:
            return
        publications: list[Publication] = []
        while True:
            try:
                publications.extend(self.publications.get_nowait())
            except queue.Empty:
                break
        try:
            self._publisher.publish(publications)
        except (RedisError, OSError) as error:
            self.report.note(f"publishing {len(publications)} bar events failed: {error}")

    def _flush(self, now: datetime) -> list[_ClosedBar]:
        self._last_flush = time.monotonic()
        closed = [bar for state in self._bars.values() for bar in state.flush(now)]
        self.report.bars_closed += len(closed)
        return closed

    def _log_status(self) -> None:
        if time.monotonic() - self._last_status >= STATUS_EVERY_SECONDS:
            self._last_status = time.monotonic()
            logger.info("feed: %s", self.report.summary())


def _in_utc(quote: Quote) -> Quote:
    return quote if quote.ts.tzinfo is UTC else replace(quote, ts=quote.ts.astimezone(UTC))


def run_feed(
    provider: MarketDataProvider,
    symbols: Sequence[str],
    *,
    until: datetime | None = None,
    publish: bool = True,
    enqueue: bool = True,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> FeedReport:
    """Stream ``symbols`` from ``provider`` until ``until`` (for ever if None) or until ``stop`` is set.

    Each symbol needs an Instrument row (``ingest.ensure_instruments``). ``publish`` sends quotes and
    closed bars to the websocket groups; ``enqueue`` sends a ``marketdata.bar_closed`` task per stored
    bar. ``clock`` (default: the provider's) decides when a quiet bar is closed. The provider's
    ``history`` may be called from another thread while the stream runs."""
    return LiveFeed(
        provider,
        symbols,
        until=until,
        publish=publish,
        enqueue=enqueue,
        stop=stop,
        clock=clock,
        grace=grace,
    ).run()
