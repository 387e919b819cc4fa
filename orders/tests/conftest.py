"""Trading fixtures: a crypto market (open 24/7, so tests do not depend on the weekday), latest
quotes in the real Redis, and the user's funded paper account."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from orders.tests.factories import quote_at


@pytest.fixture(autouse=True)
def no_stale_quotes(market) -> None:
    """Every trading test starts (and ends) without latest quotes."""


@pytest.fixture
def quote() -> Callable[..., object]:
    """``quote("BTC/USD", bid="100", ask="100.10")`` stores a fresh quote as the latest."""
    from marketdata.quotes import store_quotes

    def store(symbol: str, *, bid: str, ask: str, last: str | None = None, **extra: object) -> object:
        made = quote_at(symbol, bid=bid, ask=ask, last=last, **extra)
        store_quotes([made])
        return made

    return store
