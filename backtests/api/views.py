"""Backtests endpoints under /api/v1/: validate, call one service or selector, render. Another user's
run answers 404, exactly as a missing one does."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from backtests import selectors, services
from backtests.api import serializers as s
from tradeapp.core.api import validated

BACKTEST_PARAMETER = OpenApiParameter(
    "backtest_id", str, OpenApiParameter.PATH, description="a backtest id of yours"
)


def _query(request: Request) -> dict[str, Any]:
    return request.query_params.dict()


class BacktestCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class BacktestListView(APIView):
    @extend_schema(
        parameters=[s.BacktestListQuerySerializer],
        responses=s.BacktestPageSerializer,
        operation_id="backtests_list",
        summary="Your backtests, newest first (headline metrics; cursor pages)",
    )
    def get(self, request: Request) -> Response:
        query = validated(s.BacktestListQuerySerializer, _query(request))
        rows = selectors.backtests_of(request.user)
        if query.get("status"):
            rows = rows.filter(status=query["status"])
        paginator = BacktestCursor()
        page = paginator.paginate_queryset(rows, request, view=self)
        return Response(
            {
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": s.BacktestListItemSerializer(page, many=True).data,
            }
        )

    @extend_schema(
        request=s.BacktestCreateSerializer,
        responses={201: s.BacktestSerializer},
        summary="Start a backtest (queued at once; progress over the websocket and GET)",
        description=(
            "Runs `strategy` (a key of the catalog) with `parameters` on the stored bars of `symbols` for "
            "`timeframe` over [start, end), with the paper broker's matching, risk and cost models. "
            "`kind` chooses a single run, an optimisation (grid / random), walk-forward or Monte Carlo. "
            "Bad input answers 400 naming the field (e.g. `parameters.fast` with "
            "`parameter_out_of_range`, `symbols` with `no_data`); nothing is written then."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(s.BacktestCreateSerializer, request.data)
        row = services.create_backtest(
            owner=request.user,
            request=services.BacktestRequest(
                name=data["name"],
                strategy=data["strategy"],
                parameters=data["parameters"],
                symbols=data["symbols"],
                timeframe=data["timeframe"],
                start=data["start"],
                end=data["end"],
                starting_cash=data["starting_cash"],
                commission_model=data["commission_model"],
                commission_rate=data["commission_rate"],
                commission_minimum=data["commission_minimum"],
                slippage_model=data["slippage_model"],
                slippage_amount=data["slippage_amount"],
                kind=data["kind"],
                kind_settings=data["kind_settings"],
                warmup_bars=data.get("warmup_bars"),
            ),
        )
        return Response(s.BacktestSerializer(row).data, status=status.HTTP_201_CREATED)


class BacktestDetailView(APIView):
    @extend_schema(
        parameters=[BACKTEST_PARAMETER],
        responses=s.BacktestDetailSerializer,
        summary="One backtest: status, progress, error, and its results once completed",
    )
    def get(self, request: Request, backtest_id: str) -> Response:
        return Response(s.BacktestDetailSerializer(selectors.backtest_of(request.user, backtest_id)).data)


class BacktestCancelView(APIView):
    @extend_schema(
        parameters=[BACKTEST_PARAMETER],
        request=None,
        responses=s.BacktestSerializer,
        operation_id="backtests_cancel",
        summary="Cancel a queued or running backtest (409 when it has already finished)",
    )
    def post(self, request: Request, backtest_id: str) -> Response:
        row = services.cancel_backtest(owner=request.user, backtest_id=backtest_id)
        return Response(s.BacktestSerializer(row).data)


TRADE_COLUMNS = list(s.TradeSerializer().fields)


class BacktestTradesView(APIView):
    @extend_schema(
        parameters=[BACKTEST_PARAMETER, s.TradesQuerySerializer],
        responses=s.TradePageSerializer,
        operation_id="backtests_trades",
        summary="A backtest's closed trades in order (offset pages; export=csv for a download)",
    )
    def get(self, request: Request, backtest_id: str) -> Response | HttpResponse:
        query = validated(s.TradesQuerySerializer, _query(request))
        row = selectors.backtest_of(request.user, backtest_id, trades=True)
        trades = row.trades or []
        truncated = bool(((row.results or {}).get("trades") or {}).get("truncated"))
        if query.get("export") == "csv":
            return _trades_csv(row, trades)
        limit, offset = query["limit"], query["offset"]
        url = request.build_absolute_uri()
        following = (
            replace_query_param(url, "offset", offset + limit) if offset + limit < len(trades) else None
        )
        previous = None
        if offset > 0:
            previous = (
                remove_query_param(url, "offset")
                if offset <= limit
                else replace_query_param(url, "offset", offset - limit)
            )
        return Response(
            {
                "count": len(trades),
                "truncated": truncated,
                "next": following,
                "previous": previous,
                "results": trades[offset : offset + limit],
            }
        )


def _trades_csv(row: Any, trades: list[dict[str, Any]]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TRADE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(trades)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="backtest-{row.pk}-trades.csv"'
    return response


class BacktestCompareView(APIView):
    @extend_schema(
        parameters=[s.CompareQuerySerializer],
        responses=s.ComparisonSerializer,
        operation_id="backtests_compare",
        summary="Two completed backtests side by side: every metric, b - a, and the settings that differ",
    )
    def get(self, request: Request) -> Response:
        query = validated(s.CompareQuerySerializer, _query(request))
        comparison = services.compare_backtests(owner=request.user, first_id=query["a"], second_id=query["b"])
        return Response(s.ComparisonSerializer(comparison).data)


class StrategyCatalogView(APIView):
    @extend_schema(
        responses=s.StrategySchemaSerializer(many=True),
        operation_id="strategies_catalog",
        summary="The strategies you can backtest, with their parameters as form fields",
    )
    def get(self, request: Request) -> Response:
        catalog = [{"key": key, **klass.schema()} for key, klass in selectors.strategy_catalog().items()]
        return Response(s.StrategySchemaSerializer(catalog, many=True).data)
