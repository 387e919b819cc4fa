"""Read paths of the portfolio: positions valued at the latest quotes, the account summary (cash,
equity, buying power, day P&L), the activity feed (fills and ledger entries), and the analytics: the
equity curve over a range, allocation, metrics, realised P&L by symbol and by strategy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import DateTimeField, F, FilteredRelation, Func, Q, QuerySet, Sum, Value

from accounts.models import TradingAccount
from marketdata.domain import Quote
from marketdata.models import Instrument
from marketdata.quotes import latest_quotes
from marketdata.selectors import instrument_by_symbol
from portfolio import analytics, hooks, ledger
from portfolio.metrics import Metrics
from portfolio.models import CashEntry, EquitySnapshot, Position
from tradeapp.core import clock
from tradeapp.core.errors import DomainError, NotFound

ZERO = Decimal(0)


def mark_price(quote: Quote | None, fallback: Decimal) -> Decimal:
    """The price a position is valued at: the last trade, else the mid, else ``fallback`` (cost)."""
    if quote is None:
        return fallback
    return quote.last if quote.last else quote.mid


@dataclass(frozen=True, slots=True)
class ValuedPosition:
    position: Position
    instrument: Instrument
    price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    quote: Quote | None

    @property
    def unrealized_pct(self) -> Decimal | None:
        cost = abs(self.position.quantity) * self.position.average_cost
        return self.unrealized_pnl * 100 / cost if cost else None


def open_positions(account: TradingAccount) -> QuerySet[Position]:
    return Position.objects.filter(account=account).exclude(quantity=0).select_related("instrument")


def valued_positions(account: TradingAccount, rows: list[Position] | None = None) -> list[ValuedPosition]:
    """Open positions at the latest quotes; ``rows`` (the account's Position rows with their
    instruments, already loaded by the caller) saves the query."""
    positions = list(open_positions(account)) if rows is None else [r for r in rows if r.quantity != 0]
    quotes = latest_quotes([p.instrument.symbol for p in positions])
    rows = []
    for position in positions:
        state = ledger.PositionState(quantity=position.quantity, average_cost=position.average_cost)
        quote = quotes.get(position.instrument.symbol)
        price = mark_price(quote, position.average_cost)
        rows.append(
            ValuedPosition(
                position=position,
                instrument=position.instrument,
                price=price,
                market_value=ledger.market_value(state, price),
                unrealized_pnl=ledger.unrealized_pnl(state, price),
                quote=quote,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class BookValue:
    cash: Decimal
    positions_value: Decimal

    @property
    def equity(self) -> Decimal:
        return self.cash + self.positions_value


def book_values(account_ids: Sequence[object]) -> dict[object, BookValue]:
    """Cash plus open positions at the latest quotes of each account (the snapshots' valuation). Cash
    and positions of all the accounts are read in one statement, so in one consistent view of the
    database (a fill committing meanwhile is in both or in neither), and quotes in one Redis read."""
    rows = list(
        TradingAccount.objects.filter(pk__in=list(account_ids))
        .annotate(held=FilteredRelation("positions", condition=~Q(positions__quantity=0)))
        .values_list("pk", "cash", "held__instrument__symbol", "held__quantity", "held__average_cost")
    )
    quotes = latest_quotes(sorted({symbol for _, _, symbol, _, _ in rows if symbol}))
    cash: dict[object, Decimal] = {}
    value: dict[object, Decimal] = {}
    for account_id, balance, symbol, quantity, average_cost in rows:
        cash[account_id] = balance
        value.setdefault(account_id, ZERO)
        if symbol:
            state = ledger.PositionState(quantity=quantity, average_cost=average_cost)
            value[account_id] += ledger.market_value(state, mark_price(quotes.get(symbol), average_cost))
    return {account_id: BookValue(cash[account_id], value[account_id]) for account_id in cash}


def position_of(account: TradingAccount, symbol: str) -> ValuedPosition:
    instrument = instrument_by_symbol(symbol)
    for row in valued_positions(account):
        if row.instrument.pk == instrument.pk:
            return row
    raise NotFound(f"No open position in {instrument.symbol}.", "symbol")


@dataclass(frozen=True, slots=True)
class Valuation:
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    long_value: Decimal
    short_value: Decimal
    positions: list[ValuedPosition]


def account_valuation(
    account: TradingAccount, *, cash: Decimal | None = None, rows: list[Position] | None = None
) -> Valuation:
    """Cash plus positions at the latest quotes. Pass ``cash`` (and the Position ``rows``) when the
    caller holds the account row locked and has them fresh (the order path); otherwise they are read."""
    positions = valued_positions(account, rows)
    if cash is None:
        cash = TradingAccount.objects.values_list("cash", flat=True).get(pk=account.pk)
    value = sum((p.market_value for p in positions), ZERO)
    return Valuation(
        cash=cash,
        positions_value=value,
        equity=cash + value,
        long_value=sum((p.market_value for p in positions if p.market_value > 0), ZERO),
        short_value=sum((p.market_value for p in positions if p.market_value < 0), ZERO),
        positions=positions,
    )


def start_of_day(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def opened_at(account: TradingAccount) -> datetime:
    """Since when the account's books run: its last reset, else its opening."""
    return account.reset_at or account.created_at


def equity_at(account: TradingAccount, at: datetime) -> Decimal:
    """The equity the books knew at ``at``: the last snapshot at or before it (since the last reset),
    else the starting cash (before any snapshot nothing had moved it: fills take snapshots)."""
    snapshot = (
        EquitySnapshot.objects.filter(account=account, taken_at__lte=at)
        .order_by("-taken_at")
        .values_list("taken_at", "equity")
        .first()
    )
    if snapshot is not None and (account.reset_at is None or snapshot[0] >= account.reset_at):
        return snapshot[1]
    return account.starting_cash


def start_of_day_equity(account: TradingAccount, at: datetime | None = None) -> Decimal:
    """Equity at the start of the UTC day: the last snapshot before it, else the starting cash."""
    return equity_at(account, start_of_day(at or clock.now()))


@dataclass(frozen=True, slots=True)
class AccountSummary:
    account: TradingAccount
    cash: Decimal
    equity: Decimal
    positions_value: Decimal
    long_value: Decimal
    short_value: Decimal
    buying_power: Decimal
    reserved_cash: Decimal
    start_of_day_equity: Decimal
    day_pnl: Decimal
    day_pnl_pct: Decimal | None
    total_pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    open_orders: int


def account_summary(account: TradingAccount, *, valuation: Valuation | None = None) -> AccountSummary:
    """``valuation``: the account's, when the caller has it already (the dashboard)."""
    valuation = valuation or account_valuation(account)
    reserved, open_count = hooks.order_book().open_order_totals(account)
    day_start = start_of_day_equity(account)
    day_pnl = valuation.equity - day_start
    realized = Position.objects.filter(account=account).aggregate(total=Sum("realized_pnl"))["total"] or ZERO
    return AccountSummary(
        account=account,
        cash=valuation.cash,
        equity=valuation.equity,
        positions_value=valuation.positions_value,
        long_value=valuation.long_value,
        short_value=valuation.short_value,
        buying_power=max(valuation.cash - reserved, ZERO),
        reserved_cash=reserved,
        start_of_day_equity=day_start,
        day_pnl=day_pnl,
        day_pnl_pct=day_pnl * 100 / day_start if day_start else None,
        total_pnl=valuation.equity - account.starting_cash,
        realized_pnl=realized,
        unrealized_pnl=sum((p.unrealized_pnl for p in valuation.positions), ZERO),
        open_orders=open_count,
    )


def cash_entries(account: TradingAccount) -> QuerySet[CashEntry]:
    return CashEntry.objects.filter(account=account).order_by("-id")


# --- analytics: the equity curve, allocation, metrics, realised P&L --------------------------------------


class _DateBin(Func):
    """PostgreSQL's ``date_bin(stride, source, origin)``: the start of the stride-wide bin holding
    ``source``, bins aligned on ``origin``."""

    function = "date_bin"
    output_field = DateTimeField()


def _bucket_closes(
    account: TradingAccount, *, after: datetime, until: datetime, step: timedelta, origin: datetime
) -> list[analytics.EquityPoint]:
    """The last snapshot of each ``step``-wide bucket in (``after``, ``until``], oldest first: one
    query whatever the number of snapshots. A bucket is (origin + k*step, origin + (k+1)*step], so
    its last snapshot is the last one at or before its end."""
    one_microsecond = Value(timedelta(microseconds=1))
    rows = (
        EquitySnapshot.objects.filter(account=account, taken_at__gt=after, taken_at__lte=until)
        .annotate(bucket=_DateBin(Value(step), F("taken_at") - one_microsecond, Value(origin)))
        .order_by("bucket", "-taken_at")
        .distinct("bucket")
        .values_list("bucket", "taken_at", "equity")
    )
    return [analytics.EquityPoint(time, equity) for _, time, equity in rows]


@dataclass(frozen=True, slots=True)
class EquityCurve:
    account: TradingAccount
    window: analytics.CurveWindow
    points: list[analytics.EquityPoint]  # the range's opening equity first, the live valuation last

    @property
    def start_equity(self) -> Decimal:
        return self.points[0].equity

    @property
    def end_equity(self) -> Decimal:
        return self.points[-1].equity

    @property
    def change(self) -> Decimal:
        return self.end_equity - self.start_equity

    @property
    def change_pct(self) -> Decimal | None:
        return analytics.percent_of(self.change, self.start_equity)


def check_range(text: object) -> str:
    """The curve range named by ``text`` (``1D 1W 1M 3M 1Y ALL``, any case); ``invalid_range`` on
    field ``range`` otherwise."""
    name = analytics.parse_range(text)
    if name is None:
        choices = ", ".join(analytics.RANGES)
        raise DomainError("invalid_range", f"Choose a range among {choices}.", "range")
    return name


def equity_curve(
    account: TradingAccount,
    range_name: str,
    *,
    now: datetime | None = None,
    valuation: Valuation | None = None,
) -> EquityCurve:
    """The account's equity over ``range_name`` (a key of ``analytics.RANGES``): its equity when the
    range opens, the last snapshot of each bucket, and the current valuation (``valuation``, when the
    caller has it) as the last point. Two queries and, without ``valuation``, the valuation's."""
    now = now or clock.now()
    window = analytics.curve_window(range_name, now=now, opened_at=opened_at(account))
    first = analytics.EquityPoint(window.start, equity_at(account, window.start))
    middle = _bucket_closes(
        account, after=window.start, until=window.end, step=window.bucket, origin=window.start
    )
    live = (valuation or account_valuation(account)).equity
    points = analytics.join_points(first, middle, analytics.EquityPoint(now, live))
    return EquityCurve(account, window, points)


@dataclass(frozen=True, slots=True)
class DayPnl:
    start_equity: Decimal
    equity: Decimal
    realized: Decimal  # booked by today's fills (net of their commissions)

    @property
    def pnl(self) -> Decimal:
        return self.equity - self.start_equity

    @property
    def pct(self) -> Decimal | None:
        return analytics.percent_of(self.pnl, self.start_equity)

    @property
    def unrealized_change(self) -> Decimal:
        """The rest of the day's change: open positions moving with the market."""
        return self.pnl - self.realized


@dataclass(frozen=True, slots=True)
class AccountAnalytics:
    account: TradingAccount
    at: datetime
    day: DayPnl
    allocation: analytics.Allocation
    metrics: Metrics
    metrics_period: analytics.MetricsPeriod
    realized_by_symbol: list[analytics.RealizedRow]
    realized_by_strategy: list[analytics.RealizedRow]

    @property
    def realized_pnl(self) -> Decimal:
        return sum((row.realized_pnl for row in self.realized_by_symbol), ZERO)


def account_fills(account: TradingAccount) -> list[analytics.FillRecord]:
    """Every fill of the account (since its last reset: a reset deletes them) in execution order, the
    order its positions were built in, with the deployment of its order: one query."""
    return hooks.order_book().fills(account)


def _deployment_names(account: TradingAccount, fills: Sequence[analytics.FillRecord]) -> dict[str, str]:
    return hooks.deployment_names(
        account, sorted({fill.deployment_id for fill in fills if fill.deployment_id})
    )


def account_analytics(
    account: TradingAccount,
    *,
    now: datetime | None = None,
    valuation: Valuation | None = None,
    start_equity: Decimal | None = None,
) -> AccountAnalytics:
    """Day P&L, allocation, the metrics of ``portfolio.metrics`` and realised P&L by symbol and by
    strategy, since the account's last reset. Pass the account's ``valuation`` and ``start_equity``
    (start of the UTC day) when the caller has them. Queries: the fills, the equity per metrics
    period, the deployments' names when strategies traded (plus what is not passed)."""
    now = now or clock.now()
    valuation = valuation or account_valuation(account)
    fills = account_fills(account)
    trips = ledger.round_trips(
        (fill.symbol, (ledger.Side(fill.side), fill.quantity, fill.price, fill.commission)) for fill in fills
    )
    day_start = start_of_day(now)
    day = DayPnl(
        start_equity=start_equity if start_equity is not None else equity_at(account, day_start),
        equity=valuation.equity,
        realized=analytics.realized_since(fills, day_start),
    )
    holdings = [
        analytics.Holding(row.instrument.symbol, str(row.instrument.asset_class), row.market_value)
        for row in valuation.positions
    ]
    opened = min(opened_at(account), now)
    period = analytics.metrics_period(opened_at=opened, now=now)
    times = analytics.grid_times(start=opened, end=now, step=period.step)
    closes = _bucket_closes(account, after=opened, until=now, step=period.step, origin=now)
    points = analytics.join_points(
        analytics.EquityPoint(opened, account.starting_cash),
        closes,
        analytics.EquityPoint(now, valuation.equity),
    )
    metrics = analytics.account_metrics(
        times=times,
        equity=analytics.value_at(points, times),
        trips=trips,
        in_market=analytics.exposure_flags(times, _open_after_each_fill(fills)),
        period=period,
    )
    return AccountAnalytics(
        account=account,
        at=now,
        day=day,
        allocation=analytics.allocation(holdings, cash=valuation.cash, equity=valuation.equity),
        metrics=metrics,
        metrics_period=period,
        realized_by_symbol=analytics.realized_by_symbol(fills, trips),
        realized_by_strategy=analytics.realized_by_strategy(fills, _deployment_names(account, fills)),
    )


def _open_after_each_fill(fills: Sequence[analytics.FillRecord]) -> list[tuple[datetime, bool]]:
    """(fill time, whether the account holds any position after it), in execution order."""
    held: dict[str, Decimal] = {}
    changes = []
    for fill in fills:
        signed = fill.quantity if fill.side == "buy" else -fill.quantity
        held[fill.symbol] = held.get(fill.symbol, ZERO) + signed
        changes.append((fill.executed_at, any(quantity != 0 for quantity in held.values())))
    return changes
