"""Template context: the current account (for the PAPER/LIVE badge and the account switcher)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts import selectors


def current_account(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_account": getattr(request, "account", None),
        "user_accounts": selectors.accounts_of(user),
    }
