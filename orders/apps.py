"""Orders, their state machine, matching, risk checks and venues."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from marketdata.hooks import on_quotes
        from orders.tasks import on_quotes as wake_evaluation

        on_quotes(wake_evaluation)
