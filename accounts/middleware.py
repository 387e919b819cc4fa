"""Resolves ``request.account``: the signed-in user's current trading account (kept in the session)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts import selectors, services
from accounts.models import TradingAccount

SESSION_KEY = "current_account_id"


def current_account(request: HttpRequest) -> TradingAccount | None:
    user = request.user
    if not user.is_authenticated:
        return None
    account_id = request.session.get(SESSION_KEY)
    if account_id:
        account = selectors.accounts_of(user).filter(pk=account_id).first()
        if account is not None:
            return account
    account = services.ensure_paper_account(owner=user)
    request.session[SESSION_KEY] = str(account.pk)
    return account


class CurrentAccountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.account = SimpleLazyObject(lambda: current_account(request))  # type: ignore[attr-defined]
        return self.get_response(request)
