"""Test data for backtest runs: instruments with stored bars that make moving averages cross, and
runs created through the service (the only writer of Backtest rows)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from backtests import services
from backtests.models import Backtest
from marketdata.domain import Bar, Timeframe
from marketdata.models import Instrument
from marketdata.services import upsert_bars
from marketdata.tests.factories import InstrumentFactory

START = datetime(2024, 1, 1, tzinfo=UTC)


def wave_closes(
    count: int, *, period: int = 40, amplitude: float = 8.0, drift: float = 0.02
) -> list[Decimal]:
    """Closes on a cent grid swinging around a slow drift: SMA(10/20) crosses every half period."""
    return [
        Decimal(f"{100 + drift * index + amplitude * math.sin(2 * math.pi * index / period):.2f}")
        for index in range(count)
    ]


def store_bars(
    instrument: Instrument,
    closes: list[Decimal],
    *,
    timeframe: Timeframe = Timeframe.D1,
    start: datetime = START,
) -> list[Bar]:
    """Sound bars from closes (each opens at the previous close), stored with the real upsert."""
    bars = []
    for index, close in enumerate(closes):
        open_price = closes[index - 1] if index else close
        bars.append(
            Bar(
                symbol=instrument.symbol,
                timeframe=timeframe,
                open_time=start + timeframe.delta * index,
                open=open_price,
                high=max(open_price, close) + Decimal("0.05"),
                low=min(open_price, close) - Decimal("0.05"),
                close=close,
                volume=Decimal(100_000),
                trade_count=100,
            )
        )
    report = upsert_bars(instrument=instrument, bars=bars)
    assert not report.rejected, report.rejected
    return bars


def market(symbol: str = "WAVE", count: int = 300, **bars: Any) -> Instrument:
    """An instrument with ``count`` daily wave bars from 2024-01-01."""
    instrument = InstrumentFactory(symbol=symbol)
    store_bars(instrument, wave_closes(count), **bars)
    return instrument


def request(**overrides: Any) -> services.BacktestRequest:
    values: dict[str, Any] = {
        "strategy": "moving_average_crossover",
        "symbols": ["WAVE"],
        "timeframe": "1d",
        "start": START + timedelta(days=30),
        "end": START + timedelta(days=300),
        "parameters": {"fast": 10, "slow": 20},
        "starting_cash": Decimal(10_000),
    }
    values.update(overrides)
    return services.BacktestRequest(**values)


def create(owner: Any, **overrides: Any) -> Backtest:
    return services.create_backtest(owner=owner, request=request(**overrides))


def completed(owner: Any, **overrides: Any) -> Backtest:
    """A run created and run in this process."""
    row = create(owner, **overrides)
    finished = services.run_backtest(backtest_id=row.pk)
    assert finished is not None
    assert finished.status == "completed", (
        finished.error_code,
        finished.error_message,
    )
    return Backtest.objects.get(pk=row.pk)
