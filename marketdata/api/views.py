"""Market-data endpoints: validate, call one selector or service, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from marketdata import indicators, selectors, services
from marketdata.api import serializers as s
from marketdata.domain import Timeframe
from marketdata.models import Instrument, Watchlist
from marketdata.quotes import latest_quotes, quote_payload
from tradeapp.core import clock
from tradeapp.core.api import validated
from tradeapp.core.errors import DomainError, NotFound

SYMBOL_PARAMETER = OpenApiParameter(
    "symbol", str, OpenApiParameter.PATH, description="Case-insensitive; BTC-USD stands for BTC/USD"
)


def _query(request: Request) -> dict[str, Any]:
    # a plain dict: DRF reads absent booleans in a QueryDict as False, not as "not given"
    return request.query_params.dict()


def _page_links(request: Request, count: int, limit: int, offset: int) -> dict[str, str | None]:
    url = request.build_absolute_uri()
    following = None
    if offset + limit < count:
        following = replace_query_param(url, "offset", offset + limit)
    previous = None
    if offset > 0:
        previous = (
            remove_query_param(url, "offset")
            if offset - limit <= 0
            else replace_query_param(url, "offset", offset - limit)
        )
    return {"next": following, "previous": previous}


def _watchlist_data(watchlists: list[Watchlist]) -> list[dict[str, Any]]:
    symbols = sorted({item.instrument.symbol for watchlist in watchlists for item in watchlist.items.all()})
    context = {"quotes": latest_quotes(symbols)}
    return list(s.WatchlistSerializer(watchlists, many=True, context=context).data)


# --- instruments, quotes, bars --------------------------------------------------------------------------


class InstrumentListView(APIView):
    @extend_schema(
        parameters=[s.InstrumentQuerySerializer],
        responses=s.InstrumentPageSerializer,
        operation_id="instruments_list",
        summary="Search instruments, with latest quotes (filters, top gainers/losers)",
    )
    def get(self, request: Request) -> Response:
        query = validated(s.InstrumentQuerySerializer, _query(request))
        page = selectors.instrument_page(
            query=query.get("q"),
            asset_class=query.get("asset_class"),
            tradable=query["tradable"],
            min_price=query.get("min_price"),
            max_price=query.get("max_price"),
            order=query["order"],
            limit=query["limit"],
            offset=query["offset"],
        )
        context = {"quotes": {row.instrument.symbol: row.quote for row in page.rows if row.quote}}
        results = s.InstrumentSerializer(
            [row.instrument for row in page.rows], many=True, context=context
        ).data
        return Response(
            {
                "count": page.count,
                **_page_links(request, page.count, query["limit"], query["offset"]),
                "results": results,
            }
        )


class InstrumentDetailView(APIView):
    @extend_schema(
        parameters=[SYMBOL_PARAMETER],
        responses=s.InstrumentDetailSerializer,
        summary="One instrument: facts, latest quote, market open/closed",
    )
    def get(self, request: Request, symbol: str) -> Response:
        instrument = selectors.instrument_by_symbol(symbol)
        context = {
            "quotes": latest_quotes([instrument.symbol]),
            "market": selectors.market_status(instrument.asset_class, clock.now()),
        }
        return Response(s.InstrumentDetailSerializer(instrument, context=context).data)


class QuoteListView(APIView):
    @extend_schema(
        parameters=[s.QuotesQuerySerializer],
        responses=s.QuotesSerializer,
        operation_id="quotes_list",
        summary="Latest quotes of some symbols (unknown symbols: 404 naming them)",
    )
    def get(self, request: Request) -> Response:
        symbols = validated(s.QuotesQuerySerializer, _query(request))["symbols"]
        resolved, unknown = selectors.instruments_by_symbols(symbols)
        if unknown:
            raise NotFound(
                f"Unknown symbol{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.", "symbols"
            )
        canonical = list(dict.fromkeys(resolved[symbol].symbol for symbol in symbols))
        quotes = latest_quotes(canonical)
        rows = [
            {"symbol": symbol, "quote": quote_payload(quotes[symbol]) if symbol in quotes else None}
            for symbol in canonical
        ]
        return Response({"quotes": rows})


def _bars_window(query: dict[str, Any]) -> tuple[Instrument, Timeframe, datetime, datetime]:
    """The instrument and checked window of a bars-like query (``end`` defaults to now)."""
    timeframe, start = query["timeframe"], query["start"]
    end = query.get("end") or clock.now()
    selectors.check_bar_window(timeframe, start, end)
    return selectors.instrument_by_symbol(query["symbol"]), timeframe, start, end


class BarListView(APIView):
    @extend_schema(
        parameters=[s.BarsQuerySerializer],
        responses=s.BarsPageSerializer,
        operation_id="bars_list",
        summary="OHLCV bars, oldest first, paged by cursor",
        description=(
            "Bars with `start <= open_time < end`. The window may span at most "
            + ", ".join(f"{frame.value}: {span.days} days" for frame, span in selectors.MAX_BAR_RANGE.items())
            + " (400 `range_too_large`). Prices have at least the instrument's tick precision."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated(s.BarsQuerySerializer, _query(request))
        instrument, timeframe, start, end = _bars_window(query)
        page = selectors.bars_page(
            instrument, timeframe, start, end, limit=query["limit"], after=query.get("cursor")
        )
        return Response(
            {
                "symbol": instrument.symbol,
                "timeframe": timeframe.value,
                "start": s.utc_text(start),
                "end": s.utc_text(end),
                "bars": s.bar_rows(page.bars, instrument),
                "next": s.encode_cursor(page.next_after) if page.next_after else None,
            }
        )


# --- watchlists -----------------------------------------------------------------------------------------


class WatchlistListView(APIView):
    @extend_schema(responses=s.WatchlistSerializer(many=True), summary="Your watchlists, with quotes")
    def get(self, request: Request) -> Response:
        return Response(_watchlist_data(list(selectors.watchlists_of(request.user))))

    @extend_schema(
        request=s.WatchlistCreateSerializer,
        responses={201: s.WatchlistSerializer},
        summary="Create a watchlist",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.WatchlistCreateSerializer, request.data)
        watchlist = services.create_watchlist(owner=request.user, name=data["name"], symbols=data["symbols"])
        return Response(_watchlist_data([selectors.watchlist_of(request.user, watchlist.pk)])[0], status=201)


class WatchlistDetailView(APIView):
    @extend_schema(responses=s.WatchlistSerializer, summary="One of your watchlists, with quotes")
    def get(self, request: Request, watchlist_id: int) -> Response:
        return Response(_watchlist_data([selectors.watchlist_of(request.user, watchlist_id)])[0])

    @extend_schema(
        request=s.WatchlistRenameSerializer, responses=s.WatchlistSerializer, summary="Rename a watchlist"
    )
    def patch(self, request: Request, watchlist_id: int) -> Response:
        data = validated(s.WatchlistRenameSerializer, request.data)
        services.rename_watchlist(owner=request.user, watchlist_id=watchlist_id, name=data["name"])
        return Response(_watchlist_data([selectors.watchlist_of(request.user, watchlist_id)])[0])

    @extend_schema(responses={204: None}, summary="Delete a watchlist")
    def delete(self, request: Request, watchlist_id: int) -> Response:
        services.delete_watchlist(owner=request.user, watchlist_id=watchlist_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WatchlistItemsView(APIView):
    @extend_schema(
        request=s.WatchlistItemCreateSerializer,
        responses={201: s.WatchlistSerializer},
        summary="Add a symbol to the end of a watchlist (409 already_listed)",
    )
    def post(self, request: Request, watchlist_id: int) -> Response:
        data = validated(s.WatchlistItemCreateSerializer, request.data)
        services.add_to_watchlist(owner=request.user, watchlist_id=watchlist_id, symbol=data["symbol"])
        return Response(_watchlist_data([selectors.watchlist_of(request.user, watchlist_id)])[0], status=201)

    @extend_schema(
        request=s.WatchlistReorderSerializer,
        responses=s.WatchlistSerializer,
        summary="Reorder a watchlist (name every symbol once)",
    )
    def put(self, request: Request, watchlist_id: int) -> Response:
        data = validated(s.WatchlistReorderSerializer, request.data)
        services.reorder_watchlist(owner=request.user, watchlist_id=watchlist_id, symbols=data["symbols"])
        return Response(_watchlist_data([selectors.watchlist_of(request.user, watchlist_id)])[0])


class WatchlistItemDetailView(APIView):
    @extend_schema(
        parameters=[SYMBOL_PARAMETER], responses={204: None}, summary="Remove a symbol from a watchlist"
    )
    def delete(self, request: Request, watchlist_id: int, symbol: str) -> Response:
        services.remove_from_watchlist(owner=request.user, watchlist_id=watchlist_id, symbol=symbol)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- indicators -----------------------------------------------------------------------------------------

MAX_INDICATOR_BARS = 20_000


class IndicatorListView(APIView):
    @extend_schema(
        parameters=[s.IndicatorsQuerySerializer],
        responses=s.IndicatorsSerializer,
        operation_id="indicators_list",
        summary="SMA, EMA, Bollinger Bands, RSI, MACD of the closes of a bars window",
        description=(
            "The same window rules as /bars. Values are computed with enough earlier bars to have "
            "settled at `start`; `null` where an indicator is not yet defined. At most "
            f"{MAX_INDICATOR_BARS:,} bars per request (400 `range_too_large`)."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated(s.IndicatorsQuerySerializer, _query(request))
        instrument, timeframe, start, end = _bars_window(query)
        specs = query["names"]
        since = selectors.warmup_start(instrument, timeframe, start, max(spec.warmup for spec in specs))
        frame = selectors.bars_frame(instrument, timeframe, since, end)
        shown = frame["open_time"] >= start
        if int(shown.sum()) > MAX_INDICATOR_BARS:
            raise DomainError(
                "range_too_large",
                f"Indicators cover at most {MAX_INDICATOR_BARS:,} bars per request; ask for a shorter "
                "window or a wider timeframe.",
                "start",
            )
        first = int(len(frame) - shown.sum())  # bars are oldest first: the warm-up ones lead
        values = indicators.compute(frame["close"], specs, tick_size=instrument.tick_size)
        series = {
            key: {line: points[first:] for line, points in value.items()}
            if isinstance(value, dict)
            else value[first:]
            for key, value in values.items()
        }
        times = frame["open_time"].iloc[first:].dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
        return Response(
            {"symbol": instrument.symbol, "timeframe": timeframe.value, "times": times, "series": series}
        )
