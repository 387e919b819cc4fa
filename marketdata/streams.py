"""Names of the market-data websocket streams (Channels group names), for publishers and subscribers.

Channels group names may hold only ASCII letters, digits, ``-``, ``_`` and ``.`` (under 100
characters; symbols are at most 32). ``quote_stream`` is defined once, next to its authoriser in
``marketdata.consumers``, and re-exported here so publishers (the live feed) and subscribers spell it
the same way: ``"AAPL"`` -> ``"quotes.AAPL"``, ``"BTC/USD"`` -> ``"quotes.BTC-USD"``.
"""

from __future__ import annotations

from marketdata.consumers import QUOTES_PREFIX, quote_stream
from marketdata.domain import Timeframe

BARS_PREFIX = "bars"


def bar_stream(symbol: str, timeframe: Timeframe | str) -> str:
    """Closed bars of ``symbol`` in ``timeframe``: ``("BTC/USD", "1m")`` -> ``"bars.BTC-USD.1m"``.

    The symbol part is spelled exactly as in ``quote_stream``."""
    symbol_part = quote_stream(symbol).partition(".")[2]
    return f"{BARS_PREFIX}.{symbol_part}.{Timeframe.parse(timeframe).value}"


__all__ = ["BARS_PREFIX", "QUOTES_PREFIX", "bar_stream", "quote_stream"]
