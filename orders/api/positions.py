"""Positions and the activity feed under /api/v1/accounts/{account_id}/: listing and closing positions
(closing places market orders) and the account's fills and cash-ledger lines, newest first. They live
with the orders API because they need the order book as well as the portfolio."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.access import ACCOUNT_PARAMETER, resolve_account
from marketdata.api.serializers import utc_text
from orders import services as order_services
from orders.representations import OrderSerializer
from orders.selectors import fills_of
from portfolio import selectors
from portfolio.api import serializers as s
from tradeapp.core.api import validated


class PositionListView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=s.PositionSerializer(many=True),
        summary="Open positions valued at the latest quotes",
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.PositionSerializer(selectors.valued_positions(account), many=True).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=OrderSerializer(many=True),
        operation_id="positions_close_all",
        summary="Close all positions (market orders; open orders in those symbols are canceled first)",
    )
    def delete(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        placements = order_services.close_all_positions(account=account)
        return Response(OrderSerializer([p.order for p in placements], many=True).data)


class PositionDetailView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER], responses=s.PositionSerializer, summary="One open position"
    )
    def get(self, request: Request, account_id: str, symbol: str) -> Response:
        account = resolve_account(request, account_id)
        return Response(s.PositionSerializer(selectors.position_of(account, symbol)).data)

    @extend_schema(
        parameters=[ACCOUNT_PARAMETER],
        responses=OrderSerializer,
        operation_id="positions_close",
        summary="Close one position at market",
    )
    def delete(self, request: Request, account_id: str, symbol: str) -> Response:
        account = resolve_account(request, account_id)
        placement = order_services.close_position(account=account, symbol=symbol)
        return Response(OrderSerializer(placement.order).data)


def _fill_rows(account: Any, limit: int) -> list[dict[str, Any]]:
    rows = []
    for fill in fills_of(account)[:limit]:
        sign = -1 if fill.side == "buy" else 1
        rows.append(
            {
                "type": "fill",
                "id": str(fill.pk),
                "at": utc_text(fill.executed_at),
                "kind": fill.side,
                "symbol": fill.instrument.symbol,
                "quantity": s._text(fill.quantity),
                "price": s._text(fill.price),
                "amount": s._money(sign * fill.quantity * fill.price - fill.commission),
                "memo": f"order {fill.order_id}",
            }
        )
    return rows


def _cash_rows(account: Any, limit: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "cash",
            "id": str(entry.pk),
            "at": utc_text(entry.created_at),
            "kind": entry.kind,
            "symbol": None,
            "quantity": None,
            "price": None,
            "amount": s._money(Decimal(entry.amount)),
            "memo": entry.memo,
        }
        for entry in selectors.cash_entries(account)[:limit]
    ]


class ActivityListView(APIView):
    @extend_schema(
        parameters=[ACCOUNT_PARAMETER, s.ActivityQuerySerializer],
        responses=s.ActivitySerializer(many=True),
        summary="Fills and cash-ledger entries, newest first",
    )
    def get(self, request: Request, account_id: str) -> Response:
        account = resolve_account(request, account_id)
        query = validated(
            s.ActivityQuerySerializer, {k: request.query_params.get(k) for k in request.query_params}
        )
        limit, kind = query["limit"], query.get("type")
        rows = []
        if kind in (None, "fill"):
            rows += _fill_rows(account, limit)
        if kind in (None, "cash"):
            rows += _cash_rows(account, limit)
        rows.sort(key=lambda row: row["at"], reverse=True)
        return Response(rows[:limit])
