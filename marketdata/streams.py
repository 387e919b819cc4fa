"""Names of the market-data websocket streams (Channels group names), for publishers and subscribers.

Channels group names may hold only ASCII letters, digits, ``-``, ``_`` and ``.`` (under 100
characters; symbols are at most 32). ``quote_stream`` and ``bar_stream`` are defined once, next to
their authorisers in ``marketdata.consumers``, and re-exported here so publishers (the live feed) and
subscribers spell them the same way: ``"AAPL"`` -> ``"quotes.AAPL"``, ``"BTC/USD"`` -> ``"quotes.BTC-USD"``.
"""

from __future__ import annotations

from marketdata.consumers import BARS_PREFIX, QUOTES_PREFIX, bar_stream, quote_stream

__all__ = ["BARS_PREFIX", "QUOTES_PREFIX", "bar_stream", "quote_stream"]
