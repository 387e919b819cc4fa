"""Write use cases of the portfolio: apply a fill to position and cash, the opening deposit, position
exits (stop-loss / take-profit), equity snapshots, and the reconciliation check.

Locking policy (shared with ``orders.services``): every write that touches an account's money locks
the account row first (``select_for_update``), then order rows, then position rows. Services here
that say "account row locked" expect the caller to hold that lock inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Sum

from accounts.models import TradingAccount
from accounts.services import add_to_cash
from marketdata.models import Instrument
from marketdata.selectors import instrument_by_symbol
from portfolio import hooks, ledger, snapshot_requests
from portfolio.models import CashEntry, EquitySnapshot, Position, SnapshotReason
from portfolio.selectors import book_values, start_of_day
from tradeapp.core import clock
from tradeapp.core.errors import DomainError, NotFound

SNAPSHOT_BATCH = 500  # accounts valued per query and Redis read by the scheduled snapshots
# Intraday snapshots (after fills, every 5 minutes) older than this are thinned to the last one of
# each UTC day: the 1D..1M curves keep their detail, storage stays bounded for the long ranges.
INTRADAY_RETENTION_DAYS = 35
THINNING_WINDOW_DAYS = 7  # each daily run thins this many days past the retention (bounded work)


@dataclass(frozen=True, slots=True)
class AppliedFill:
    position: Position
    realized_pnl: Decimal
    cash_delta: Decimal


def record_opening_deposit(*, account: TradingAccount) -> CashEntry:
    """The ledger line that funds a new (or reset) paper account with its starting cash."""
    return CashEntry.objects.create(
        account=account,
        kind=ledger.EntryKind.DEPOSIT,
        amount=account.cash,
        memo="starting cash",
        created_at=clock.now(),
    )


def wipe_portfolio(*, account: TradingAccount) -> None:
    """Delete positions, ledger and equity history (paper reset; account row locked)."""
    Position.objects.filter(account=account).delete()
    CashEntry.objects.filter(account=account).delete()
    EquitySnapshot.objects.filter(account=account).delete()


def lock_position(*, account: TradingAccount, instrument: Instrument) -> Position:
    """The account's position row in ``instrument``, created flat if missing, locked."""
    position, _ = Position.objects.select_for_update().get_or_create(
        account=account, instrument=instrument, defaults={"updated_at": clock.now()}
    )
    return position


def apply_fill(
    *,
    account: TradingAccount,
    instrument: Instrument,
    fill_id: object,
    side: str,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
    executed_at: datetime,
    position: Position | None = None,
) -> AppliedFill:
    """Apply one stored fill to the position and the cash ledger (account row locked; the caller
    has stored the fill row under its unique key, so this runs once per fill).

    Raises ``insufficient_buying_power`` (nothing written) when a buy would take cash below zero.
    ``position``: the account's row for ``instrument`` when the caller read it after locking the
    account (every writer of positions locks the account first, so it is current); else it is locked
    and read here. Once the transaction commits, an equity snapshot of the account is requested
    (throttled per account: ``portfolio.snapshot_requests.request_snapshot``)."""
    if position is None:
        position = lock_position(account=account, instrument=instrument)
    state = ledger.PositionState(
        quantity=position.quantity,
        average_cost=position.average_cost,
        realized_pnl=position.realized_pnl,
        total_commission=position.total_commission,
    )
    effect = ledger.apply_fill(state, side=side, quantity=quantity, price=price, commission=commission)
    if account.cash + effect.cash_delta < 0:
        raise DomainError(
            "insufficient_buying_power",
            f"Cash is {account.cash:,.2f} {account.base_currency}; this fill needs "
            f"{-effect.cash_delta:,.2f} {account.base_currency}.",
            "quantity",
            status=422,
        )
    was_flat = position.quantity == 0
    after = effect.position
    position.quantity = after.quantity
    position.average_cost = after.average_cost
    position.realized_pnl = after.realized_pnl
    position.total_commission = after.total_commission
    position.updated_at = executed_at
    if was_flat and after.quantity != 0:
        position.opened_at = executed_at
    if after.quantity == 0 or (not was_flat and (after.quantity > 0) != (state.quantity > 0)):
        position.stop_loss_price = position.take_profit_price = None  # exits belong to the old position
    position.save()
    now = clock.now()
    CashEntry.objects.bulk_create(
        CashEntry(
            account=account,
            kind=line.kind,
            amount=line.amount,
            fill_id=fill_id,
            memo=f"{side} {quantity} {instrument.symbol} @ {price}",
            created_at=now,
        )
        for line in ledger.fill_entries(side=side, quantity=quantity, price=price, commission=commission)
    )
    add_to_cash(account=account, amount=effect.cash_delta)
    _snapshot_after_commit(account.pk)
    return AppliedFill(position, effect.realized_pnl, effect.cash_delta)


