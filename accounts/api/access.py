"""How an API path names one of the caller's trading accounts: an id of theirs or ``default``. Every
account-scoped endpoint (orders, positions, portfolio, strategies) resolves it here, so ``default``
means the same account everywhere (``accounts.selectors.default_account``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from accounts.models import TradingAccount
from accounts.selectors import account_by_reference

ACCOUNT_PARAMETER = OpenApiParameter(
    "account_id",
    str,
    OpenApiParameter.PATH,
    description="an account id of yours, or `default` (your oldest paper account)",
)


def resolve_account(request: Request, account_id: str) -> TradingAccount:
    """The caller's account named by the path: an id of theirs or ``default``; 404 otherwise."""
    return account_by_reference(request.user, account_id)
