"""Websocket streams of market data: who may subscribe to ``quotes.<SYMBOL>``, and the one spelling of
that stream's Channels group name, shared by the publisher (the feed) and the authoriser."""

from __future__ import annotations

import re
from typing import Any

from channels.db import database_sync_to_async

from marketdata.models import Instrument
from marketdata.selectors import MAX_SYMBOL_LENGTH

QUOTES_PREFIX = "quotes"
_NOT_IN_GROUP_NAMES = re.compile(r"[^A-Za-z0-9_.\-]")  # Channels allows ASCII alphanumerics, - _ . only


def quote_stream(symbol: str) -> str:
    """The group (and stream) name carrying ``symbol``'s quotes: ``"BTC/USD"`` -> ``"quotes.BTC-USD"``.

    "/" becomes "-" (the same alias the REST API accepts); any other character Channels refuses in a
    group name becomes "_". Publish to this name and subscribe to this name; nothing else."""
    return f"{QUOTES_PREFIX}.{_NOT_IN_GROUP_NAMES.sub('_', symbol.replace('/', '-'))}"


def canonical_quote_stream(stream: str) -> str | None:
    """The canonical name of ``quotes.<symbol>`` written in any case (or with "/"), when the symbol is
    an existing, active instrument's; else None. Reads the database: call it from sync code."""
    prefix, _, symbol = stream.partition(".")
    if prefix != QUOTES_PREFIX or not symbol or len(symbol) > MAX_SYMBOL_LENGTH:
        return None
    # the name this spelling maps to; "-" and "_" in it may stand for characters group names do not
    # allow ("/", " "...), so match those positions with any character and compare the mapped names
    wanted = quote_stream(symbol)
    pattern = (
        "^" + "".join("." if char in "-_" else re.escape(char) for char in wanted.partition(".")[2]) + "$"
    )
    streams = sorted(
        quote_stream(instrument.symbol)
        for instrument in Instrument.objects.filter(active=True, symbol__iregex=pattern).only("symbol")
        if quote_stream(instrument.symbol).upper() == wanted.upper()
    )
    return stream if stream in streams else next(iter(streams), None)


async def authorise_quote_stream(user: Any, stream: str) -> tuple[str | None, str | None]:
    """StreamAuthoriser for ``quotes.*``: any spelling of an active instrument's stream ("quotes.aapl",
    "quotes.btc-usd") is allowed and mapped to its canonical group name, which the consumer joins."""
    canonical = await database_sync_to_async(canonical_quote_stream)(stream)
    if canonical is None:
        symbol = stream.partition(".")[2]
        return None, f"Unknown symbol '{symbol[:40]}': no quote stream {stream[:60]!r}."
    return canonical, None
