"""Position and cash arithmetic for one fill (pure, no Django): average cost, realised P&L, cash lines.

Conventions (the services, the paper venue and the backtester all rely on them):

* ``PositionState.quantity`` is signed: > 0 long, < 0 short, 0 flat.
* ``average_cost`` is the average entry price of the *open* quantity, always >= 0 and exactly 0 when
  flat. It is the only rounded number here: each time it changes it is rounded to 10 decimal places
  (``MONEY_PLACES``) with ROUND_HALF_EVEN, so it fits the NUMERIC columns without a second rounding.
* Every other result is exact. Arithmetic runs in a private 100-digit context that traps
  ``decimal.Inexact``: an input needing more digits raises instead of drifting silently.
* A fill's whole commission is charged to that fill's realised P&L, including an opening fill (so
  opening a position realises ``-commission``). ``realized_pnl`` is therefore net of commissions and
  ``total_commission`` says how much of it was commission.
* Cash: a buy pays ``quantity * price + commission``, a sell receives ``quantity * price - commission``.
  Shorts are plain negative quantities: selling short credits the proceeds, covering debits them.

Because only the average cost is rounded, "realised + unrealised at P == cash flows + quantity * P"
holds up to ``0.5e-10 * |quantity|`` per fill that changed the average (see the property tests).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, localcontext
from enum import StrEnum


class Side(StrEnum):
    """The side of a fill (and of the order that made it): the ledger's vocabulary, which the order
    state machine (``orders.states``) re-exports."""

    BUY = "buy"
    SELL = "sell"


FillTuple = tuple[Side, Decimal, Decimal, Decimal]
"""``(side, quantity, price, commission)``, the input of :func:`replay`."""

AVERAGE_COST_PLACES = 10
_ZERO = Decimal(0)
# Wide enough for products of two NUMERIC(28, 10) values and their sums; Inexact is trapped so a result
# that would need rounding raises instead.
_EXACT = Context(prec=100, traps=[Inexact])


@dataclass(frozen=True, slots=True)
class PositionState:
    """One symbol's position. Invariants: ``quantity == 0`` iff ``average_cost == 0``;
    ``average_cost >= 0``; ``realized_pnl`` is cumulative and net of ``total_commission``."""

    quantity: Decimal = _ZERO
    average_cost: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    total_commission: Decimal = _ZERO

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0


_FLAT = PositionState()


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What one fill did. ``opened_quantity + closed_quantity`` equals the fill's quantity; both are
    non-negative. ``realized_pnl`` is this fill's contribution, net of its whole commission."""

    position: PositionState
    realized_pnl: Decimal
    cash_delta: Decimal
    opened_quantity: Decimal
    closed_quantity: Decimal


class EntryKind(StrEnum):
    """Why cash moved. A fill produces TRADE (proceeds or cost) and, when charged, COMMISSION."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRADE = "trade"
    COMMISSION = "commission"
    RESET = "reset"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One signed cash movement: > 0 credits the account, < 0 debits it."""

    kind: EntryKind
    amount: Decimal


def apply_fill(
    position: PositionState, *, side: Side, quantity: Decimal, price: Decimal, commission: Decimal
) -> FillEffect:
    """Apply one fill to ``position`` and return the new state with the fill's P&L and cash effect.

    Increasing (or opening) re-averages the entry price: ``(|q0| * avg0 + quantity * price) / |q1|``,
    rounded to 10 places ROUND_HALF_EVEN. Reducing realises ``(price - avg) * closed`` for a long and
    ``(avg - price) * closed`` for a short and keeps the average. A fill that crosses zero (long 10,
    sell 15) closes the whole position and opens the rest (short 5) at the fill price.

    Raises ValueError unless ``quantity > 0``, ``price > 0``, ``commission >= 0`` (all finite) and
    ``side`` is "buy" or "sell"; TypeError for a non-Decimal amount.
    """
    direction = _direction(side)
    _check_amount("quantity", quantity, allow_zero=False)
    _check_amount("price", price, allow_zero=False)
    _check_amount("commission", commission, allow_zero=True)

    with localcontext(_EXACT):
        held = position.quantity
        notional = quantity * price
        if held == 0 or (held > 0) == (direction > 0):
            # Opening or adding: no P&L besides the commission, new weighted average.
            new_quantity = held + direction * quantity
            cost = abs(held) * position.average_cost + notional
            average_cost = _round_average(cost, abs(new_quantity))
            opened, closed, gross = quantity, _ZERO, _ZERO
        else:
            closed = min(quantity, abs(held))
            opened = quantity - closed
            if held > 0:
                gross = (price - position.average_cost) * closed
            else:
                gross = (position.average_cost - price) * closed
            new_quantity = held + direction * quantity
            if opened > 0:
                average_cost = _round_average(price, Decimal(1))
            elif new_quantity == 0:
                average_cost = _ZERO
            else:
                average_cost = position.average_cost
        realized = gross - commission
        cash_delta = -direction * notional - commission
        state = PositionState(
            quantity=new_quantity,
            average_cost=average_cost,
            realized_pnl=position.realized_pnl + realized,
            total_commission=position.total_commission + commission,
        )
    return FillEffect(
        position=state,
        realized_pnl=realized,
        cash_delta=cash_delta,
        opened_quantity=opened,
        closed_quantity=closed,
    )


