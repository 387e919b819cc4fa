"""Strategies endpoints under /api/v1/strategies/: configurations, deployments on paper accounts and
their signals. Validate, call one service, render. Everything is the caller's own: another user's
configuration, deployment or account answers 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import TradingAccount
from accounts.selectors import account_by_reference
from strategies import selectors, services
from strategies.api import serializers as s
from tradeapp.core.api import validated
from tradeapp.core.errors import NotFound

CONFIG_ID = OpenApiParameter("config_id", str, OpenApiParameter.PATH, description="a configuration of yours")
DEPLOYMENT_ID = OpenApiParameter(
    "deployment_id", str, OpenApiParameter.PATH, description="a deployment of yours"
)
TAG = "strategies"


def _account(request: Request, account_id: str) -> TradingAccount:
    """The deployment's account: an id of the caller's or ``default`` (their oldest paper account)."""
    try:
        return account_by_reference(request.user, account_id)
    except NotFound as error:
        raise NotFound(error.message, "account_id") from error


def _query(request: Request) -> dict[str, Any]:
    return {key: request.query_params.get(key) for key in request.query_params}


class ConfigListView(APIView):
    @extend_schema(
        tags=[TAG],
        responses=s.StrategyConfigSerializer(many=True),
        operation_id="strategies_configs_list",
        summary="Your strategy configurations, newest first",
    )
    def get(self, request: Request) -> Response:
        return Response(s.StrategyConfigSerializer(selectors.configs_of(request.user)[:500], many=True).data)

    @extend_schema(
        tags=[TAG],
        request=s.StrategyConfigCreateSerializer,
        responses={201: s.StrategyConfigSerializer},
        operation_id="strategies_configs_create",
        summary="Save a named configuration of a strategy (parameters checked against its schema)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.StrategyConfigCreateSerializer, request.data)
        config = services.create_config(
            owner=request.user,
            strategy=data["strategy"],
            name=data["name"],
            parameters=data.get("parameters"),
        )
        return Response(s.StrategyConfigSerializer(config).data, status=status.HTTP_201_CREATED)


class ConfigDetailView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[CONFIG_ID],
        responses=s.StrategyConfigSerializer,
        operation_id="strategies_configs_retrieve",
        summary="One configuration",
    )
    def get(self, request: Request, config_id: str) -> Response:
        return Response(s.StrategyConfigSerializer(selectors.config_of(request.user, config_id)).data)

    @extend_schema(
        tags=[TAG],
        parameters=[CONFIG_ID],
        request=s.StrategyConfigUpdateSerializer,
        responses=s.StrategyConfigSerializer,
        operation_id="strategies_configs_update",
        summary="Rename a configuration or change some of its parameters",
    )
    def patch(self, request: Request, config_id: str) -> Response:
        data = validated(s.StrategyConfigUpdateSerializer, request.data)
        config = services.update_config(
            owner=request.user, config_id=config_id, name=data.get("name"), parameters=data.get("parameters")
        )
        return Response(s.StrategyConfigSerializer(config).data)

    @extend_schema(
        tags=[TAG],
        parameters=[CONFIG_ID],
        responses={204: None},
        operation_id="strategies_configs_delete",
        summary="Delete a configuration (deployments made from it keep their own copy)",
    )
    def delete(self, request: Request, config_id: str) -> Response:
        services.delete_config(owner=request.user, config_id=config_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeploymentListView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[s.DeploymentQuerySerializer],
        responses=s.DeploymentSerializer(many=True),
        operation_id="strategies_deployments_list",
        summary="Your strategy deployments, newest first",
    )
    def get(self, request: Request) -> Response:
        query = validated(s.DeploymentQuerySerializer, _query(request))
        rows = selectors.deployments_of(request.user, status=query.get("status"))[:500]
        return Response(s.DeploymentSerializer(rows, many=True).data)

    @extend_schema(
        tags=[TAG],
        request=s.DeploymentCreateSerializer,
        responses={201: s.DeploymentSerializer},
        operation_id="strategies_deployments_create",
        summary="Deploy a strategy on a paper account: it starts ticking on the next closed bar",
        description=(
            "From one of your configurations (`config_id`) or a strategy key with `parameters`. The "
            "deployment ticks on every closed bar of `symbols` at `timeframe` (Celery, queue "
            "`strategies`); its orders carry its id; its history starts `warmup_bars` bars back."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(s.DeploymentCreateSerializer, request.data)
        deployment = services.deploy(
            owner=request.user,
            account=_account(request, data["account_id"]),
            symbols=data["symbols"],
            timeframe=data["timeframe"],
            config_id=data.get("config_id"),
            strategy=data.get("strategy"),
            parameters=data.get("parameters"),
            name=data.get("name"),
            warmup_bars=data["warmup_bars"],
        )
        return Response(s.DeploymentSerializer(deployment).data, status=status.HTTP_201_CREATED)


class DeploymentDetailView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[DEPLOYMENT_ID],
        responses=s.DeploymentDetailSerializer,
        operation_id="strategies_deployments_retrieve",
        summary="One deployment with its P&L, metrics, recent signals, events and log",
    )
    def get(self, request: Request, deployment_id: str) -> Response:
        deployment = selectors.deployment_of(request.user, deployment_id)
        return Response(s.DeploymentDetailSerializer(deployment).data)


class DeploymentPauseView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[DEPLOYMENT_ID],
        request=None,
        responses=s.DeploymentSerializer,
        operation_id="strategies_deployments_pause",
        summary="Pause a running deployment (its open orders keep working)",
    )
    def post(self, request: Request, deployment_id: str) -> Response:
        deployment = services.pause_deployment(owner=request.user, deployment_id=deployment_id)
        return Response(s.DeploymentSerializer(deployment).data)


class DeploymentResumeView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[DEPLOYMENT_ID],
        request=None,
        responses=s.DeploymentSerializer,
        operation_id="strategies_deployments_resume",
        summary="Resume a paused deployment from the next closed bar",
    )
    def post(self, request: Request, deployment_id: str) -> Response:
        deployment = services.resume_deployment(owner=request.user, deployment_id=deployment_id)
        return Response(s.DeploymentSerializer(deployment).data)


class DeploymentStopView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[DEPLOYMENT_ID],
        request=s.DeploymentStopSerializer,
        responses=s.DeploymentSerializer,
        operation_id="strategies_deployments_stop",
        summary="Stop a deployment for good: its open orders are canceled",
    )
    def post(self, request: Request, deployment_id: str) -> Response:
        data = validated(s.DeploymentStopSerializer, request.data if request.data else {})
        deployment = services.stop_deployment(
            owner=request.user, deployment_id=deployment_id, close_positions=data["close_positions"]
        )
        return Response(s.DeploymentSerializer(deployment).data)


class SignalCursor(CursorPagination):
    ordering = ("-bar_time", "symbol", "id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500


class SignalListView(APIView):
    @extend_schema(
        tags=[TAG],
        parameters=[s.SignalQuerySerializer],
        responses=s.SignalPageSerializer,
        operation_id="strategies_signals_list",
        summary="Your deployments' signals, newest bar first (cursor pages)",
    )
    def get(self, request: Request) -> Response:
        query = validated(s.SignalQuerySerializer, _query(request))
        rows = selectors.signals_of(
            request.user,
            deployment_id=query.get("deployment_id"),
            symbol=query.get("symbol"),
            direction=query.get("direction"),
            since=query.get("since"),
        )
        paginator = SignalCursor()
        page = paginator.paginate_queryset(rows, request, view=self)
        return Response(
            {
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": s.SignalSerializer(page, many=True).data,
            }
        )
