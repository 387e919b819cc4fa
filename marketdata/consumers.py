"""Websocket streams of market data: who may subscribe to ``quotes.<SYMBOL>`` and
``bars.<SYMBOL>.<TIMEFRAME>``. The names themselves are spelled once, in ``marketdata.streams``; they
are re-exported here for the pages that put a stream name into their HTML."""

from __future__ import annotations

import re
from typing import Any

from channels.db import database_sync_to_async

from marketdata.domain import Timeframe
from marketdata.models import Instrument
from marketdata.streams import BARS_PREFIX, QUOTES_PREFIX, bar_stream, quote_stream
from marketdata.symbols import MAX_SYMBOL_LENGTH

__all__ = [
    "BARS_PREFIX",
    "QUOTES_PREFIX",
    "authorise_bar_stream",
    "authorise_quote_stream",
    "bar_stream",
    "canonical_quote_stream",
    "quote_stream",
]


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


async def authorise_bar_stream(user: Any, stream: str) -> tuple[str | None, str | None]:
    """StreamAuthoriser for ``bars.*``: ``bars.<symbol>.<timeframe>`` of an active instrument, the
    symbol spelled as ``quotes.*`` accepts it (the timeframe is last: symbols may hold dots)."""
    body, _, timeframe = stream.partition(".")[2].rpartition(".")
    try:
        frame = Timeframe.parse(timeframe)
    except ValueError:
        allowed = ", ".join(member.value for member in Timeframe)
        return None, f"Unknown timeframe {timeframe[:10]!r} in {stream[:60]!r}: expected one of {allowed}."
    canonical, problem = await authorise_quote_stream(user, f"{QUOTES_PREFIX}.{body}")
    if canonical is None:
        return None, problem
    return f"{BARS_PREFIX}.{canonical.partition('.')[2]}.{frame.value}", None
