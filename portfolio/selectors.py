"""Read paths of the portfolio: positions valued at the latest quotes, the account summary (cash,
equity, buying power, day P&L), and the activity feed (fills and ledger entries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounts.models import TradingAccount
from marketdata.domain import Quote
from marketdata.models import Instrument
from marketdata.quotes import latest_quotes
from portfolio import ledger
from portfolio.models import CashEntry, EquitySnapshot, Position
from tradeapp.core import clock
from tradeapp.core.errors import NotFound

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


def position_of(account: TradingAccount, symbol: str) -> ValuedPosition:
    from marketdata.selectors import instrument_by_symbol

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


def start_of_day_equity(account: TradingAccount, at: datetime | None = None) -> Decimal:
    """Equity at the start of the UTC day: the last snapshot before it, else the starting cash."""
    day_start = start_of_day(at or clock.now())
    snapshot = (
        EquitySnapshot.objects.filter(account=account, taken_at__lte=day_start).order_by("-taken_at").first()
    )
    if snapshot is not None and (account.reset_at is None or snapshot.taken_at >= account.reset_at):
        return snapshot.equity
    return account.starting_cash


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


def account_summary(account: TradingAccount) -> AccountSummary:
    from orders.selectors import open_order_totals

    valuation = account_valuation(account)
    reserved, open_count = open_order_totals(account)
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
