"""Names of the market-data websocket streams (Channels group names), for publishers and subscribers
(pure, no Django).

Channels group names may hold only ASCII letters, digits, ``-``, ``_`` and ``.`` (under 100
characters; symbols are at most 32). The feed publishes to these names and the authorisers in
``marketdata.consumers`` map any spelling a browser subscribes with onto them, so both sides spell them
the same way: ``"AAPL"`` -> ``"quotes.AAPL"``, ``"BTC/USD"`` -> ``"quotes.BTC-USD"``.
"""

from __future__ import annotations

import re

from marketdata.domain import Timeframe
from marketdata.symbols import url_symbol

QUOTES_PREFIX = "quotes"
BARS_PREFIX = "bars"
_NOT_IN_GROUP_NAMES = re.compile(r"[^A-Za-z0-9_.\-]")  # Channels allows ASCII alphanumerics, - _ . only


def stream_symbol(symbol: str) -> str:
    """The symbol part of a stream name: its URL spelling ("/" -> "-", see ``marketdata.symbols``) with
    any other character Channels refuses in a group name as "_"."""
    return _NOT_IN_GROUP_NAMES.sub("_", url_symbol(symbol))


def quote_stream(symbol: str) -> str:
    """The group (and stream) name carrying ``symbol``'s quotes: ``"BTC/USD"`` -> ``"quotes.BTC-USD"``.
    Publish to this name and subscribe to this name; nothing else."""
    return f"{QUOTES_PREFIX}.{stream_symbol(symbol)}"


def bar_stream(symbol: str, timeframe: Timeframe | str) -> str:
    """Closed bars of ``symbol`` in ``timeframe``: ``("BTC/USD", "1m")`` -> ``"bars.BTC-USD.1m"``.

    The symbol part is spelled exactly as in ``quote_stream``."""
    return f"{BARS_PREFIX}.{stream_symbol(symbol)}.{Timeframe.parse(timeframe).value}"