def market_value(position: PositionState, price: Decimal) -> Decimal:
    """Signed value at ``price``: positive for a long, negative for a short, exact."""
    with localcontext(_EXACT):
        return position.quantity * price


def unrealized_pnl(position: PositionState, price: Decimal) -> Decimal:
    """Open P&L at ``price`` against the average cost: ``(price - avg) * quantity`` (signed quantity
    makes it ``(avg - price) * |quantity|`` for a short). Commissions are already in realised P&L."""
    with localcontext(_EXACT):
        return (price - position.average_cost) * position.quantity


def fill_entries(
    *, side: Side, quantity: Decimal, price: Decimal, commission: Decimal
) -> tuple[LedgerLine, ...]:
    """Cash-ledger lines for one fill: a TRADE line (``-quantity * price`` for a buy, ``+`` for a sell)
    and a COMMISSION line (``-commission``) only when the commission is positive. Their sum equals
    ``apply_fill(...).cash_delta``. Validates like :func:`apply_fill`."""
    direction = _direction(side)
    _check_amount("quantity", quantity, allow_zero=False)
    _check_amount("price", price, allow_zero=False)
    _check_amount("commission", commission, allow_zero=True)
    with localcontext(_EXACT):
        trade = LedgerLine(EntryKind.TRADE, -direction * (quantity * price))
        if commission == 0:
            return (trade,)
        return (trade, LedgerLine(EntryKind.COMMISSION, -commission))


def balance(lines: Iterable[LedgerLine | Decimal]) -> Decimal:
    """Exact sum of ledger lines (or bare signed amounts); 0 for none."""
    total = _ZERO
    with localcontext(_EXACT):
        for line in lines:
            total += line.amount if isinstance(line, LedgerLine) else line
    return total


def replay(fills: Iterable[FillTuple]) -> PositionState:
    """Fold ``(side, quantity, price, commission)`` fills over a flat position, in the given order.

    Reconciliation uses it to prove a stored position equals the sum of its fills: pass the fills in
    execution order (the average cost depends on it)."""
    position = PositionState()
    for side, quantity, price, commission in fills:
        position = apply_fill(
            position, side=side, quantity=quantity, price=price, commission=commission
        ).position
    return position


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One closed trade of one key (a symbol): from flat, or from a flip, back to flat or to the next
    flip. ``pnl`` is its exact realised P&L net of every commission of its fills (the opening ones
    included); ``entry_notional`` the sum of ``quantity * price`` of the quantity it opened."""

    key: str
    pnl: Decimal
    entry_notional: Decimal

    @property
    def trade_return(self) -> Decimal | None:
        """``pnl / entry_notional`` (28 significant digits), None without an entry."""
        if not self.entry_notional:
            return None
        with localcontext() as context:
            context.prec = 28
            return self.pnl / self.entry_notional


def round_trips(fills: Iterable[tuple[str, FillTuple]]) -> list[RoundTrip]:
    """The closed round trips of ``(key, (side, quantity, price, commission))`` fills, in the order they
    close. Each key (a symbol) has its own position, replayed in the given (execution) order: a trip
    ends when its position goes flat, or when a fill crosses zero, which closes it and opens the next
    one with the rest. A trip still open at the end is not returned."""
    state: dict[str, PositionState] = {}
    running: dict[str, tuple[Decimal, Decimal]] = {}  # key -> (pnl so far, entry notional)
    closed: list[RoundTrip] = []
    for key, (side, quantity, price, commission) in fills:
        effect = apply_fill(
            state.get(key, _FLAT), side=side, quantity=quantity, price=price, commission=commission
        )
        state[key] = effect.position
        with localcontext(_EXACT):
            pnl, notional = running.get(key, (_ZERO, _ZERO))
            pnl += effect.realized_pnl
            if effect.closed_quantity > 0 and (effect.position.is_flat or effect.opened_quantity > 0):
                closed.append(RoundTrip(key, pnl, notional))
                pnl, notional = _ZERO, _ZERO
            if effect.opened_quantity > 0:
                notional += effect.opened_quantity * price
        running[key] = (pnl, notional)
    return closed


def _direction(side: str) -> int:
    # Side is a StrEnum: it compares equal to these strings.
    if side == "buy":
        return 1
    if side == "sell":
        return -1
    raise ValueError(f"side must be 'buy' or 'sell', not {side!r}")


def _check_amount(name: str, value: Decimal, *, allow_zero: bool) -> None:
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise ValueError(f"{name} must be {bound}, not {value}")


def _round_average(cost: Decimal, quantity: Decimal) -> Decimal:
    """``cost / quantity`` rounded once, exactly, to 10 places ROUND_HALF_EVEN (both arguments > 0).

    Integer division plus the remainder avoids the double rounding of ``(a / b).quantize(...)``."""
    units, remainder = divmod(cost.scaleb(AVERAGE_COST_PLACES), quantity)
    twice = remainder * 2
    if twice > quantity or (twice == quantity and units % 2 == 1):
        units += 1
    return units.scaleb(-AVERAGE_COST_PLACES)
