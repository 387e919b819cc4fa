"""Ingestion use cases: the configured provider, backfilling history, repairing gaps, retention.

Every bar goes in through an idempotent upsert, so each use case can be re-run (by a redelivered task,
a restarted feed, an operator) and writes nothing new the second time:

- bars from a provider (1m, 1d) through ``marketdata.services.upsert_bars`` (COPY + ON CONFLICT; bad
  rows are reported, never stored);
- derived intraday bars (5m, 15m, 1h) are rolled up from the *stored* 1m bars in SQL (``roll_up``),
  never taken from a provider, so they always equal the aggregation of what is stored, whatever wrote
  the minutes (backfill, live feed, gap repair). Buckets follow ``marketdata.aggregate``: aligned to
  multiples of the width since the UTC epoch, labelled by open time, no bar for an empty bucket; only
  complete buckets are written.

Provider calls happen outside transactions; each upsert is one short transaction per instrument and
timeframe, so a killed backfill keeps what it wrote and the next run resumes after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from marketdata import calendar
from marketdata.aggregate import daily_label_for
from marketdata.domain import AssetClass, Bar, InstrumentSpec, Timeframe, ensure_utc
from marketdata.models import Bar as BarRow, Instrument
from marketdata.providers.base import MarketDataProvider, ProviderError, UnknownSymbol
from marketdata.providers.simulator import SimulatorProvider
from marketdata.services import RejectedRow, UpsertReport, sync_instruments, upsert_bars
from tradeapp.core import clock

logger = logging.getLogger(__name__)

DERIVED_TIMEFRAMES = (Timeframe.M5, Timeframe.M15, Timeframe.H1)
"""Rolled up from stored 1m bars, never fetched."""
FETCHED_TIMEFRAMES = (Timeframe.D1, Timeframe.M1)
"""Fetched from the provider by the backfill (daily history reaches further back than minutes)."""
REPAIR_SETTLE = timedelta(minutes=2)
"""Gap repair leaves the newest minutes alone: the live feed may still be writing them."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)


# --- providers ------------------------------------------------------------------------------------------

ProviderFactory = Callable[[], MarketDataProvider]


def _simulator() -> MarketDataProvider:
    return SimulatorProvider(
        seed=settings.SIMULATOR_SEED, quotes_per_second=settings.SIMULATOR_QUOTES_PER_SECOND
    )


PROVIDERS: dict[str, ProviderFactory] = {"simulator": _simulator}
"""Provider name (``MARKETDATA_PROVIDER``) -> factory. Alpaca and ccxt adapters add themselves here."""


def register_provider(name: str, factory: ProviderFactory) -> None:
    PROVIDERS[name] = factory


def provider(name: str | None = None) -> MarketDataProvider:
    """A new instance of the named provider (default: settings.MARKETDATA_PROVIDER)."""
    chosen = name or settings.MARKETDATA_PROVIDER
    factory = PROVIDERS.get(chosen)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ImproperlyConfigured(f"unknown MARKETDATA_PROVIDER {chosen!r}: expected one of {known}")
    return factory()


def provider_specs(source: MarketDataProvider, symbols: Sequence[str] | None = None) -> list[InstrumentSpec]:
    """The provider's instruments, or those of ``symbols`` in that order (UnknownSymbol if one is not
    listed)."""
    specs = source.instruments()
    if symbols is None:
        return specs
    by_symbol = {spec.symbol: spec for spec in specs}
    for symbol in symbols:
        if symbol not in by_symbol:
            raise UnknownSymbol(symbol, source.name)
    return [by_symbol[symbol] for symbol in dict.fromkeys(symbols)]


def ensure_instruments(
    source: MarketDataProvider, symbols: Sequence[str] | None = None
) -> list[tuple[InstrumentSpec, Instrument]]:
    """Create or update the provider's instruments (``symbols`` only, if given); return each spec with
    its row, in the provider's order."""
    specs = provider_specs(source, symbols)
    sync_instruments(specs)
    rows = Instrument.objects.filter(
        venue__in={spec.venue for spec in specs}, symbol__in=[spec.symbol for spec in specs]
    )
    by_key = {(row.venue, row.symbol): row for row in rows}
    return [(spec, by_key[spec.venue, spec.symbol]) for spec in specs]


