"""Template helpers of the trading pages: numbers as traders read them (no exponents, thousands
separators, a sign on P&L), order words, and the order ticket as an inclusion tag so any page (the
symbol page, the watchlists' quick-trade dialog) can show it without its view knowing about orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from tradeapp.core.decimals import normalize

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return None


@register.filter
def qty(value: Any) -> str:
    """A quantity as typed: ``0.5000000000`` -> ``0.5``, ``100`` -> ``100`` (never ``1E+2``)."""
    number = _decimal(value)
    return "" if number is None else f"{normalize(number):f}"


@register.filter
def price(value: Any) -> str:
    """A price with thousands separators and at least two decimals: ``50010`` -> ``50,010.00``."""
    number = _decimal(value)
    if number is None:
        return "—"
    places = max(2, -normalize(number).as_tuple().exponent)  # type: ignore[operator]
    return f"{number:,.{places}f}"


@register.filter
def money(value: Any) -> str:
    number = _decimal(value)
    return "—" if number is None else f"{number:,.2f}"


@register.filter
def signed_money(value: Any) -> str:
    number = _decimal(value)
    if number is None:
        return "—"
    return f"+{number:,.2f}" if number > 0 else f"{number:,.2f}"


@register.filter
def signed_pct(value: Any) -> str:
    number = _decimal(value)
    if number is None:
        return "—"
    return f"+{number:.2f}%" if number > 0 else f"{number:.2f}%"


@register.filter
def pnl_class(value: Any) -> str:
    number = _decimal(value)
    if number is None or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


@register.filter
def words(value: Any) -> str:
    """``stop_limit`` -> ``stop limit``."""
    return str(value or "").replace("_", " ")


@register.filter
def url_symbol(symbol: Any) -> str:
    return str(symbol).replace("/", "-")


@register.inclusion_tag("includes/order_ticket.html", takes_context=True)
def order_ticket(context: template.Context, instrument: Any = None, quote: Any = None) -> dict[str, Any]:
    """The order ticket for ``instrument`` (the symbol page)."""
    from orders.views import ticket_context

    return ticket_context(context["request"], instrument=instrument, quote=quote)


@register.inclusion_tag("includes/trade_dialog.html", takes_context=True)
def trade_dialog(context: template.Context) -> dict[str, Any]:
    """The quick-trade <dialog>: the same ticket, its symbol filled in by order-ticket.js."""
    from orders.views import ticket_context

    return ticket_context(context["request"], instrument=None, quote=None, dialog=True)
