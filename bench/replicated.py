"""A provider for load tests: the simulator's universe plus clones (``BENCH01``...) that replay a base
instrument's quotes under their own symbol, so the feed can stream more symbols than the simulator
lists. The clock is shifted into a past trading session, so stocks and forex stream on any day."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from marketdata.domain import AssetClass, Bar, InstrumentSpec, Quote, Timeframe
from marketdata.providers.simulator import SimulatorProvider

CLONE_VENUE = "SIM-BENCH"


def session_anchor(today: date) -> datetime:
    """15:30 UTC of the latest past day on which stocks, forex and crypto all trade."""
    from marketdata import calendar

    for back in range(1, 15):
        at = datetime.combine(today - timedelta(days=back), datetime.min.time(), tzinfo=UTC) + timedelta(
            hours=15, minutes=30
        )
        if calendar.is_open(AssetClass.STOCK, at) and calendar.is_open(AssetClass.FOREX, at):
            close = calendar.next_close(AssetClass.STOCK, at)
            if close is not None and close - at >= timedelta(hours=3):
                return at
    raise RuntimeError("no trading day in the last two weeks")


def shifted_clock(offset: timedelta) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) - offset


class ReplicatedSimulator:
    """``total`` symbols: the simulator's own, then clones of them in turn."""

    name = "simulator"

    def __init__(self, base: SimulatorProvider, total: int) -> None:
        self.base = base
        self.clock = base.clock
        specs = base.instruments()
        self._base_of: dict[str, str] = {spec.symbol: spec.symbol for spec in specs[:total]}
        self._specs: dict[str, InstrumentSpec] = {spec.symbol: spec for spec in specs[:total]}
        for number in range(1, total - len(self._specs) + 1):
            original = specs[(number - 1) % len(specs)]
            symbol = f"BENCH{number:02d}"
            self._base_of[symbol] = original.symbol
            self._specs[symbol] = dataclasses.replace(
                original, symbol=symbol, name=f"Clone of {original.symbol}", venue=CLONE_VENUE
            )

    @property
    def symbols(self) -> list[str]:
        return list(self._specs)

    def instruments(self) -> list[InstrumentSpec]:
        return list(self._specs.values())

    def history(self, symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime) -> list[Bar]:
        bars = self.base.history(self._base_of[symbol], timeframe, start, end)
        return [dataclasses.replace(bar, symbol=symbol) for bar in bars]

    def latest_quote(self, symbol: str) -> Quote | None:
        quote = self.base.latest_quote(self._base_of[symbol])
        return None if quote is None else dataclasses.replace(quote, symbol=symbol)

    def stream_quotes(self, symbols: Sequence[str], *, until: datetime | None = None) -> Iterator[Quote]:
        clones: dict[str, list[str]] = {}
        for symbol in symbols:
            clones.setdefault(self._base_of[symbol], []).append(symbol)
        for quote in self.base.stream_quotes(list(clones), until=until):
            for symbol in clones[quote.symbol]:
                yield quote if symbol == quote.symbol else dataclasses.replace(quote, symbol=symbol)
