"""The latest quote per instrument, held in Redis and read through this one module.

Redis keeps them across a restart of the web process (and, with persistence on, of Redis itself).
Values are JSON with decimals as strings; ``ts`` is ISO 8601 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from marketdata.domain import Quote
from tradeapp.core.realtime import redis_client

QUOTE_KEY = "tradeapp:quote:{symbol}"
CHANGE_PCT_PLACES = Decimal("0.0001")
QUOTE_FIELDS = ("bid", "ask", "bid_size", "ask_size", "last", "volume", "prev_close")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def encode_quote(quote: Quote) -> str:
    payload = {name: _text(getattr(quote, name)) for name in QUOTE_FIELDS}
    payload["symbol"] = quote.symbol
    payload["ts"] = quote.ts.isoformat()
    return json.dumps(payload, separators=(",", ":"))


def decode_quote(raw: bytes | str) -> Quote:
    data = json.loads(raw)
    values = {name: None if data.get(name) is None else Decimal(data[name]) for name in QUOTE_FIELDS}
    return Quote(symbol=data["symbol"], ts=datetime.fromisoformat(data["ts"]), **values)


def quote_payload(quote: Quote) -> dict[str, str | None]:
    """JSON-ready form for the API and websockets (decimals as strings; change % to 4 places)."""
    payload: dict[str, str | None] = {name: _text(getattr(quote, name)) for name in QUOTE_FIELDS}
    payload["symbol"] = quote.symbol
    payload["ts"] = quote.ts.isoformat()
    payload["change"] = _text(quote.change)
    change_pct = quote.change_pct
    payload["change_pct"] = None if change_pct is None else str(change_pct.quantize(CHANGE_PCT_PLACES))
    return payload


def store_quotes(quotes: Iterable[Quote]) -> int:
    """Write the latest quotes in one round trip; returns how many were written."""
    pipe = redis_client().pipeline(transaction=False)
    count = 0
    for quote in quotes:
        pipe.set(QUOTE_KEY.format(symbol=quote.symbol), encode_quote(quote))
        count += 1
    if count:
        pipe.execute()
    return count


def latest_quotes(symbols: Sequence[str]) -> dict[str, Quote]:
    """The last known quote of each symbol that has one (symbols without a quote are left out)."""
    if not symbols:
        return {}
    raw = redis_client().mget([QUOTE_KEY.format(symbol=symbol) for symbol in symbols])
    return {
        symbol: decode_quote(value) for symbol, value in zip(symbols, raw, strict=True) if value is not None
    }


def latest_quote(symbol: str) -> Quote | None:
    return latest_quotes([symbol]).get(symbol)