# --- what is stored ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Extent:
    """Open times of the oldest and newest stored bar of one instrument and timeframe (None: no bars)."""

    earliest: datetime | None = None
    latest: datetime | None = None


# min/max per (instrument, timeframe) as correlated subqueries: each is one probe of the unique index,
# where a GROUP BY would scan every bar.
_EXTENT_QUERY = """
SELECT pair_i.instrument_id, pair_t.timeframe,
    (SELECT min(open_time) FROM marketdata_bar
      WHERE instrument_id = pair_i.instrument_id AND timeframe = pair_t.timeframe AND open_time < %(before)s),
    (SELECT max(open_time) FROM marketdata_bar
      WHERE instrument_id = pair_i.instrument_id AND timeframe = pair_t.timeframe AND open_time < %(before)s)
FROM unnest(%(ids)s::bigint[]) AS pair_i(instrument_id),
    unnest(%(timeframes)s::varchar[]) AS pair_t(timeframe)
"""


def stored_extents(instrument_ids: Iterable[int], *, before: datetime) -> dict[tuple[int, Timeframe], Extent]:
    """Oldest and newest stored bar per instrument and timeframe, among those opening before ``before``
    (a backfill up to ``before`` ignores bars a live feed wrote after it, so the gap up to them is
    still found)."""
    ids = list(instrument_ids)
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _EXTENT_QUERY,
            {"ids": ids, "timeframes": [member.value for member in Timeframe], "before": before},
        )
        rows = cursor.fetchall()
    return {
        (instrument_id, Timeframe(timeframe)): Extent(earliest, latest)
        for instrument_id, timeframe, earliest, latest in rows
    }


def missing_ranges(
    start: datetime, end: datetime, stored: Extent, *, step: timedelta
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)`` before the oldest and after the newest stored bar (``step`` past
    it). Holes between the two are gap repair's job, not the backfill's."""
    if start >= end:
        return []
    if stored.earliest is None or stored.latest is None:
        return [(start, end)]
    ranges: list[tuple[datetime, datetime]] = []
    if stored.earliest > start:
        ranges.append((start, min(stored.earliest, end)))
    after = max(stored.latest + step, start)
    if after < end:
        ranges.append((after, end))
    return ranges


def floor_time(at: datetime, step: timedelta) -> datetime:
    """``at`` rounded down to a multiple of ``step`` since the UTC epoch."""
    return at - (at - _EPOCH) % step


def utc_midnight(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


# --- derived bars ----------------------------------------------------------------------------------------

_UPSERT_TAIL = """
ON CONFLICT (instrument_id, timeframe, open_time) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    volume = EXCLUDED.volume, trade_count = EXCLUDED.trade_count
WHERE (marketdata_bar.open, marketdata_bar.high, marketdata_bar.low, marketdata_bar.close,
       marketdata_bar.volume, marketdata_bar.trade_count)
    IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,
                      EXCLUDED.trade_count)
"""
# trade_count is NULL as soon as one minute has none (marketdata.aggregate's rule)
_AGGREGATES = """
    (array_agg(open ORDER BY open_time))[1], max(high), min(low),
    (array_agg(close ORDER BY open_time DESC))[1], sum(volume),
    CASE WHEN count(trade_count) = count(*) THEN sum(trade_count) END
