"""Websocket streams of market data: who may subscribe to ``quotes.<SYMBOL>`` and
``bars.<SYMBOL>.<TIMEFRAME>``, and the one spelling of those Channels group names, shared by the
publisher (the feed) and the authorisers."""

from __future__ import annotations

import re
from typing import Any

from channels.db import database_sync_to_async

from marketdata.domain import Timeframe
from marketdata.models import Instrument
from marketdata.selectors import MAX_SYMBOL_LENGTH

QUOTES_PREFIX = "quotes"
BARS_PREFIX = "bars"
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


def bar_stream(symbol: str, timeframe: Timeframe | str) -> str:
    """Closed bars of ``symbol`` in ``timeframe``: ``("BTC/USD", "1m")`` -> ``"bars.BTC-USD.1m"``.

    The symbol part is spelled exactly as in ``quote_stream``."""
    symbol_part = quote_stream(symbol).partition(".")[2]
    return f"{BARS_PREFIX}.{symbol_part}.{Timeframe.parse(timeframe).value}"


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
