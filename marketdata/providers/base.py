"""The market-data provider interface (pure, no Django): what ingest and the live feed may call.

Adapters (the offline simulator now; Alpaca and ccxt later) implement ``MarketDataProvider`` so callers
never change when the source does. Every datetime in and out is aware UTC; prices and quantities are
Decimal on the instrument's tick and lot grid; bars are labelled by open time (``marketdata.domain``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from marketdata.domain import Bar, InstrumentSpec, Quote, Timeframe, ensure_utc


class ProviderError(Exception):
    """The provider could not answer (network, rate limit, bad response...)."""


class UnknownSymbol(ProviderError):
    """The provider does not list this symbol."""

    def __init__(self, symbol: str, provider: str = "") -> None:
        self.symbol = symbol
        where = f" at {provider}" if provider else ""
        super().__init__(f"unknown symbol {symbol!r}{where}")


@runtime_checkable
class MarketDataProvider(Protocol):
    """A source of instruments, historical bars and live quotes."""

    name: str

    def instruments(self) -> list[InstrumentSpec]:
        """Every instrument the provider can serve."""
        ...

    def history(self, symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime) -> list[Bar]:
        """Complete bars with ``start <= open_time < end``, oldest first. Bars still forming are not
        returned, so a bar once returned never changes. Raises ``UnknownSymbol``."""
        ...

    def latest_quote(self, symbol: str) -> Quote | None:
        """The most recent quote, or None when the provider has none. Raises ``UnknownSymbol``."""
        ...

    def stream_quotes(self, symbols: Sequence[str], *, until: datetime | None = None) -> Iterator[Quote]:
        """Blocking iterator of live quotes for ``symbols`` (in time order) until ``until`` (forever if
        None). Closing the iterator stops the feed."""
        ...


def check_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Validate a history window: both aware (converted to UTC), naive raises ValueError."""
    return ensure_utc(start), ensure_utc(end)
