"""Accounts endpoints: validate, call one service, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api import serializers as s
from tradeapp.core.api import validated


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer, summary="The authenticated user")
    def get(self, request: Request) -> Response:
        return Response(s.MeSerializer(request.user).data)


class AccountListView(APIView):
    @extend_schema(responses=s.AccountSerializer(many=True), summary="Your trading accounts")
    def get(self, request: Request) -> Response:
        accounts = selectors.accounts_of(request.user)
        return Response(s.AccountSerializer(accounts, many=True).data)

    @extend_schema(
        request=s.AccountCreateSerializer,
        responses={201: s.AccountSerializer},
        summary="Open a paper account",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.AccountCreateSerializer, request.data)
        account = services.open_paper_account(owner=request.user, **data)
        return Response(s.AccountSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountDetailView(APIView):
    @extend_schema(responses=s.AccountSerializer, summary="One of your accounts")
    def get(self, request: Request, account_id: str) -> Response:
        return Response(s.AccountSerializer(selectors.account_of(request.user, account_id)).data)

    @extend_schema(
        request=s.AccountUpdateSerializer, responses=s.AccountSerializer, summary="Rename an account"
    )
    def patch(self, request: Request, account_id: str) -> Response:
        data = validated(s.AccountUpdateSerializer, request.data)
        account = services.rename_account(owner=request.user, account_id=account_id, name=data["name"])
        return Response(s.AccountSerializer(account).data)


class AccountResetView(APIView):
    @extend_schema(
        request=s.AccountResetSerializer,
        responses=s.AccountSerializer,
        summary="Reset a paper account to a starting cash",
    )
    def post(self, request: Request, account_id: str) -> Response:
        data = validated(s.AccountResetSerializer, request.data)
        account = services.reset_paper_account(owner=request.user, account_id=account_id, **data)
        return Response(s.AccountSerializer(account).data)


class TokenListView(APIView):
    @extend_schema(responses=s.ApiTokenSerializer(many=True), summary="Your active API tokens (no keys)")
    def get(self, request: Request) -> Response:
        return Response(s.ApiTokenSerializer(selectors.active_tokens_of(request.user), many=True).data)

    @extend_schema(
        request=s.ApiTokenCreateSerializer,
        responses={201: s.ApiTokenCreatedSerializer},
        summary="Create an API token (the key is returned once)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.ApiTokenCreateSerializer, request.data)
        token, key = services.create_api_token(owner=request.user, name=data["name"])
        token.key = key  # type: ignore[attr-defined]  # transient, for this one response
        return Response(s.ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Revoke an API token")
    def delete(self, request: Request, token_id: int) -> Response:
        services.revoke_api_token(owner=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
