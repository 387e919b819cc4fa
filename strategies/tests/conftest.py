"""Fixtures for the strategies app's database tests: a crypto market (open 24/7), bars stored the way
the feed stores them, latest quotes in the real Redis, and the user's funded paper account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marketdata.domain import Bar, Quote, Timeframe
from marketdata.quotes import store_quotes

START = datetime(2026, 3, 2, tzinfo=UTC)


def hour_bar(symbol: str, index: int, open_: str, close: str | None = None) -> Bar:
    """The ``index``-th 1h bar from START: open, close (default: the open), high/low spanning both."""
    opening, closing = Decimal(open_), Decimal(close or open_)
    return Bar(
        symbol=symbol,
        timeframe=Timeframe.H1,
        open_time=START + timedelta(hours=index),
        open=opening,
        high=max(opening, closing),
        low=min(opening, closing),
        close=closing,
        volume=Decimal(10),
    )


def quote_of(symbol: str, price: Decimal, at: datetime) -> Quote:
    return Quote(
        symbol=symbol,
        ts=at,
        bid=price,
        ask=price,
        bid_size=Decimal(1000),
        ask_size=Decimal(1000),
        last=price,
        volume=Decimal(0),
        prev_close=None,
    )


@pytest.fixture
def set_price() -> Callable[[str, str, datetime], Quote]:
    """``set_price("BTC/USD", "100.00", at)``: the latest quote, bid = ask = last = price."""

    def store(symbol: str, price: str, at: datetime) -> Quote:
        quote = quote_of(symbol, Decimal(price), at)
        store_quotes([quote])
        return quote

    return store
