"""Template helpers of the trading pages: the number and word filters (their rules live in
``tradeapp.core.formatting``, which views use too) and the order ticket as an inclusion tag, so any
page (the symbol page, the watchlists' quick-trade dialog) can show it without its view knowing about
orders."""

from __future__ import annotations

from typing import Any

from django import template

from marketdata.symbols import url_symbol
from orders.ticket import request_ticket_context
from tradeapp.core.formatting import (
    money,
    pnl_class,
    price,
    qty,
    signed_money,
    signed_pct,
    words,
)

register = template.Library()
register.filter("qty", qty)
register.filter("price", price)
register.filter("money", money)
register.filter("signed_money", signed_money)
register.filter("signed_pct", signed_pct)
register.filter("pnl_class", pnl_class)
register.filter("words", words)
register.filter("url_symbol", lambda symbol: url_symbol(str(symbol)))


@register.inclusion_tag("includes/order_ticket.html", takes_context=True)
def order_ticket(context: template.Context, instrument: Any = None, quote: Any = None) -> dict[str, Any]:
    """The order ticket for ``instrument`` (the symbol page)."""
    return request_ticket_context(context["request"], instrument=instrument, quote=quote)


@register.inclusion_tag("includes/trade_dialog.html", takes_context=True)
def trade_dialog(context: template.Context) -> dict[str, Any]:
    """The quick-trade <dialog>: the same ticket, its symbol filled in by order-ticket.js."""
    return request_ticket_context(context["request"], instrument=None, quote=None, dialog=True)
