"""Instruments, bars, quotes, market calendars and data providers."""

from django.apps import AppConfig


class MarketdataConfig(AppConfig):
    name = "marketdata"
    verbose_name = "Marketdata"
