"""Portfolio pages: the dashboard (account summary, positions with live P&L, open orders)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import TradingAccount
from portfolio.selectors import account_summary, valued_positions

DASHBOARD_OPEN_ORDERS = 10


def position_rows(account: TradingAccount) -> list[dict[str, Any]]:
    """The account's open positions valued at the latest quotes, with what the page's JavaScript
    needs to revalue them on every tick (the quote stream, the tick size's decimal places)."""
    from marketdata.consumers import quote_stream

    rows = []
    for row in valued_positions(account):
        tick = row.instrument.tick_size.normalize()
        rows.append(
            {
                "row": row,
                "symbol": row.instrument.symbol,
                "url_symbol": row.instrument.symbol.replace("/", "-"),
                "stream": quote_stream(row.instrument.symbol),
                "places": max(2, -tick.as_tuple().exponent),  # type: ignore[operator]
                "long": row.position.quantity > 0,
            }
        )
    return rows


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    from orders.selectors import orders_of

    account = request.account  # type: ignore[attr-defined]
    context = {
        "account": account,
        "summary": account_summary(account),
        "positions": position_rows(account),
        "open_orders": list(orders_of(account, status="open")[:DASHBOARD_OPEN_ORDERS]),
    }
    return render(request, "portfolio/dashboard.html", context)
