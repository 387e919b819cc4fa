"""Position exits, the account summary, the equity curve and the analytics under
/api/v1/accounts/{account_id}/ (closing positions and the activity feed, which place orders and read
fills, are served by ``orders.api.positions``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import ACCOUNT_PARAMETER, resolve_account
from portfolio import selectors, services
from portfolio.api import serializers as s
from tradeapp.core.api import validated


class PositionExitsView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=s.ExitsInputSerializer,
        responses=s.PositionSerializer,
        summary="Set or clear (null) a position's automatic stop-loss and take-profit",
    )
    def put(self, request: Request, account_id: str, symbol: str) -> Response:
        account = resolve_account(request, account_id)
        data = validated(s.ExitsInputSerializer, request.data)
        services.set_position_exits(
            account=account,
            symbol=symbol,
            stop_loss_price=data.get("stop_loss_price"),
            take_profit_price=data.get("take_profit_price"),
        )
        return Response(s.PositionSerializer(selectors.position_of(account, symbol)).data)


class SummaryView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.SummarySerializer,
        summary="Cash, equity, buying power, day P&L",
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.SummarySerializer(selectors.account_summary(account)).data)


class EquityCurveView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER, s.EquityQuerySerializer],
        responses=s.EquityCurveSerializer,
        summary="The equity curve over a range (1D, 1W, 1M, 3M, 1Y, ALL)",
        description=(
            "Rolling windows ending now, clipped to the account's opening (or last reset): the equity "
            "when the range opens, the last equity snapshot of each bucket (snapshots are taken after "
            "fills, every 5 minutes while positions are open, and daily), then the current valuation."
        ),
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        query = validated(
            s.EquityQuerySerializer, {k: request.query_params.get(k) for k in request.query_params}
        )
        return Response(s.EquityCurveSerializer(selectors.equity_curve(account, query["range"])).data)


class AnalyticsView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.AnalyticsSerializer,
        summary="Day P&L, allocation, performance metrics, realised P&L by symbol and by strategy",
        description=(
            "Since the account's last reset. Metrics come from `portfolio.metrics` (the backtester's): "
            "the equity sampled hourly (daily once the account is 14 days old) and the closed round "
            "trips of its fills. Realised P&L by strategy groups the fills by their order's deployment "
            "(`Manual` for orders placed by hand), as the account booked them."
        ),
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.AnalyticsSerializer(selectors.account_analytics(account)).data)