def _snapshot_after_commit(account_id: object) -> None:
    """After the fill's transaction commits, ask for an equity snapshot of the account. The order path
    pays one Redis SET NX per fill (the request is throttled per account, see
    ``portfolio.snapshot_requests.request_snapshot``); nothing happens on a rollback. ``robust``: a
    Redis or broker failure is logged and never turns a committed order into an error."""
    key = str(account_id)

    # a plain function, not a partial: Django names the callback (__qualname__) when it logs a failure
    def request_snapshot() -> None:
        snapshot_requests.request_snapshot(key)

    transaction.on_commit(request_snapshot, robust=True)


def set_position_exits(
    *,
    account: TradingAccount,
    symbol: str,
    stop_loss_price: Decimal | None,
    take_profit_price: Decimal | None,
) -> Position:
    """Set (or clear, with None) the automatic stop-loss and take-profit of an open position. For a
    long position the stop-loss must be below the take-profit (above, for a short); both sit on the
    instrument's tick. ``orders.services.evaluate_symbol`` fires them as market orders."""
    instrument = instrument_by_symbol(symbol)
    for field, value in (("stop_loss_price", stop_loss_price), ("take_profit_price", take_profit_price)):
        if value is not None and (value <= 0 or value % instrument.tick_size != 0):
            raise DomainError(
                "off_tick_size",
                f"{field.replace('_', ' ')} must be positive and a multiple of "
                f"{instrument.tick_size.normalize()}.",
                field,
            )
    with transaction.atomic():
        TradingAccount.objects.select_for_update().get(pk=account.pk)
        position = Position.objects.select_for_update().filter(account=account, instrument=instrument).first()
        if position is None or position.quantity == 0:
            raise NotFound(f"No open position in {instrument.symbol}.", "symbol")
        long = position.quantity > 0
        if (
            stop_loss_price is not None
            and take_profit_price is not None
            and ((stop_loss_price >= take_profit_price) if long else (stop_loss_price <= take_profit_price))
        ):
            raise DomainError(
                "inconsistent_prices",
                "The stop-loss must be below the take-profit for a long position (above for a short).",
                "stop_loss_price",
            )
        position.stop_loss_price = stop_loss_price
        position.take_profit_price = take_profit_price
        position.updated_at = clock.now()
        position.save(update_fields=["stop_loss_price", "take_profit_price", "updated_at"])
        return position


def take_equity_snapshot(
    *, account: TradingAccount, reason: SnapshotReason | str, at: datetime | None = None
) -> EquitySnapshot:
    """Store the account's equity: cash and open positions read in one statement (a fill committing
    meanwhile is in both or in neither), positions valued at the latest quotes. ``taken_at`` is the
    time of the valuation unless ``at`` says otherwise. One snapshot per account and instant: another
    one at the same instant is returned as it is."""
    value = book_values([account.pk])[account.pk]
    snapshot, _ = EquitySnapshot.objects.get_or_create(
        account=account,
        taken_at=at or clock.now(),
        defaults={
            "cash": value.cash,
            "positions_value": value.positions_value,
            "equity": value.equity,
            "reason": reason,
        },
    )
    return snapshot


def snapshot_account(*, account_id: object) -> EquitySnapshot | None:
    """The snapshot after fills (``portfolio.snapshot_account``): None when the account is gone."""
    account = TradingAccount.objects.filter(pk=account_id).first()
    if account is None:
        return None
    return take_equity_snapshot(account=account, reason=SnapshotReason.FILL)


