"""Market pages: watchlists, one symbol (chart), the screener. Thin: selectors read, the browser talks to
the REST API (/api/v1/...) for bars, indicators, quotes and watchlist changes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketdata import selectors, services
from marketdata.consumers import quote_stream
from marketdata.domain import AssetClass
from marketdata.quotes import latest_quote, latest_quotes
from tradeapp.core import clock
from tradeapp.core.errors import NotFound
from tradeapp.core.formatting import url_symbol

TIMEFRAMES = ["1m", "5m", "15m", "1h", "1d"]


@login_required
@require_GET
def watchlists(request: HttpRequest) -> HttpResponse:
    # The default list is made on first visit: idempotent (locks the owner, re-checks), so a GET may do it.
    services.ensure_default_watchlist(owner=request.user)
    lists = list(selectors.watchlists_of(request.user))
    chosen = next((w for w in lists if str(w.pk) == request.GET.get("list")), lists[0])
    items = list(chosen.items.all())
    quotes = latest_quotes([item.instrument.symbol for item in items])
    rows = [
        {
            "instrument": item.instrument,
            "url_symbol": url_symbol(item.instrument.symbol),
            "stream": quote_stream(item.instrument.symbol),
            "quote": quotes.get(item.instrument.symbol),
        }
        for item in items
    ]
    return render(
        request, "marketdata/watchlists.html", {"watchlists": lists, "watchlist": chosen, "rows": rows}
    )


@login_required
@require_GET
def symbol_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    try:
        instrument = selectors.instrument_by_symbol(symbol)
    except NotFound as error:
        raise Http404(str(error)) from error
    context = {
        "instrument": instrument,
        "url_symbol": url_symbol(instrument.symbol),
        "stream": quote_stream(instrument.symbol),
        "quote": latest_quote(instrument.symbol),
        "market": selectors.market_status(instrument.asset_class, clock.now()),
        "timeframes": TIMEFRAMES,
    }
    return render(request, "marketdata/symbol.html", context)


@login_required
@require_GET
def screener(request: HttpRequest) -> HttpResponse:
    return render(
        request, "marketdata/screener.html", {"asset_classes": [member.value for member in AssetClass]}
    )
