"""Account lifecycle hooks: how accounts (a low layer) tells the apps above it that an account was
opened, reset or halted, without importing them.

Handlers run synchronously, inside the caller's transaction and with the account row locked, in the
order registered, so what they write commits or rolls back with the account change (a reset that
fails half-way leaves nothing half-written). Unlike ``marketdata.hooks``, a handler that raises aborts
the whole change: these hooks move money and history. Register from ``AppConfig.ready``; registering
the same handler twice is a no-op.

- ``on_account_funded(fn)``: ``fn(account=...)`` after an account was opened or reset with ``account.cash``
  as its new deposit (portfolio writes the ledger line).
- ``on_account_reset(fn)``: ``fn(account=...)`` before a paper account is started over (portfolio and
  orders clear the account's book).
- ``on_account_halted(fn)``: ``fn(account=...)`` after an account was halted (orders cancels its open
  orders).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import TradingAccount

AccountHandler = Callable[..., object]  # called as handler(account=...)

_funded: list[AccountHandler] = []
_reset: list[AccountHandler] = []
_halted: list[AccountHandler] = []


def _register(handlers: list[AccountHandler], handler: AccountHandler) -> AccountHandler:
    if handler not in handlers:
        handlers.append(handler)
    return handler


def on_account_funded(handler: AccountHandler) -> AccountHandler:
    return _register(_funded, handler)


def on_account_reset(handler: AccountHandler) -> AccountHandler:
    return _register(_reset, handler)


def on_account_halted(handler: AccountHandler) -> AccountHandler:
    return _register(_halted, handler)


def account_funded(account: TradingAccount) -> None:
    for handler in _funded:
        handler(account=account)


def account_reset(account: TradingAccount) -> None:
    for handler in _reset:
        handler(account=account)


def account_halted(account: TradingAccount) -> None:
    for handler in _halted:
        handler(account=account)
