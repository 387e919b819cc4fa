"""Numbers and words as traders read them (no exponents, thousands separators, a sign on P&L): plain
functions shared by the pages' views and the ``trading`` template filters. Presentation only, no Django."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeapp.core.decimals import normalize

MISSING = "—"


def as_decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal, or None when it is empty or not a number."""
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return None


def qty(value: Any) -> str:
    """A quantity as typed: ``0.5000000000`` -> ``0.5``, ``100`` -> ``100`` (never ``1E+2``)."""
    number = as_decimal(value)
    return "" if number is None else f"{normalize(number):f}"


def price(value: Any) -> str:
    """A price with thousands separators and at least two decimals: ``50010`` -> ``50,010.00``."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    exponent = normalize(number).as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{number:,.{places}f}"


def money(value: Any) -> str:
    number = as_decimal(value)
    return MISSING if number is None else f"{number:,.2f}"


def signed_money(value: Any) -> str:
    number = as_decimal(value)
    if number is None:
        return MISSING
    return f"+{number:,.2f}" if number > 0 else f"{number:,.2f}"


def signed_pct(value: Any) -> str:
    number = as_decimal(value)
    if number is None:
        return MISSING
    return f"+{number:.2f}%" if number > 0 else f"{number:.2f}%"


def pnl_class(value: Any) -> str:
    """The CSS class of a P&L figure: ``pos``, ``neg``, or nothing for zero or no value."""
    number = as_decimal(value)
    if number is None or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


def words(value: Any) -> str:
    """``stop_limit`` -> ``stop limit``."""
    return str(value or "").replace("_", " ")
