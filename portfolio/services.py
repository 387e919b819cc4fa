"""Write use cases of the portfolio: apply a fill to position and cash, the opening deposit, position
exits (stop-loss / take-profit), equity snapshots, and the reconciliation check.

Locking policy (shared with ``orders.services``): every write that touches an account's money locks
the account row first (``select_for_update``), then order rows, then position rows. Services here
that say "account row locked" expect the caller to hold that lock inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from accounts.models import TradingAccount
from accounts.services import add_to_cash
from marketdata.models import Instrument
from portfolio import ledger
from portfolio.models import CashEntry, EquitySnapshot, Position
from tradeapp.core import clock
from tradeapp.core.errors import DomainError, NotFound


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
    and read here."""
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
    return AppliedFill(position, effect.realized_pnl, effect.cash_delta)


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
    from marketdata.selectors import instrument_by_symbol

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


def take_equity_snapshot(*, account: TradingAccount, at: datetime | None = None) -> EquitySnapshot:
    """Store the account's equity now (positions valued at the latest quotes)."""
    from portfolio.selectors import account_valuation

    valuation = account_valuation(account)
    return EquitySnapshot.objects.create(
        account=account,
        taken_at=at or clock.now(),
        cash=valuation.cash,
        positions_value=valuation.positions_value,
        equity=valuation.equity,
    )


@dataclass(frozen=True, slots=True)
class ReconciliationProblem:
    account_id: str
    what: str
    expected: Decimal
    actual: Decimal


def reconcile(account: TradingAccount) -> list[ReconciliationProblem]:
    """Prove the books: cash equals the sum of the ledger, and each position's quantity and realised
    P&L equal a replay of its fills (in execution order). An empty list means they agree."""
    from django.db.models import Sum

    from orders.models import Fill

    problems = []
    balance = CashEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    cash = TradingAccount.objects.values_list("cash", flat=True).get(pk=account.pk)
    if balance != cash:
        problems.append(ReconciliationProblem(str(account.pk), "cash vs ledger", balance, cash))
    fills: dict[int, list[ledger.FillTuple]] = {}
    for side, quantity, price, commission, instrument_id in (
        Fill.objects.filter(account=account)
        .order_by("executed_at", "order__created_at", "sequence")
        .values_list("side", "quantity", "price", "commission", "instrument_id")
    ):
        fills.setdefault(instrument_id, []).append((side, quantity, price, commission))
    positions = {p.instrument_id: p for p in Position.objects.filter(account=account)}
    for instrument_id in set(fills) | set(positions):
        replayed = ledger.replay(fills.get(instrument_id, []))
        position = positions.get(instrument_id)
        quantity = position.quantity if position else Decimal(0)
        if replayed.quantity != quantity:
            problems.append(
                ReconciliationProblem(
                    str(account.pk), f"position {instrument_id}", replayed.quantity, quantity
                )
            )
    return problems


def snapshot_all_accounts() -> int:
    """Snapshot every account's equity now; returns how many. Two runs in one minute store one
    snapshot per account (the second finds it), so a redelivered task adds nothing."""
    now = clock.now().replace(second=0, microsecond=0)
    taken = 0
    for account in TradingAccount.objects.all().iterator():
        if not EquitySnapshot.objects.filter(account=account, taken_at=now).exists():
            take_equity_snapshot(account=account, at=now)
            taken += 1
    return taken