"""
_COLUMNS = "instrument_id, timeframe, open_time, open, high, low, close, volume, trade_count"
_ROLL_UP_INTRADAY = (
    f"INSERT INTO marketdata_bar ({_COLUMNS}) "  # noqa: S608 - constants only; values are bound
    f"SELECT %(instrument)s, %(timeframe)s, bucket, {_AGGREGATES} "
    "FROM (SELECT date_bin(%(width)s, open_time, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket, "
    "open_time, open, high, low, close, volume, trade_count FROM marketdata_bar "
    "WHERE instrument_id = %(instrument)s AND timeframe = '1m' "
    "AND open_time >= %(start)s AND open_time < %(end)s) AS minute "
    f"GROUP BY bucket ORDER BY bucket {_UPSERT_TAIL}"
)
_ROLL_UP_DAY = (
    f"INSERT INTO marketdata_bar ({_COLUMNS}) "  # noqa: S608 - constants only; values are bound
    f"SELECT %(instrument)s, '1d', %(label)s, {_AGGREGATES} FROM marketdata_bar "
    "WHERE instrument_id = %(instrument)s AND timeframe = '1m' "
    "AND open_time >= %(start)s AND open_time < %(end)s HAVING count(*) > 0 "
    f"{_UPSERT_TAIL}"
)


def roll_up(*, instrument_id: int, timeframe: Timeframe, start: datetime, end: datetime) -> int:
    """(Re)compute the ``timeframe`` bars (5m, 15m or 1h) of ``[start, end)`` from the stored 1m bars;
    returns how many rows were inserted or changed. ``start`` and ``end`` must sit on bucket bounds and
    every bucket in between must be complete (its minutes stored): the caller's duty."""
    if not timeframe.is_intraday or timeframe is Timeframe.M1:
        raise ValueError(f"roll_up makes 5m/15m/1h bars, not {timeframe.value}")
    if floor_time(start, timeframe.delta) != start or floor_time(end, timeframe.delta) != end:
        raise ValueError(f"roll_up bounds must be aligned to {timeframe.value}")
    if start >= end:
        return 0
    params = {
        "instrument": instrument_id,
        "timeframe": timeframe.value,
        "width": timeframe.delta,
        "start": start,
        "end": end,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ROLL_UP_INTRADAY, params)
        return max(cursor.rowcount, 0)


