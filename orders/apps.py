"""Orders, their state machine, matching, risk checks and venues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from accounts.models import TradingAccount


def cancel_orders_of_halted_account(*, account: TradingAccount) -> None:
    """accounts.hooks handler: a halted account keeps no open orders."""
    # imported when called: app configs load before models are ready
    from orders.services import cancel_all_orders

    cancel_all_orders(account=account, note=("account_halted", "Canceled: the account was halted."))


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from accounts import hooks as account_hooks
        from marketdata.hooks import on_quotes
        from orders import services
        from orders.book import ORDER_BOOK
        from orders.tasks import on_quotes as wake_evaluation
        from portfolio import hooks as portfolio_hooks

        on_quotes(wake_evaluation)
        account_hooks.on_account_reset(services.wipe_orders)
        account_hooks.on_account_halted(cancel_orders_of_halted_account)
        portfolio_hooks.provide_order_book(ORDER_BOOK)
