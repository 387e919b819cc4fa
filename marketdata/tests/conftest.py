"""Market-data fixtures: latest quotes written to the real Redis, removed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from marketdata.domain import Quote
from marketdata.quotes import QUOTE_KEY, store_quotes
from tradeapp.core.realtime import redis_client


@pytest.fixture
def stored_quotes() -> Iterator[Callable[..., None]]:
    """Call with quotes to make them the latest; their Redis keys are deleted afterwards."""
    written: set[str] = set()

    def store(*quotes: Quote) -> None:
        store_quotes(quotes)
        written.update(QUOTE_KEY.format(symbol=quote.symbol) for quote in quotes)

    yield store
    if written:
        redis_client().delete(*written)


@pytest.fixture(autouse=True)
def no_stale_quotes() -> None:
    """Start every market-data test without latest quotes: a Redis shared with a running platform (or an
    earlier run against external services) may hold real ones, which would change what tests see."""
    client = redis_client()
    stale = list(client.scan_iter(match=QUOTE_KEY.format(symbol="*"), count=1000))
    if stale:
        client.delete(*stale)
