"""Orders endpoints under /api/v1/accounts/{account_id}/: validate, call one service, render.
``account_id`` may be ``default`` (``accounts.selectors.default_account``: your oldest paper account).
Another user's account or order: 404."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import ACCOUNT_PARAMETER, resolve_account
from orders import exports, selectors, services
from orders.api import serializers as s
from orders.states import OrderClass, OrderType, Side, TimeInForce
from tradeapp.core import clock
from tradeapp.core.api import validated


def _query(request: Request) -> dict[str, Any]:
    return {key: request.query_params.get(key) for key in request.query_params}


def _leg(data: dict[str, Any] | None, default_type: OrderType) -> services.LegRequest | None:
    if data is None:
        return None
    return services.LegRequest(
        order_type=OrderType(data.get("type", default_type)),
        limit_price=data.get("limit_price"),
        stop_price=data.get("stop_price"),
        trail_amount=data.get("trail_price"),
        trail_percent=data.get("trail_percent"),
    )


def order_request(data: dict[str, Any], *, source: str) -> services.OrderRequest:
    """A validated create payload as the service's request."""
    stop_default = (
        OrderType.STOP_LIMIT if (data.get("stop_loss") or {}).get("limit_price") else OrderType.STOP
    )
    return services.OrderRequest(
        symbol=data["symbol"],
        side=Side(data["side"]),
        order_type=OrderType(data["type"]),
        quantity=data.get("quantity"),
        notional=data.get("notional"),
        limit_price=data.get("limit_price"),
        stop_price=data.get("stop_price"),
        trail_amount=data.get("trail_price"),
        trail_percent=data.get("trail_percent"),
        time_in_force=TimeInForce(data["time_in_force"]),
        order_class=OrderClass(data["order_class"]),
        take_profit=_leg(data.get("take_profit"), OrderType.LIMIT),
        stop_loss=_leg(data.get("stop_loss"), stop_default),
        client_order_id=data.get("client_order_id"),
        source=source,
    )


class OrderCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500


class OrderListView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER, s.OrderQuerySerializer],
        responses=s.OrderPageSerializer,
        operation_id="orders_list",
        summary="Your orders, newest first (filters; cursor pages; export=csv for a download)",
    )
    def get(self, request: Request, account_id: str) -> Response | StreamingHttpResponse:
        account = resolve_account(request, account_id)
        query = validated(s.OrderQuerySerializer, _query(request))
        rows = selectors.orders_of(
            account,
            status=query.get("status"),
            symbol=query.get("symbol"),
            side=query.get("side"),
            since=query.get("since"),
            until=query.get("until"),
        )
        if query.get("export") == "csv":
            return exports.csv_response(rows)
        paginator = OrderCursor()
        page = paginator.paginate_queryset(rows, request, view=self)
        return Response(
            {
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": s.OrderSerializer(page, many=True).data,
            }
        )

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=s.OrderCreateSerializer,
        responses={201: s.OrderSerializer, 200: s.OrderSerializer},
        summary="Submit an order (the same client_order_id again returns the first order, 200)",
        description=(
            "Market, limit, stop, stop_limit and trailing_stop orders; day/gtc/ioc/fok; bracket, OCO and "
            "OTO classes. On the paper broker a marketable order fills at once. Risk rejections answer "
            "422 with a reason code (`insufficient_buying_power`, `max_position_pct`, `kill_switch`, ...)."
        ),
    )
    def post(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        data = validated(s.OrderCreateSerializer, request.data)
        placement = services.place_order(account=account, request=order_request(data, source="api"))
        return Response(
            s.OrderSerializer(placement.order).data,
            status=status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK,
        )

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.OrderSerializer(many=True),
        summary="Cancel all open orders",
    )
    def delete(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        canceled = services.cancel_all_orders(account=account)
        return Response(s.OrderSerializer(canceled, many=True).data)


class OrderDetailView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.OrderDetailSerializer,
        summary="One order with its events (audit trail), fills and legs",
    )
    def get(self, request: Request, account_id: str, order_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.OrderDetailSerializer(selectors.order_of(account, order_id)).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=s.OrderReplaceSerializer,
        responses=s.OrderSerializer,
        summary="Replace (modify) an open order: quantity, prices, time in force; returns the new order",
    )
    def patch(self, request: Request, account_id: str, order_id: str) -> Response:
        account = resolve_account(request, account_id)
        data = validated(s.OrderReplaceSerializer, request.data)
        changes = services.Replacement(
            quantity=data.get("quantity"),
            limit_price=data.get("limit_price"),
            stop_price=data.get("stop_price"),
            trail_amount=data.get("trail_price"),
            trail_percent=data.get("trail_percent"),
            time_in_force=TimeInForce(data["time_in_force"]) if data.get("time_in_force") else None,
            client_order_id=data.get("client_order_id"),
        )
        order = services.replace_order(account=account, order_id=order_id, changes=changes)
        return Response(s.OrderSerializer(order).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.OrderSerializer,
        operation_id="orders_cancel",
        summary="Cancel an open order",
    )
    def delete(self, request: Request, account_id: str, order_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.OrderSerializer(services.cancel_order(account=account, order_id=order_id)).data)


class OrderByClientIdView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.OrderDetailSerializer,
        summary="One order by client_order_id",
    )
    def get(self, request: Request, account_id: str, client_order_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.OrderDetailSerializer(selectors.order_by_client_id(account, client_order_id)).data)


class AlgoListView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER], responses=s.AlgoSerializer(many=True), summary="Your TWAP/VWAP orders"
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.AlgoSerializer(selectors.algos_of(account)[:200], many=True).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=s.AlgoCreateSerializer,
        responses={201: s.AlgoSerializer},
        summary="Start a TWAP or VWAP order: child market orders over a window (at most a day)",
    )
    def post(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        data = validated(s.AlgoCreateSerializer, request.data)
        algo = services.start_algo(
            account=account,
            symbol=data["symbol"],
            side=Side(data["side"]),
            quantity=data["quantity"],
            algo=data["algo"],
            start_at=data.get("start_at") or clock.now(),
            end_at=data["end_at"],
            interval_seconds=data["interval_seconds"],
        )
        return Response(s.AlgoSerializer(algo).data, status=status.HTTP_201_CREATED)


class AlgoDetailView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER], responses=s.AlgoSerializer, summary="One algo order and its progress"
    )
    def get(self, request: Request, account_id: str, algo_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.AlgoSerializer(selectors.algo_of(account, algo_id)).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.AlgoSerializer,
        operation_id="algos_cancel",
        summary="Cancel an algo (and its open child orders)",
    )
    def delete(self, request: Request, account_id: str, algo_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.AlgoSerializer(services.cancel_algo(account=account, algo_id=algo_id)).data)


class RiskSettingsView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER], responses=s.RiskSettingsSerializer, summary="Your risk limits"
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.RiskSettingsSerializer(services.risk_settings_of(account)).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        request=s.RiskSettingsInputSerializer,
        responses=s.RiskSettingsSerializer,
        summary="Set your risk limits (within the platform's caps; null removes your own limit)",
    )
    def put(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        data = validated(s.RiskSettingsInputSerializer, request.data)
        row = services.update_risk_settings(account=account, **data)
        return Response(s.RiskSettingsSerializer(row).data)