def roll_up_day(*, instrument_id: int, asset_class: AssetClass | str, day: date) -> int:
    """(Re)compute the daily bar of UTC calendar ``day`` from its stored 1m bars, labelled by the asset
    class's convention (``marketdata.aggregate.daily_label_for``); returns rows inserted or changed."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    params = {
        "instrument": instrument_id,
        "label": daily_label_for(asset_class)(day),
        "start": start,
        "end": start + timedelta(days=1),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ROLL_UP_DAY, params)
        return max(cursor.rowcount, 0)


# --- backfill ---------------------------------------------------------------------------------------------


@dataclass
class BackfillReport:
    """What a backfill did. ``written`` counts rows sent to the upsert per timeframe (provider bars that
    passed screening; derived bars inserted or changed)."""

    instruments: int = 0
    written: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[str, str, RejectedRow]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_written(self) -> int:
        return sum(self.written.values())

    @property
    def bars_per_second(self) -> float:
        return self.total_written / self.seconds if self.seconds > 0 else 0.0

    def add(self, timeframe: Timeframe, count: int) -> None:
        self.written[timeframe.value] = self.written.get(timeframe.value, 0) + count

    def summary(self) -> str:
        counts = ", ".join(f"{timeframe}: {count:,}" for timeframe, count in self.written.items() if count)
        return (
            f"{self.instruments} instruments, {self.total_written:,} bars written "
            f"({counts or 'nothing new'}) "
            f"in {self.seconds:.1f} s ({self.bars_per_second:,.0f} bars/s); {len(self.rejected)} rows "
            f"rejected, {len(self.problems)} problems"
        )


@dataclass(frozen=True)
class _Job:
    spec: InstrumentSpec
    instrument: Instrument
    fetch: dict[Timeframe, list[tuple[datetime, datetime]]]


@dataclass
class _Fetched:
    bars: dict[Timeframe, list[Bar]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _fetch(source: MarketDataProvider, job: _Job) -> _Fetched:
    fetched = _Fetched()
    for timeframe, ranges in job.fetch.items():
        bars: list[Bar] = []
        try:
            for start, end in ranges:
                bars.extend(source.history(job.spec.symbol, timeframe, start, end))
        except ProviderError as error:
            fetched.problems.append(f"{job.spec.symbol} {timeframe.value}: {error}")
            continue
        fetched.bars[timeframe] = bars
    return fetched


def backfill(
    *,
    symbols: Sequence[str] | None = None,
    days_daily: int = 730,
    days_minute: int = 30,
    now: datetime | None = None,
    source: MarketDataProvider | None = None,
) -> BackfillReport:
    """Load history for the provider's instruments (or ``symbols``): ``days_daily`` days of 1d bars,
    ``days_minute`` days of 1m bars (from UTC midnight, so every derived bucket is whole), and the 5m,
    15m and 1h bars rolled up from the stored minutes.

    Resumable and incremental: per instrument and timeframe it fetches only what lies before the oldest
    or after the newest stored bar (bars opening at or after ``now`` do not count), so a second run
    writes nothing new, and a run after downtime fills the time since, even when a live feed started at
    ``now`` has already written newer bars. (Other holes are ``repair_gaps``'s job.) The next
    instrument's history is fetched while the current one is written. Provider errors and bad rows are
    reported, not raised."""
    started = time.perf_counter()
    source = source or provider()
    now = ensure_utc(now) if now is not None else clock.now()
    report = BackfillReport()
    pairs = ensure_instruments(source, symbols)
    report.instruments = len(pairs)
    extents = stored_extents((row.pk for _, row in pairs), before=now)
    daily_start = now - timedelta(days=days_daily)
    minute_start = utc_midnight(now - timedelta(days=days_minute))
    jobs = []
    for spec, row in pairs:
        plan = {
            Timeframe.D1: missing_ranges(
                daily_start, now, extents.get((row.pk, Timeframe.D1), Extent()), step=_ONE_SECOND
            )
            if days_daily > 0
            else [],
            Timeframe.M1: missing_ranges(
                minute_start, now, extents.get((row.pk, Timeframe.M1), Extent()), step=Timeframe.M1.delta
            )
            if days_minute > 0
            else [],
        }
        jobs.append(_Job(spec, row, {timeframe: ranges for timeframe, ranges in plan.items() if ranges}))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backfill-fetch") as pool:
        pending: Future[_Fetched] | None = pool.submit(_fetch, source, jobs[0]) if jobs else None
        for index, job in enumerate(jobs):
            assert pending is not None
            fetched = pending.result()
            pending = pool.submit(_fetch, source, jobs[index + 1]) if index + 1 < len(jobs) else None
            _write_fetched(job, fetched, report)
            if days_minute > 0:
                _roll_up_missing(job.instrument, minute_start, now, report)
    report.seconds = time.perf_counter() - started
    logger.info("backfill: %s", report.summary())
    return report


def _write_fetched(job: _Job, fetched: _Fetched, report: BackfillReport) -> None:
    report.problems.extend(fetched.problems)
    for timeframe in FETCHED_TIMEFRAMES:
        bars = fetched.bars.get(timeframe)
        if not bars:
            continue
        upserted = upsert_bars(instrument=job.instrument, bars=bars)
        report.add(timeframe, upserted.written)
        report.rejected.extend((job.spec.symbol, timeframe.value, row) for row in upserted.rejected)


def _roll_up_missing(instrument: Instrument, start: datetime, now: datetime, report: BackfillReport) -> None:
    """Roll up the derived buckets of ``[start, now)`` that are complete and not stored yet."""
    extents = stored_extents([instrument.pk], before=now)
    minutes = extents.get((instrument.pk, Timeframe.M1), Extent())
    if minutes.latest is None:
        return
    covered_until = min(now, minutes.latest + Timeframe.M1.delta)
    for timeframe in DERIVED_TIMEFRAMES:
        end = floor_time(covered_until, timeframe.delta)
        stored = extents.get((instrument.pk, timeframe), Extent())
        for range_start, range_end in missing_ranges(start, end, stored, step=timeframe.delta):
            report.add(
                timeframe,
                roll_up(instrument_id=instrument.pk, timeframe=timeframe, start=range_start, end=range_end),
            )


# --- gap repair -------------------------------------------------------------------------------------------


@dataclass
class RepairReport:
    """Gaps found and filled for one instrument and timeframe. ``still_missing`` are expected bars the
    provider did not have (a real market may have minutes without trades)."""

    symbol: str
    timeframe: str
    expected: int = 0
    missing: int = 0
    written: int = 0
    rolled_up: int = 0
    still_missing: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.symbol} {self.timeframe}: {self.expected} expected, {self.missing} missing, "
            f"{self.written} written, {self.rolled_up} rolled up, {self.still_missing} still missing, "
            f"{len(self.rejected)} rejected, {len(self.problems)} problems"
        )


def expected_open_times(
    asset_class: AssetClass | str, timeframe: Timeframe, start: datetime, end: datetime, *, now: datetime
) -> list[int]:
    """Open times (POSIX seconds, ascending) of the complete bars the calendar says ``[start, end)``
    should hold: every session minute for 1m, the non-empty buckets of those for 5m/15m/1h (a bucket
    only when it ends by ``end``), one per session whose close has passed by ``now`` for 1d."""
    kind = AssetClass(asset_class)
    first_day, last_day = start.date(), end.date() + timedelta(days=1)
    if timeframe is Timeframe.D1:
        label = daily_label_for(kind)
        out: list[int] = []
        for day in calendar.session_days(kind, first_day - timedelta(days=1), last_day):
            bounds = calendar.session_bounds(kind, day)
            at = label(day)
            if bounds is not None and start <= at < end and bounds[1] <= now:
                out.append(int(at.timestamp()))
        return out
    low, high = int(start.timestamp()), int(end.timestamp())
    minutes: list[int] = []
    for day in calendar.session_days(kind, first_day, last_day):
        bounds = calendar.session_bounds(kind, day)
        assert bounds is not None
        first = max(int(bounds[0].timestamp()), low)
        first += -first % 60  # round up to a whole minute
        minutes.extend(range(first, min(int(bounds[1].timestamp()), high), 60))
    if timeframe is Timeframe.M1:
        return minutes
    step = timeframe.seconds
    return sorted({minute - minute % step for minute in minutes if minute - minute % step + step <= high})


def _stored_open_times(instrument_id: int, timeframe: Timeframe, start: datetime, end: datetime) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM open_time)::bigint FROM marketdata_bar "
            "WHERE instrument_id = %s AND timeframe = %s AND open_time >= %s AND open_time < %s",
            [instrument_id, timeframe.value, start, end],
        )
        return {row[0] for row in cursor.fetchall()}


def _runs(expected: list[int], missing: set[int]) -> list[tuple[int, int]]:
    """Missing open times grouped into runs of consecutive expected ones: ``(first, last)`` pairs."""
    runs: list[tuple[int, int]] = []
    run_start: int | None = None
    previous: int | None = None
    for at in expected:
        if at in missing:
            if run_start is None:
                run_start = at
            previous = at
        elif run_start is not None:
            assert previous is not None
            runs.append((run_start, previous))
            run_start = None
    if run_start is not None:
        assert previous is not None
        runs.append((run_start, previous))
    return runs


def _contiguous(times: list[int], step: int) -> list[tuple[int, int]]:
    """Sorted open times grouped into runs ``step`` apart: ``(first, last)`` pairs."""
    runs: list[tuple[int, int]] = []
    for at in times:
        if runs and at - runs[-1][1] == step:
            runs[-1] = (runs[-1][0], at)
        else:
            runs.append((at, at))
    return runs


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def repair_gaps(
    *,
    instrument: Instrument,
    timeframe: Timeframe | str,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    source: MarketDataProvider | None = None,
) -> RepairReport:
    """Find the bars of ``[start, end)`` that the calendar expects but the database lacks, and fill them.

    1m and 1d: fetch the missing ones from the provider and upsert only those (bars that are present,
    e.g. written by the live feed, are left as they are); after 1m repairs the derived buckets and days
    holding the repaired minutes are rolled up again. 5m/15m/1h: repair the 1m bars of the missing
    buckets, then roll the buckets up. Minutes younger than REPAIR_SETTLE are left to the live feed.
    Provider errors and bad rows end up in the report."""
    frame = Timeframe.parse(timeframe)
    now = ensure_utc(now) if now is not None else clock.now()
    start = ensure_utc(start)
    end = min(ensure_utc(end), now)
    if frame.is_intraday:
        start = floor_time(start, frame.delta)
        end = floor_time(min(end, now - REPAIR_SETTLE), Timeframe.M1.delta)
    report = RepairReport(instrument.symbol, frame.value)
    if start >= end:
        return report
    source = source or provider()
    expected = expected_open_times(instrument.asset_class, frame, start, end, now=now)
    stored = _stored_open_times(instrument.pk, frame, start, end)
    missing = {at for at in expected if at not in stored}
    report.expected, report.missing = len(expected), len(missing)
    if not missing:
        return report
    if frame in (Timeframe.M1, Timeframe.D1):
        runs = _runs(expected, missing)  # one provider call per run, even across a night
        repaired = _fetch_missing(instrument, frame, runs, missing, source=source, report=report)
        if frame is Timeframe.M1 and repaired:
            report.rolled_up = _roll_up_around(instrument, repaired, now=now)
    else:
        step = frame.seconds
        for first, last in _contiguous(sorted(missing), step):
            inner = repair_gaps(
                instrument=instrument,
                timeframe=Timeframe.M1,
                start=_at(first),
                end=_at(last + step),
                now=now,
                source=source,
            )
            report.written += inner.written
            report.rejected.extend(inner.rejected)
            report.problems.extend(inner.problems)
            report.rolled_up += roll_up(
                instrument_id=instrument.pk, timeframe=frame, start=_at(first), end=_at(last + step)
            )
    report.still_missing = len(missing - _stored_open_times(instrument.pk, frame, start, end))
    logger.info("repair_gaps: %s", report.summary())
    return report


def _fetch_missing(
    instrument: Instrument,
    frame: Timeframe,
    runs: list[tuple[int, int]],
    missing: set[int],
    *,
    source: MarketDataProvider,
    report: RepairReport,
) -> list[int]:
    """Fetch each run of missing bars and upsert those that were missing; returns their open times."""
    bars: list[Bar] = []
    for first, last in runs:
        try:
            fetched = source.history(instrument.symbol, frame, _at(first), _at(last) + _ONE_SECOND)
        except ProviderError as error:
            report.problems.append(f"{instrument.symbol} {frame.value} {_at(first):%Y-%m-%d %H:%M}: {error}")
            continue
        # only the holes: a present bar (e.g. one the live feed built) is not replaced
        bars.extend(bar for bar in fetched if _seconds(bar.open_time) in missing)
    if not bars:
        return []
    upserted: UpsertReport = upsert_bars(instrument=instrument, bars=bars)
    report.written += upserted.written
    report.rejected.extend(upserted.rejected)
    rejected_times = {_seconds(row.open_time) for row in upserted.rejected if row.open_time is not None}
    return [_seconds(bar.open_time) for bar in bars if _seconds(bar.open_time) not in rejected_times]


def _seconds(at: datetime) -> int:
    return int(at.timestamp())


def _roll_up_around(instrument: Instrument, minutes: list[int], *, now: datetime) -> int:
    """Roll up again every complete derived bucket and daily bar that holds one of ``minutes``."""
    rolled = 0
    settled = int(floor_time(now - REPAIR_SETTLE, Timeframe.M1.delta).timestamp())
    for timeframe in DERIVED_TIMEFRAMES:
        step = timeframe.seconds
        buckets = sorted(
            {minute - minute % step for minute in minutes if minute - minute % step + step <= settled}
        )
        for first, last in _contiguous(buckets, step):
            rolled += roll_up(
                instrument_id=instrument.pk, timeframe=timeframe, start=_at(first), end=_at(last + step)
            )
    kind = AssetClass(instrument.asset_class)
    for day in sorted({_at(minute).date() for minute in minutes}):
        bounds = calendar.session_bounds(kind, day)
        if bounds is not None and bounds[1] <= now:
            rolled += roll_up_day(instrument_id=instrument.pk, asset_class=kind, day=day)
    return rolled


REPAIR_TIMEFRAMES = (Timeframe.M1, Timeframe.M5, Timeframe.M15, Timeframe.H1, Timeframe.D1)


def repair_recent_gaps(
    *,
    lookback: timedelta = timedelta(days=1),
    daily_lookback: timedelta = timedelta(days=10),
    symbols: Sequence[str] | None = None,
    now: datetime | None = None,
    source: MarketDataProvider | None = None,
) -> list[RepairReport]:
    """``repair_gaps`` over the recent past for every active instrument of the provider (or ``symbols``):
    intraday timeframes over ``lookback``, daily bars over ``daily_lookback``. The hourly job."""
    source = source or provider()
    now = ensure_utc(now) if now is not None else clock.now()
    rows = Instrument.objects.filter(active=True, data_source=source.name).order_by("symbol")
    if symbols is not None:
        rows = rows.filter(symbol__in=list(symbols))
    reports = []
    for instrument in rows:
        for timeframe in REPAIR_TIMEFRAMES:
            window = daily_lookback if timeframe is Timeframe.D1 else lookback
            reports.append(
                repair_gaps(
                    instrument=instrument,
                    timeframe=timeframe,
                    start=now - window,
                    end=now,
                    now=now,
                    source=source,
                )
            )
    return reports


# --- retention --------------------------------------------------------------------------------------------


def retention_policy() -> dict[Timeframe, timedelta]:
    """How long each timeframe is kept (settings ``MARKETDATA_MINUTE_RETENTION_DAYS`` for 1m,
    ``MARKETDATA_INTRADAY_RETENTION_DAYS`` for 5m/15m); 1h and 1d are kept for ever."""
    minute = timedelta(days=settings.MARKETDATA_MINUTE_RETENTION_DAYS)
    intraday = timedelta(days=settings.MARKETDATA_INTRADAY_RETENTION_DAYS)
    return {Timeframe.M1: minute, Timeframe.M5: intraday, Timeframe.M15: intraday}


@dataclass
class RetentionReport:
    cutoffs: dict[str, datetime] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [
            f"{timeframe} before {cutoff:%Y-%m-%d %H:%M}: {self.deleted.get(timeframe, 0):,}"
            for timeframe, cutoff in self.cutoffs.items()
        ]
        return "deleted " + "; ".join(parts)


def apply_retention(*, now: datetime | None = None) -> RetentionReport:
    """Delete the bars older than ``retention_policy()`` allows, one instrument and timeframe per
    statement (each a short range delete on the unique index, so no long lock on the table)."""
    now = ensure_utc(now) if now is not None else clock.now()
    report = RetentionReport()
    instrument_ids = list(Instrument.objects.values_list("pk", flat=True))
    for timeframe, keep in retention_policy().items():
        cutoff = now - keep
        report.cutoffs[timeframe.value] = cutoff
        deleted = 0
        for instrument_id in instrument_ids:
            count, _ = BarRow.objects.filter(
                instrument_id=instrument_id, timeframe=timeframe.value, open_time__lt=cutoff
            ).delete()
            deleted += count
        report.deleted[timeframe.value] = deleted
    logger.info("apply_retention: %s", report.summary())
    return report
