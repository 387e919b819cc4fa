"""Market-data value types (pure, no Django): instruments, quotes and OHLCV bars.

Prices and quantities are ``Decimal``; timestamps are timezone-aware UTC; bars are labelled by their
OPEN time and cover ``[open_time, open_time + timeframe.delta)``. The types do not validate on
construction (they are built in hot loops); call :func:`bar_problems` / :func:`quote_problems` at the
edges where data comes in from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AssetClass(StrEnum):
    STOCK = "stock"
    ETF = "etf"
    CRYPTO = "crypto"
    FOREX = "forex"


class Timeframe(StrEnum):
    """Bar widths. Intraday bars are aligned to multiples of ``delta`` since the UTC epoch; daily bars
    follow a session convention (see ``marketdata.aggregate``)."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    D1 = "1d"

    @property
    def delta(self) -> timedelta:
        return _DELTAS[self]

    @property
    def seconds(self) -> int:
        return int(_DELTAS[self].total_seconds())

    @property
    def is_intraday(self) -> bool:
        return self is not Timeframe.D1

    @classmethod
    def parse(cls, text: str | Timeframe) -> Timeframe:
        """``"5m"`` -> ``Timeframe.M5``; surrounding whitespace is ignored, anything else raises."""
        if isinstance(text, Timeframe):
            return text
        if not isinstance(text, str):
            raise TypeError(f"timeframe must be a string, not {type(text).__name__}")
        try:
            return cls(text.strip())
        except ValueError:
            allowed = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown timeframe {text!r}: expected one of {allowed}") from None


_DELTAS: dict[Timeframe, timedelta] = {
    Timeframe.M1: timedelta(minutes=1),
    Timeframe.M5: timedelta(minutes=5),
    Timeframe.M15: timedelta(minutes=15),
    Timeframe.H1: timedelta(hours=1),
    Timeframe.D1: timedelta(days=1),
}


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """Static facts about something quotable. Prices sit on ``tick_size``; quantities on ``lot_size``
    and are at least ``min_quantity``."""

    symbol: str
    name: str
    asset_class: AssetClass
    venue: str
    quote_currency: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    fractionable: bool
    shortable: bool
    tradable: bool
    data_source: str


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book plus the last trade at ``ts``. ``volume`` is the session's cumulative volume and
    ``prev_close`` the previous session's close (None when unknown)."""

    symbol: str
    ts: datetime
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal
    last: Decimal
    volume: Decimal
    prev_close: Decimal | None

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid

    @property
    def change(self) -> Decimal | None:
        """``last - prev_close``; exact."""
        if self.prev_close is None:
            return None
        return self.last - self.prev_close

    @property
    def change_pct(self) -> Decimal | None:
        """Percent change against ``prev_close`` (``1.5`` means +1.5 %), unrounded: round for display."""
        if self.prev_close is None or self.prev_close == 0:
            return None
        return (self.last - self.prev_close) * 100 / self.prev_close


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar labelled by its open time. ``trade_count`` is None when the source has none."""

    symbol: str
    timeframe: Timeframe
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trade_count: int | None = None

    @property
    def close_time(self) -> datetime:
        """Exclusive end of the bar's interval (``open_time + timeframe.delta``)."""
        return self.open_time + self.timeframe.delta


def is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes raise ValueError (timestamps must be aware)."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, not {type(value).__name__}")
    if not is_aware(value):
        raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware (UTC)")
    return value.astimezone(UTC)


def is_aligned(at: datetime, timeframe: Timeframe) -> bool:
    """Intraday: ``at`` is a multiple of the bar width since the UTC epoch. Daily: whole minute (daily
    labels are session opens or midnights, see ``marketdata.aggregate``)."""
    elapsed = at - _EPOCH
    step = timeframe.delta if timeframe.is_intraday else timedelta(minutes=1)
    return elapsed % step == timedelta(0)


def bar_problems(bar: Bar) -> list[str]:
    """Everything wrong with ``bar`` in words; an empty list means the bar is sound."""
    problems: list[str] = []
    if not is_aware(bar.open_time):
        problems.append("open_time is naive (must be timezone-aware UTC)")
    elif not is_aligned(bar.open_time, bar.timeframe):
        problems.append(f"open_time {bar.open_time.isoformat()} is not aligned to {bar.timeframe.value}")
    prices = {"open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close}
    problems.extend(f"{name} {value} is not positive" for name, value in prices.items() if value <= 0)
    if bar.high < bar.low:
        problems.append(f"high {bar.high} is below low {bar.low}")
    problems.extend(
        f"{name} {value} is outside [low {bar.low}, high {bar.high}]"
        for name, value in (("open", bar.open), ("close", bar.close))
        if not bar.low <= value <= bar.high
    )
    if bar.volume < 0:
        problems.append(f"volume {bar.volume} is negative")
    if bar.trade_count is not None and bar.trade_count < 0:
        problems.append(f"trade_count {bar.trade_count} is negative")
    return problems


def quote_problems(quote: Quote) -> list[str]:
    """Everything wrong with ``quote`` in words (naive time, non-positive or crossed prices...)."""
    problems: list[str] = []
    if not is_aware(quote.ts):
        problems.append("ts is naive (must be timezone-aware UTC)")
    prices = {"bid": quote.bid, "ask": quote.ask, "last": quote.last}
    problems.extend(f"{name} {value} is not positive" for name, value in prices.items() if value <= 0)
    if quote.bid > quote.ask:
        problems.append(f"crossed book: bid {quote.bid} above ask {quote.ask}")
    amounts = {"bid_size": quote.bid_size, "ask_size": quote.ask_size, "volume": quote.volume}
    problems.extend(f"{name} {value} is negative" for name, value in amounts.items() if value < 0)
    if quote.prev_close is not None and quote.prev_close <= 0:
        problems.append(f"prev_close {quote.prev_close} is not positive")
    return problems
