"""Read paths for accounts: every lookup is scoped to its owner (a foreign id is simply not found)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import AccountKind, ApiToken, TradingAccount, User
from tradeapp.core.errors import NotFound


def accounts_of(user: User) -> QuerySet[TradingAccount]:
    return TradingAccount.objects.filter(owner=user).order_by("created_at")


def account_of(user: User, account_id: object) -> TradingAccount:
    """The user's account with this id, or NotFound (404) — also for another user's account."""
    try:
        return accounts_of(user).get(pk=account_id)
    except (TradingAccount.DoesNotExist, ValidationError, ValueError) as error:
        raise NotFound("No such account.") from error


def default_account(user: User) -> TradingAccount:
    """The account ``default`` stands for wherever an endpoint accepts it: the user's oldest paper
    account. Paper, so that a request naming no account never trades real money; the oldest, so the
    answer stays the same when the user opens another. NotFound (404) when the user has none."""
    account = accounts_of(user).filter(kind=AccountKind.PAPER).first()
    if account is None:
        raise NotFound("You have no paper account.", "account_id")
    return account


def account_by_reference(user: User, account_id: object) -> TradingAccount:
    """The account a path names: ``default`` (:func:`default_account`) or one of the user's account
    ids; NotFound (404) otherwise, also for another user's account."""
    if account_id == "default":
        return default_account(user)
    return account_of(user, account_id)


def active_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(owner=user, revoked_at__isnull=True)
