"""What portfolio reads from the apps above it, without importing them: the order book (open orders,
fills) from orders and the deployments' names from strategies.

portfolio sits below orders (orders applies its fills through ``portfolio.services.apply_fill``), yet
an account's summary counts cash reserved by open orders, its analytics and reconciliation replay the
fills, and realised P&L is shown by strategy. The higher apps register a source here from their
``AppConfig.ready``; portfolio asks through the functions below. A missing source is a wiring error
(the app is not installed), never a silent zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from accounts.models import TradingAccount
    from portfolio.analytics import FillRecord


class OrderBook(Protocol):
    """The order app's answers about one account."""

    def open_order_totals(self, account: TradingAccount) -> tuple[Decimal, int]:
        """(cash reserved by open orders, number of open orders)."""
        ...

    def fills(self, account: TradingAccount) -> list[FillRecord]:
        """Every fill since the account's last reset, in execution order (the order positions were
        built in), with the deployment of its order."""
        ...

    def open_orders(self, account: TradingAccount, limit: int) -> Sequence[Any]:
        """The newest ``limit`` open orders (rows the order templates render)."""
        ...


DeploymentNames = Callable[["TradingAccount", Sequence[str]], dict[str, str]]


@dataclass
class _Sources:
    order_book: OrderBook | None = None
    deployment_names: DeploymentNames | None = None


_sources = _Sources()


def provide_order_book(book: OrderBook) -> None:
    _sources.order_book = book


def provide_deployment_names(names: DeploymentNames) -> None:
    _sources.deployment_names = names


def order_book() -> OrderBook:
    if _sources.order_book is None:
        raise ImproperlyConfigured("no order book registered: is the orders app installed?")
    return _sources.order_book


def deployment_names(account: TradingAccount, deployment_ids: Sequence[str]) -> dict[str, str]:
    """{deployment id: name} for the account owner's deployments among ``deployment_ids``."""
    if not deployment_ids:
        return {}
    if _sources.deployment_names is None:
        raise ImproperlyConfigured("no deployment names registered: is the strategies app installed?")
    return _sources.deployment_names(account, deployment_ids)
