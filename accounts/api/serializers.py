"""Accounts API shapes: inputs and outputs kept apart; unknown input fields are refused."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiToken, TradingAccount, User
from tradeapp.core.api import StrictInputSerializer
from tradeapp.core.decimals import MONEY_DIGITS


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "date_joined", "is_staff"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = TradingAccount
        fields = [
            "id",
            "name",
            "kind",
            "base_currency",
            "status",
            "halted_reason",
            "starting_cash",
            "cash",
            "created_at",
            "reset_at",
        ]
        read_only_fields = fields


class AccountCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=80, required=False)
    starting_cash = serializers.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, required=False, min_value=0, coerce_to_string=True
    )


class AccountResetSerializer(StrictInputSerializer):
    starting_cash = serializers.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, required=False, min_value=0, coerce_to_string=True
    )


class AccountUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=80)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(help_text="The secret key. Shown once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=80)
