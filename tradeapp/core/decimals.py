"""Exact money and quantities: one precision for every NUMERIC column, quantisation at the edges.

Prices, quantities and cash are ``Decimal`` everywhere they are stored. The precision constants here
are the only ones; ``tradeapp.core.fields`` builds the columns from them. Never pass a float in:
``to_decimal`` refuses it. Pure: no Django, so the matching engine, the SDK and the backtester share
these grid helpers instead of keeping copies.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

# NUMERIC(precision, scale). 28 digits with 10 decimals covers crypto satoshis (1e-8) and any equity
# notional a retail platform will see (up to 10^18).
MONEY_DIGITS = 28
MONEY_PLACES = 10
PRICE_DIGITS = 28
PRICE_PLACES = 10
QUANTITY_DIGITS = 28
QUANTITY_PLACES = 10
CASH_CENTS = Decimal("0.01")
ZERO = Decimal(0)


def to_decimal(value: Any) -> Decimal:
    """Convert str/int/Decimal to Decimal; floats are refused because they are not exact."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise TypeError(f"refusing inexact {type(value).__name__} {value!r}: pass a str or Decimal")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"not a decimal number: {value!r}") from error


def quantize_to(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (a tick or lot size), e.g. 0.01 or 0.25 or 0.0001."""
    if step <= 0:
        raise ValueError("step must be positive")
    units = (value / step).to_integral_value(rounding=rounding)
    return units * step


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` lies exactly on the grid of ``step`` (tick/lot validation)."""
    return step > 0 and (value % step) == 0


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded to a multiple of ``step`` toward zero: the one sizing rule (never trade more
    than a budget affords). For a negative ``value`` this is the multiple nearer zero (``-1.5`` on a
    grid of 1 gives ``-1``), so a quantity's magnitude never grows, whatever its sign."""
    return quantize_to(value, step, rounding=ROUND_DOWN)


def normalize(value: Decimal) -> Decimal:
    """Drop trailing zeros for display/JSON (``100.0000000000`` -> ``100``) without exponent form."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized
