"""What a backtest produces: order records, round-trip trades, the equity curve and the result that
holds them with the run's provenance (pure, no Django)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from marketdata.domain import Timeframe
from orders.matching import Fill
from orders.states import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from portfolio.ledger import PositionState
from portfolio.metrics import Metrics
from strategies.sdk import FloatArray, IntArray, LogLine, Signal


class OrderRecord(NamedTuple):
    """An order of the run in its final state. ``statuses`` are the statuses it moved into, in order
    (``orders.states.replay`` accepts them); ``reason`` is a ``Reason`` or risk / validation code.
    ``created_at`` is the bar it was decided on, ``submitted_at`` the bar it reached the market on."""

    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    order_class: OrderClass
    role: str
    parent_id: str | None
    quantity: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    trail_amount: Decimal | None
    trail_percent: Decimal | None
    time_in_force: TimeInForce
    status: OrderStatus
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    statuses: tuple[OrderStatus, ...]
    reason: str
    message: str
    created_at: datetime
    submitted_at: datetime | None
    tag: str


class Trade(NamedTuple):
    """One round trip of a symbol: from flat (or a flip) back to flat (or the next flip).

    ``quantity`` is the largest absolute position held; prices are volume-weighted averages of the
    opening and closing fills (10 places). ``pnl`` is net of every commission of the round trip (a flip
    fill's commission is split pro rata between the trade it closes and the one it opens) and sums
    exactly to the realised P&L. For an open trade (``is_open``) the exit is the last close, the P&L
    includes the unrealised part and no exit commission."""

    symbol: str
    direction: str
    quantity: Decimal
    entry_time: datetime
    exit_time: datetime
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    commission: Decimal
    return_pct: float
    entry_bar: int
    exit_bar: int
    is_open: bool = False

    @property
    def duration(self) -> timedelta:
        return self.exit_time - self.entry_time


@dataclass(frozen=True, eq=False)
class EquityCurve:
    """Per step (timestamp) from the first traded bar, at each bar's close: ``equity``, ``cash``,
    ``drawdown`` (<= 0, fraction of the running peak), ``gross_exposure`` (sum of |position value| /
    equity) and ``in_market`` (any position open). ``time`` is int64 ns (bar open times)."""

    time: IntArray
    equity: FloatArray
    cash: FloatArray
    drawdown: FloatArray
    gross_exposure: FloatArray
    in_market: npt.NDArray[np.bool_]

    def frame(self) -> Any:
        import pandas as pd

        index = pd.DatetimeIndex(self.time.astype("datetime64[ns]")).tz_localize("UTC")
        return pd.DataFrame(
            {
                "equity": self.equity,
                "cash": self.cash,
                "drawdown": self.drawdown,
                "gross_exposure": self.gross_exposure,
                "in_market": self.in_market,
            },
            index=index,
        )


class DataRange(NamedTuple):
    symbol: str
    first: datetime
    last: datetime
    bars: int


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything a run produced; equal inputs give equal results (``fingerprint`` compares them)."""

    strategy: str
    parameters: dict[str, Any]
    symbols: tuple[str, ...]
    timeframe: Timeframe
    data_ranges: tuple[DataRange, ...]
    data_hash: str
    code_version: str
    config: dict[str, str]
    initial_cash: Decimal
    final_cash: Decimal
    final_equity: Decimal
    positions: dict[str, PositionState]
    orders: tuple[OrderRecord, ...]
    fills: tuple[Fill, ...]
    trades: tuple[Trade, ...]
    open_trades: tuple[Trade, ...]
    equity: EquityCurve
    metrics: Metrics
    signals: tuple[Signal, ...]
    logs: tuple[LogLine, ...]
    bars: int
    elapsed_seconds: float = field(default=0.0, compare=False)

    def fingerprint(self) -> str:
        """SHA-256 of everything but the wall time: two runs agree iff their fingerprints do."""
        digest = hashlib.sha256()
        for part in (
            self.strategy,
            repr(sorted(self.parameters.items())),
            self.data_hash,
            self.code_version,
            repr(sorted(self.config.items())),
            str(self.final_cash),
            str(self.final_equity),
            repr(self.orders),
            repr(self.fills),
            repr(self.trades),
            repr(self.open_trades),
            repr(self.signals),
        ):
            digest.update(part.encode())
        for array in (self.equity.time, self.equity.equity, self.equity.cash):
            digest.update(array.tobytes())
        return digest.hexdigest()
