"""Position sizing (pure, no Django): the one equity-percent rule the backtest engine and the paper
runtime both apply when an order reaches the market, and the sizing helpers a strategy calls."""

from __future__ import annotations

import math
from decimal import Decimal

from orders.matching import CommissionModel
from strategies.sdk.errors import StrategyProblem
from tradeapp.core.decimals import floor_to

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


def size_for_budget(
    budget: Decimal, price: Decimal, *, lot_size: Decimal, commission: CommissionModel
) -> Decimal:
    """The largest quantity on the lot grid with ``quantity * price + commission <= budget`` (0 when
    not even one lot fits). The commission model must grow with quantity (all standard ones do).

    Used for ``equity_percent`` orders at the moment they reach the market, which is how an "all-in"
    order is sized: with a bps commission this is ``floor(budget / (price * (1 + bps/10000)))``."""
    if budget <= 0 or price <= 0:
        return _ZERO

    def cost(quantity: Decimal) -> Decimal:
        return quantity * price + commission.commission(quantity, price)

    most = floor_to(budget / price, lot_size)
    if most <= 0:
        return _ZERO
    if cost(most) <= budget:
        return most
    # start from the per-unit cost at the largest size, then walk a few lots to the exact boundary
    per_unit = cost(most) / most
    quantity = min(floor_to(budget / per_unit, lot_size), most)
    for _ in range(8):
        if quantity > 0 and cost(quantity) > budget:
            quantity -= lot_size
        elif quantity + lot_size <= most and cost(quantity + lot_size) <= budget:
            quantity += lot_size
        else:
            return max(quantity, _ZERO)
    low, high = 0, int(most / lot_size)  # fall back to bisection on lot counts: cost(low) fits
    while low < high:
        middle = (low + high + 1) // 2
        if cost(lot_size * middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return lot_size * low


def size_equity_percent(
    percent: Decimal,
    *,
    equity: Decimal,
    price: Decimal,
    lot_size: Decimal,
    min_quantity: Decimal,
    commission: CommissionModel,
) -> Decimal:
    """The quantity of an ``equity_percent`` order when it reaches the market: the largest on the lot
    grid whose cost plus commission at ``price`` (where it is expected to fill:
    ``orders.matching.expected_fill_price``) fits in ``percent`` % of ``equity``.

    Raises :class:`StrategyProblem` ``below_min_quantity`` (field ``equity_percent``) when that is
    nothing or less than ``min_quantity``; the engine rejects the order with it, the runtime refuses
    to send it."""
    budget = equity * percent / _HUNDRED
    quantity = size_for_budget(budget, price, lot_size=lot_size, commission=commission)
    if quantity <= 0 or quantity < min_quantity:
        raise StrategyProblem(
            "below_min_quantity",
            f"{percent}% of equity ({budget:.2f}) buys less than the minimum quantity of "
            f"{min_quantity.normalize()} at {price}.",
            "equity_percent",
        )
    return quantity


def fixed_quantity(quantity: Decimal | int, lot_size: Decimal) -> Decimal:
    """``quantity`` rounded down to the lot size (never negative)."""
    return max(floor_to(Decimal(quantity), lot_size), _ZERO)


def percent_of_equity_quantity(
    percent: Decimal | float, *, equity: Decimal, price: Decimal, lot_size: Decimal
) -> Decimal:
    """The quantity worth ``percent`` % of ``equity`` at ``price``, rounded down to the lot size;
    0 for a price that is not positive. Commission is not included."""
    share = Decimal(repr(percent)) if isinstance(percent, float) else percent
    if price <= 0:
        return _ZERO
    budget = equity * share / _HUNDRED
    return max(floor_to(budget / price, lot_size), _ZERO)


def risk_quantity(
    risk_percent: Decimal | float,
    *,
    equity: Decimal,
    atr: float,
    atr_multiple: Decimal | float,
    lot_size: Decimal,
    cap: Decimal,
) -> Decimal:
    """Volatility sizing: risk ``risk_percent`` % of ``equity`` on a stop ``atr_multiple`` ATRs away,
    i.e. ``equity * risk% / (atr * multiple)``, rounded down to the lot and at most ``cap``. 0 while
    the ATR is not a positive number (warm-up)."""
    if not math.isfinite(atr) or atr <= 0:
        return _ZERO
    distance = Decimal(repr(atr)) * _decimal(atr_multiple)
    quantity = floor_to(equity * _decimal(risk_percent) / _HUNDRED / distance, lot_size)
    return max(min(quantity, cap), _ZERO)


def _decimal(number: Decimal | float) -> Decimal:
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
