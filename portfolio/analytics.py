"""Portfolio analytics arithmetic (pure, no Django): equity-curve ranges, the regular equity series the
metrics need, exposure, allocation, and realised P&L grouped by symbol and by strategy.

Conventions:

* Curve ranges are rolling windows ending now (``1D`` = the last 24 hours), clipped to when the
  account opened (or was last reset); each has a bucket size that bounds its number of points
  (``ALL`` picks one from its span). A bucket keeps its last snapshot.
* The metrics read the equity once per period on a grid that ends now: hourly while the account is
  younger than ``DAILY_METRICS_AFTER``, then daily (calendar days, 365 a year: the books move on
  weekends too when crypto is held). The value at a grid time is the last known equity at or before it.
  Live figures (an account, a deployment) are shown only once they mean something (``reliable``): the
  annualised return and Calmar wait for ``MIN_ANNUALIZED_SPAN`` of history, the volatility, Sharpe and
  Sortino for ``MIN_RATIO_PERIODS`` returns.
* Money stays Decimal (allocation, realised P&L); statistics are float64 (``portfolio.metrics``).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from portfolio import ledger
from portfolio.ledger import RoundTrip
from portfolio.metrics import Metrics, compute_metrics

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MANUAL = "Manual"


# --- equity curve ranges ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurveRange:
    name: str
    label: str
    description: str
    window: timedelta | None  # None: since the account opened
    bucket: timedelta | None  # None: chosen from the span (at most MAX_CURVE_POINTS buckets)


RANGES: dict[str, CurveRange] = {
    spec.name: spec
    for spec in (
        CurveRange("1D", "1D", "past 24 hours", timedelta(days=1), timedelta(minutes=1)),
        CurveRange("1W", "1W", "past week", timedelta(days=7), timedelta(minutes=10)),
        CurveRange("1M", "1M", "past 30 days", timedelta(days=30), timedelta(hours=1)),
        CurveRange("3M", "3M", "past 90 days", timedelta(days=90), timedelta(hours=3)),
        CurveRange("1Y", "1Y", "past year", timedelta(days=365), timedelta(hours=12)),
        CurveRange("ALL", "All", "since opening", None, None),
    )
}
DEFAULT_RANGE = "1M"
MAX_CURVE_POINTS = 720


def parse_range(text: object) -> str | None:
    """The range named by ``text`` (any case: ``1d``, ``All``), or None."""
    name = str(text or "").strip().upper()
    return name if name in RANGES else None


@dataclass(frozen=True, slots=True)
class CurveWindow:
    name: str
    start: datetime
    end: datetime
    bucket: timedelta


def curve_window(name: str, *, now: datetime, opened_at: datetime) -> CurveWindow:
    """The span and bucket of range ``name`` (a key of RANGES) ending at ``now``."""
    spec = RANGES[name]
    start = opened_at if spec.window is None else max(now - spec.window, opened_at)
    start = min(start, now)
    bucket = spec.bucket
    if bucket is None:
        minutes = math.ceil((now - start).total_seconds() / 60 / MAX_CURVE_POINTS)
        bucket = timedelta(minutes=max(1, minutes))
    return CurveWindow(name=name, start=start, end=now, bucket=bucket)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    time: datetime
    equity: Decimal


def join_points(
    first: EquityPoint, middle: Iterable[EquityPoint], last: EquityPoint | None
) -> list[EquityPoint]:
    """``first``, the ``middle`` points after it, then ``last`` (the live valuation): strictly increasing
    times (a chart needs them), a later point replacing one at the same time."""
    points = [first]
    for point in [*middle, *([last] if last is not None else [])]:
        if point.time > points[-1].time:
            points.append(point)
        elif point.time == points[-1].time and len(points) > 1:
            points[-1] = point
    return points


# --- metrics on a regular grid ------------------------------------------------------------------------------

DAILY_METRICS_AFTER = timedelta(days=14)
MIN_ANNUALIZED_SPAN = timedelta(days=30)
# returns before a volatility, Sharpe or Sortino is shown: a few minutes of a new deployment annualised
# give figures like a Sharpe of 500
MIN_RATIO_PERIODS = 30


def reliable(metrics: Metrics, *, span: timedelta) -> Metrics:
    """``metrics`` of a live account or deployment without the figures its history is too short for:
    the annualised return and Calmar before ``MIN_ANNUALIZED_SPAN`` (compounding a few hours to a
    year), the volatility, Sharpe and Sortino before ``MIN_RATIO_PERIODS`` returns."""
    if span < MIN_ANNUALIZED_SPAN:
        metrics = dataclasses.replace(metrics, annualized_return=None, calmar=None)
    if metrics.periods < MIN_RATIO_PERIODS:
        metrics = dataclasses.replace(metrics, volatility=None, sharpe=None, sortino=None)
    return metrics


@dataclass(frozen=True, slots=True)
class MetricsPeriod:
    name: str  # "1h" or "1d"
    step: timedelta
    periods_per_year: float


HOURLY = MetricsPeriod("1h", timedelta(hours=1), 365.0 * 24)
DAILY = MetricsPeriod("1d", timedelta(days=1), 365.0)


def metrics_period(*, opened_at: datetime, now: datetime) -> MetricsPeriod:
    return DAILY if now - opened_at >= DAILY_METRICS_AFTER else HOURLY


def grid_times(*, start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """``end``, ``end - step``, ... back to the first one after ``start``, oldest first, with ``start``
    itself in front (the opening value): the first period may be short, the others are whole."""
    count = max(0, math.ceil((end - start) / step))
    return [start, *(end - step * k for k in range(count - 1, -1, -1))]


def value_at(points: Sequence[EquityPoint], times: Sequence[datetime]) -> list[float]:
    """For each time, the equity of the last point at or before it (the first point's before it).
    ``points`` in time order."""
    stamps = [point.time for point in points]
    values = []
    for moment in times:
        index = bisect.bisect_right(stamps, moment) - 1
        values.append(float(points[max(index, 0)].equity))
    return values


def exposure_flags(times: Sequence[datetime], changes: Sequence[tuple[datetime, bool]]) -> list[bool]:
    """For each grid time: was a position open during the period ending there (or at it, for the first)?
    ``changes``: (fill time, whether any position is open after it), in time order. A fill inside a
    period means a position was open at that moment."""
    stamps = [moment for moment, _ in changes]
    flags = []
    previous: datetime | None = None
    for moment in times:
        index = bisect.bisect_right(stamps, moment) - 1
        open_now = index >= 0 and changes[index][1]
        traded = previous is not None and index >= 0 and stamps[index] > previous
        flags.append(open_now or traded)
        previous = moment
    return flags


def account_metrics(
    *,
    times: Sequence[datetime],
    equity: Sequence[float],
    trips: Sequence[RoundTrip],
    in_market: Sequence[bool],
    period: MetricsPeriod,
) -> Metrics:
    """``portfolio.metrics`` of the account: its equity per period and its closed round trips, without
    the figures its history is too short for (``reliable``)."""
    metrics = compute_metrics(
        equity=equity,
        times=times,
        trade_pnls=[float(trip.pnl) for trip in trips],
        trade_returns=[float(trip.trade_return or 0) for trip in trips],
        in_market=in_market,
        periods_per_year=period.periods_per_year,
    )
    span = times[-1] - times[0] if len(times) >= 2 else timedelta(0)
    return reliable(metrics, span=span)


# --- allocation ---------------------------------------------------------------------------------------------


def percent_of(value: Decimal, total: Decimal) -> Decimal | None:
    """``value`` as a percentage of ``total`` (28 significant digits); None unless total > 0."""
    if total <= 0:
        return None
    with localcontext() as context:
        context.prec = 28
        return value * HUNDRED / total


ASSET_CLASS_LABELS = {"stock": "Stocks", "etf": "ETFs", "crypto": "Crypto", "forex": "Forex"}


@dataclass(frozen=True, slots=True)
class Holding:
    symbol: str
    asset_class: str
    market_value: Decimal  # signed: < 0 for a short


@dataclass(frozen=True, slots=True)
class AllocationRow:
    """One slice of the equity: a symbol, an asset class, or ``cash``. ``value`` is signed (a short's
    is negative, and its sale proceeds sit in cash), so the rows' percentages add up to 100."""

    key: str
    label: str
    asset_class: str
    long_value: Decimal
    short_value: Decimal
    pct: Decimal | None

    @property
    def value(self) -> Decimal:
        return self.long_value + self.short_value

    @property
    def side(self) -> str:
        if self.key == "cash":
            return "cash"
        if self.long_value and self.short_value:
            return "mixed"
        return "short" if self.short_value else "long"


@dataclass(frozen=True, slots=True)
class Allocation:
    equity: Decimal
    cash: Decimal
    long_value: Decimal
    short_value: Decimal
    by_symbol: list[AllocationRow]
    by_asset_class: list[AllocationRow]

    @property
    def gross_exposure_pct(self) -> Decimal | None:
        """(longs + |shorts|) as a percentage of equity."""
        return percent_of(self.long_value - self.short_value, self.equity)

    @property
    def net_exposure_pct(self) -> Decimal | None:
        return percent_of(self.long_value + self.short_value, self.equity)


def allocation(holdings: Iterable[Holding], *, cash: Decimal, equity: Decimal) -> Allocation:
    """The equity split by symbol and by asset class (largest first by size), cash last in each."""
    holdings = list(holdings)
    cash_row = AllocationRow("cash", "Cash", "cash", cash, ZERO, percent_of(cash, equity))

    def row(key: str, label: str, asset_class: str, values: list[Decimal]) -> AllocationRow:
        long_value = sum((v for v in values if v > 0), ZERO)
        short_value = sum((v for v in values if v < 0), ZERO)
        return AllocationRow(
            key, label, asset_class, long_value, short_value, percent_of(long_value + short_value, equity)
        )

    def by_size(rows: list[AllocationRow]) -> list[AllocationRow]:
        return sorted(rows, key=lambda r: (-(r.long_value - r.short_value), r.key))

    symbols = by_size([row(h.symbol, h.symbol, h.asset_class, [h.market_value]) for h in holdings])
    classes: dict[str, list[Decimal]] = {}
    for holding in holdings:
        classes.setdefault(holding.asset_class, []).append(holding.market_value)
    asset_classes = by_size(
        [
            row(name, ASSET_CLASS_LABELS.get(name, name.title()), name, values)
            for name, values in classes.items()
        ]
    )
    return Allocation(
        equity=equity,
        cash=cash,
        long_value=sum((r.long_value for r in symbols), ZERO),
        short_value=sum((r.short_value for r in symbols), ZERO),
        by_symbol=[*symbols, cash_row],
        by_asset_class=[*asset_classes, cash_row],
    )


# --- realised P&L by symbol and by strategy -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One of the account's fills as the analytics read it. ``realized_pnl`` is what the account booked
    for it (against the account's average cost, net of its commission)."""

    symbol: str
    asset_class: str
    side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    realized_pnl: Decimal
    executed_at: datetime
    deployment_id: str | None


@dataclass(slots=True)
class RealizedRow:
    key: str
    label: str
    realized_pnl: Decimal = ZERO
    commission: Decimal = ZERO
    fills: int = 0
    trades: int = 0  # closed round trips (by symbol only)
    wins: int = 0
    symbols: list[str] = field(default_factory=list)

    @property
    def win_rate(self) -> Decimal | None:
        return percent_of(Decimal(self.wins), Decimal(self.trades)) if self.trades else None


def _add(row: RealizedRow, fill: FillRecord) -> None:
    row.realized_pnl += fill.realized_pnl
    row.commission += fill.commission
    row.fills += 1
    if fill.symbol not in row.symbols:
        row.symbols.append(fill.symbol)


def _ordered(rows: Iterable[RealizedRow]) -> list[RealizedRow]:
    return sorted(rows, key=lambda r: (-r.realized_pnl, r.label))


def realized_by_symbol(fills: Iterable[FillRecord], trips: Iterable[RoundTrip]) -> list[RealizedRow]:
    """Per symbol: the exact sum of its fills' realised P&L and commissions, fills, closed round trips
    and winning ones; best first."""
    rows: dict[str, RealizedRow] = {}
    for fill in fills:
        _add(rows.setdefault(fill.symbol, RealizedRow(fill.symbol, fill.symbol)), fill)
    for trip in trips:
        row = rows.setdefault(trip.key, RealizedRow(trip.key, trip.key))
        row.trades += 1
        row.wins += trip.pnl > 0
    return _ordered(rows.values())


def realized_by_strategy(fills: Iterable[FillRecord], names: Mapping[str, str]) -> list[RealizedRow]:
    """Per strategy deployment (the fills of its orders; ``MANUAL`` for orders placed by hand): the
    realised P&L the account booked for them, commissions and fills; best first. ``names``:
    deployment id -> its name (a deployment deleted since reads "Deleted strategy")."""
    rows: dict[str, RealizedRow] = {}
    for fill in fills:
        key = fill.deployment_id or ""
        label = MANUAL if not key else names.get(key, "Deleted strategy")
        _add(rows.setdefault(key, RealizedRow(key, label)), fill)
    return _ordered(rows.values())


def realized_since(fills: Iterable[FillRecord], moment: datetime) -> Decimal:
    """Realised P&L of the fills executed at or after ``moment`` (today's, for the day P&L)."""
    return sum((fill.realized_pnl for fill in fills if fill.executed_at >= moment), ZERO)


# --- an equity curve replayed from fills and closes -----------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_nanos(moment: datetime) -> int:
    """Nanoseconds since the UTC epoch of an aware datetime (exact integer arithmetic)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


@dataclass(frozen=True, slots=True)
class ClosesSeries:
    """One symbol's bar closes: ``open_times`` (int64 nanoseconds, ascending) and ``closes``."""

    symbol: str
    open_times: Any
    closes: Any


@dataclass(frozen=True, slots=True)
class ReplayedEquity:
    """Equity at each bar of the union of the series' bars: ``times`` (int64 ns), ``equity`` (float),
    ``in_market`` (any position open), and the net P&L and return of each closed round trip."""

    times: Any
    equity: Any
    in_market: Any
    trade_pnls: list[float]
    trade_returns: list[float]


def replay_equity(
    *, base: Decimal, fills: Sequence[FillRecord], series: Sequence[ClosesSeries]
) -> ReplayedEquity | None:
    """Replay ``fills`` (execution order) from ``base`` cash through the bars of ``series``: each fill
    counts from the bar it happened in (the last bar opening at or before it), positions are marked at
    each bar's close. The ledger's arithmetic (``portfolio.ledger.apply_fill``) moves cash and
    positions, so a strategy's curve and the account's agree. None when there are no bars."""
    series = [one for one in series if len(one.open_times)]
    trips = round_trips_of(fills)
    if not series:
        return None
    times = np.unique(np.concatenate([one.open_times for one in series]))
    steps = len(times)
    fill_steps = np.maximum(
        np.searchsorted(times, [epoch_nanos(fill.executed_at) for fill in fills], "right") - 1, 0
    ).astype(np.int64)
    value = np.zeros(steps)
    in_market = np.zeros(steps, dtype=bool)
    cash_after = []
    running = Decimal(0)
    quantities: dict[str, list[tuple[int, float]]] = {}
    state: dict[str, ledger.PositionState] = {}
    for fill, step in zip(fills, fill_steps.tolist(), strict=True):
        effect = ledger.apply_fill(
            state.get(fill.symbol) or ledger.PositionState(),
            side=ledger.Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        )
        state[fill.symbol] = effect.position
        running += effect.cash_delta
        cash_after.append(float(running))
        quantities.setdefault(fill.symbol, []).append((step, float(effect.position.quantity)))
    cash = _forward(fill_steps, np.asarray(cash_after), steps, 0.0)
    for one in series:
        marks = quantities.get(one.symbol)
        if not marks:
            continue
        held = _forward(
            np.asarray([step for step, _ in marks]), np.asarray([q for _, q in marks]), steps, 0.0
        )
        rows = np.searchsorted(one.open_times, times, "right") - 1
        closes = np.where(rows >= 0, one.closes[np.maximum(rows, 0)], 0.0)
        value += held * closes
        in_market |= held != 0
    return ReplayedEquity(
        times=times,
        equity=float(base) + cash + value,
        in_market=in_market,
        trade_pnls=[float(trip.pnl) for trip in trips],
        trade_returns=[float(trip.trade_return or 0) for trip in trips],
    )


def round_trips_of(fills: Iterable[FillRecord]) -> list[RoundTrip]:
    """Closed round trips per symbol, flat (or a flip) to flat, in the order they closed."""
    return ledger.round_trips(
        (fill.symbol, (ledger.Side(fill.side), fill.quantity, fill.price, fill.commission)) for fill in fills
    )


def _forward(steps: Any, values: Any, length: int, initial: float) -> Any:
    """Per step, the value of the last entry at or before it (entries in step order)."""
    if len(steps) == 0:
        return np.full(length, initial)
    index = np.searchsorted(np.asarray(steps), np.arange(length), "right") - 1
    table = np.concatenate([[initial], np.asarray(values, dtype=np.float64)])
    return table[index + 1]
