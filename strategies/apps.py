"""The strategy SDK, built-in strategies and their deployments."""

from django.apps import AppConfig


class StrategiesConfig(AppConfig):
    name = "strategies"
    verbose_name = "Strategies"
