"""Trading fixtures: a crypto market (open 24/7, so tests do not depend on the weekday), latest
quotes in the real Redis, and the user's funded paper account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from marketdata.quotes import QUOTE_KEY
from marketdata.tests.factories import InstrumentFactory
from orders.tests.factories import quote_at
from tradeapp.core.realtime import redis_client


@pytest.fixture(autouse=True)
def no_stale_quotes() -> Iterator[None]:
    client = redis_client()
    stale = list(client.scan_iter(match=QUOTE_KEY.format(symbol="*"), count=1000))
    if stale:
        client.delete(*stale)
    yield
    stale = list(client.scan_iter(match=QUOTE_KEY.format(symbol="*"), count=1000))
    if stale:
        client.delete(*stale)


@pytest.fixture
def btc(db):
    return InstrumentFactory(
        symbol="BTC/USD",
        name="Bitcoin (simulated)",
        asset_class="crypto",
        venue="SIM-CRYPTO",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.0001"),
        min_quantity=Decimal("0.0001"),
        fractionable=True,
        shortable=False,
    )


@pytest.fixture
def eth(db):
    return InstrumentFactory(
        symbol="ETH/USD",
        asset_class="crypto",
        venue="SIM-CRYPTO",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.001"),
        min_quantity=Decimal("0.001"),
        fractionable=True,
    )


@pytest.fixture
def quote() -> Callable[..., object]:
    """``quote("BTC/USD", bid="100", ask="100.10")`` stores a fresh quote as the latest."""
    from marketdata.quotes import store_quotes

    def store(symbol: str, *, bid: str, ask: str, last: str | None = None, **extra: object) -> object:
        made = quote_at(symbol, bid=bid, ask=ask, last=last, **extra)
        store_quotes([made])
        return made

    return store


@pytest.fixture
def account(user):
    return user.trading_accounts.get()
