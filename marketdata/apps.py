"""Instruments, bars, quotes, market calendars and data providers."""

from django.apps import AppConfig


class MarketdataConfig(AppConfig):
    name = "marketdata"
    verbose_name = "Marketdata"

    def ready(self) -> None:
        from marketdata.consumers import (
            BARS_PREFIX,
            QUOTES_PREFIX,
            authorise_bar_stream,
            authorise_quote_stream,
        )
        from tradeapp.core.consumers import register_stream

        register_stream(QUOTES_PREFIX, authorise_quote_stream)
        register_stream(BARS_PREFIX, authorise_bar_stream)