@dataclass(frozen=True, slots=True)
class ReconciliationProblem:
    account_id: str
    what: str
    expected: Decimal
    actual: Decimal


def reconcile(account: TradingAccount) -> list[ReconciliationProblem]:
    """Prove the books: cash equals the sum of the ledger, and each position's quantity and realised
    P&L equal a replay of its fills (in execution order). An empty list means they agree."""
    problems = []
    balance = CashEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    cash = TradingAccount.objects.values_list("cash", flat=True).get(pk=account.pk)
    if balance != cash:
        problems.append(ReconciliationProblem(str(account.pk), "cash vs ledger", balance, cash))
    fills: dict[str, list[ledger.FillTuple]] = {}
    for fill in hooks.order_book().fills(account):
        fills.setdefault(fill.symbol, []).append(
            (ledger.Side(fill.side), fill.quantity, fill.price, fill.commission)
        )
    positions = {
        position.instrument.symbol: position
        for position in Position.objects.filter(account=account).select_related("instrument")
    }
    for symbol in set(fills) | set(positions):
        replayed = ledger.replay(fills.get(symbol, []))
        position = positions.get(symbol)
        quantity = position.quantity if position else Decimal(0)
        if replayed.quantity != quantity:
            problems.append(
                ReconciliationProblem(str(account.pk), f"position {symbol}", replayed.quantity, quantity)
            )
    return problems


def snapshot_accounts(*, reason: SnapshotReason, open_positions_only: bool = False) -> int:
    """Snapshot every account (or those holding a position), stamped with the current minute; returns
    how many were stored. Two runs in one minute store one snapshot per account (the second finds it,
    and the unique instant settles a race), so a redelivered task adds nothing. Accounts are valued
    in batches: one query and one Redis read per ``SNAPSHOT_BATCH`` accounts."""
    at = clock.now().replace(second=0, microsecond=0)
    accounts = TradingAccount.objects.exclude(
        Exists(EquitySnapshot.objects.filter(account=OuterRef("pk"), taken_at=at))
    )
    if open_positions_only:
        accounts = accounts.filter(
            Exists(Position.objects.filter(account=OuterRef("pk")).exclude(quantity=0))
        )
    ids = list(accounts.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), SNAPSHOT_BATCH):
        values = book_values(ids[start : start + SNAPSHOT_BATCH])
        EquitySnapshot.objects.bulk_create(
            [
                EquitySnapshot(
                    account_id=account_id,
                    taken_at=at,
                    cash=value.cash,
                    positions_value=value.positions_value,
                    equity=value.equity,
                    reason=reason,
                )
                for account_id, value in values.items()
            ],
            ignore_conflicts=True,
        )
    return len(ids)


def snapshot_all_accounts() -> int:
    """Every account's equity at the start of the UTC day (the daily beat task)."""
    return snapshot_accounts(reason=SnapshotReason.DAILY)


_THIN_SQL = """
DELETE FROM portfolio_equitysnapshot WHERE id IN (
  SELECT id FROM (
    SELECT id, row_number() OVER (
      PARTITION BY account_id, date_trunc('day', taken_at, 'UTC') ORDER BY taken_at DESC
    ) AS newest_first
    FROM portfolio_equitysnapshot
    WHERE taken_at >= %(start)s AND taken_at < %(end)s
  ) AS ranked
  WHERE newest_first > 1
)
"""


def thin_snapshots(*, now: datetime | None = None) -> int:
    """Keep only the last snapshot of each account and UTC day among those older than
    ``INTRADAY_RETENTION_DAYS`` (looking back ``THINNING_WINDOW_DAYS`` further, so a daily run does
    bounded work). Returns how many were deleted. Idempotent."""
    end = start_of_day((now or clock.now()) - timedelta(days=INTRADAY_RETENTION_DAYS))
    with connection.cursor() as cursor:
        cursor.execute(_THIN_SQL, {"start": end - timedelta(days=THINNING_WINDOW_DAYS), "end": end})
        return cursor.rowcount
