"""Factories for market data rows and bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from marketdata.domain import Bar, Quote, Timeframe
from marketdata.models import Instrument, Watchlist


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ("venue", "symbol")

    symbol = factory.Sequence(lambda n: f"SYM{n}")
    name = factory.LazyAttribute(lambda i: f"{i.symbol} Corp. (simulated)")
    asset_class = "stock"
    venue = "SIM"
    quote_currency = "USD"
    tick_size = Decimal("0.01")
    lot_size = Decimal(1)
    min_quantity = Decimal(1)
    fractionable = False
    shortable = True


def make_bars(
    symbol: str,
    count: int,
    *,
    start: datetime | None = None,
    timeframe: Timeframe = Timeframe.M1,
    price: Decimal = Decimal("100.00"),
) -> list[Bar]:
    """A simple rising series of sound bars, one per ``timeframe`` step."""
    start = start or datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    bars = []
    for index in range(count):
        open_price = price + Decimal(index) / 100
        bars.append(
            Bar(
                symbol=symbol,
                timeframe=timeframe,
                open_time=start + timeframe.delta * index,
                open=open_price,
                high=open_price + Decimal("0.05"),
                low=open_price - Decimal("0.05"),
                close=open_price + Decimal("0.01"),
                volume=Decimal(1000 + index),
                trade_count=10,
            )
        )
    return bars


class WatchlistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Watchlist

    owner = factory.SubFactory("accounts.tests.factories.UserFactory")
    name = factory.Sequence(lambda n: f"List {n}")


def make_quote(
    symbol: str, last: str, *, prev_close: str | None = "100", at: datetime | None = None
) -> Quote:
    """A sound quote around ``last`` (spread 0.02)."""
    price = Decimal(last)
    return Quote(
        symbol=symbol,
        ts=at or datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        bid=price - Decimal("0.01"),
        ask=price + Decimal("0.01"),
        bid_size=Decimal(100),
        ask_size=Decimal(100),
        last=price,
        volume=Decimal(5000),
        prev_close=None if prev_close is None else Decimal(prev_close),
    )


__all__ = ["InstrumentFactory", "WatchlistFactory", "make_bars", "make_quote", "timedelta"]
