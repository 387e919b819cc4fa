"""The strategy SDK, built-in strategies and their deployments."""

from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"

    def ready(self) -> None:
        from marketdata.hooks import on_bar_closed
        from portfolio.hooks import provide_deployment_names
        from strategies.selectors import deployment_names
        from strategies.tasks import enqueue_ticks

        on_bar_closed(enqueue_ticks, durable=True)
        provide_deployment_names(deployment_names)
