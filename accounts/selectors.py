"""Read paths for accounts: every lookup is scoped to its owner (a foreign id is simply not found)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import ApiToken, TradingAccount, User
from tradeapp.core.errors import NotFound


def accounts_of(user: User) -> QuerySet[TradingAccount]:
    return TradingAccount.objects.filter(owner=user).order_by("created_at")


def account_of(user: User, account_id: object) -> TradingAccount:
    """The user's account with this id, or NotFound (404) — also for another user's account."""
    try:
        return accounts_of(user).get(pk=account_id)
    except (TradingAccount.DoesNotExist, ValidationError, ValueError) as error:
        raise NotFound("No such account.") from error


def active_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(owner=user, revoked_at__isnull=True)
