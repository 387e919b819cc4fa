"""The event-driven backtest engine and its runs."""

from django.apps import AppConfig


class BacktestsConfig(AppConfig):
    name = "backtests"
    verbose_name = "Backtests"
