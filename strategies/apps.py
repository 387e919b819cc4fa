"""The strategy SDK, built-in strategies and their deployments."""

from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"

    def ready(self) -> None:
        from marketdata.hooks import on_bar_closed
        from strategies.tasks import enqueue_ticks

        on_bar_closed(enqueue_ticks, durable=True)
