"""The event-driven backtest engine (pure, no Django): bars in, a strategy's orders through the same
matching, risk and ledger code as the paper broker, results out.

Conventions (``docs/strategies.md`` has the long version):

- Event order for each timestamp (one "step"): for every symbol with a bar at that time, first the
  orders already working at the venue are matched against the bar (``orders.matching.on_market_event``,
  oldest first; a bracket's stop-loss before its take-profit), then the orders the strategy placed
  since the symbol's previous bar are submitted with this bar (``on_submit``: next-bar-open) after the
  same checks as the paper broker (``validate_order``, ``contingent.group_problems``,
  ``orders.risk.check_order``). Fills go through ``portfolio.ledger.apply_fill``; ``on_fill`` runs for
  each, then the bar becomes visible and ``on_bar`` runs.
- Legs a fill activates (bracket / OTO) work from the NEXT bar; a refused order ends ``rejected`` with
  the risk or validation code. Orders of ``equity_percent`` are sized when they reach the market with
  :func:`strategies.sdk.size_for_budget` at the price they are expected to fill (the open, slippage
  included, for market orders); ``close`` orders take the position at that moment.
- Risk sees the account as the paper broker does: cash, equity with positions marked at the open of
  the current bar (the latest close for symbols without a bar now), reserved buying power = open buy
  orders' remaining notional at their reference price + the market value of short positions.
- DAY orders expire at ``config.session_close(open time of the bar they reached the market on)``;
  the default is the end of that UTC day (daily bars: the next bar).
- Money is Decimal from order to ledger; the per-bar loop touches no Decimal and allocates nothing on
  bars where no order works. A market order outside a contingent group takes a shortcut that gives
  exactly what ``on_submit`` gives (proved by ``backtests/tests/test_engine_fast_path.py``). Equity and
  drawdown curves are float64, computed after the loop from the exact cash and positions after each
  fill; the final equity is exact.
- Reproducible: no randomness, ids are ``"<n>"`` in placement order; the result carries the data range,
  a SHA-256 of the data, the strategy's parameters and the caller's code version.
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from marketdata.domain import Bar, Timeframe
from orders.contingent import (
    ActivateLeg,
    ContingentGroup,
    after_cancel,
    after_fill,
    apply_action,
    bracket,
    group_problems,
    oco,
    oto,
)
from orders.matching import (
    AVERAGE_PRICE_STEP,
    ExecutionConfig,
    Fill,
    MatchResult,
    WorkingOrder,
    cancel_order,
    on_market_event,
    on_submit,
    validate_order,
)
from orders.risk import AccountSnapshot, OrderIntent, PositionExposure, RiskLimits, check_order
from orders.states import (
    TERMINAL_STATUSES,
    OrderClass,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
)
from portfolio.ledger import PositionState, apply_fill
from portfolio.metrics import Metrics, compute_metrics
from strategies.sdk import (
    BarSeries,
    FloatArray,
    IntArray,
    LogLine,
    OrderRequest,
    OrderView,
    Signal,
    Strategy,
    StrategyProblem,
    datetime_of,
    nanos_of,
    size_for_budget,
    strategy_path,
    tick_fraction,
    to_ticks,
)
from strategies.sdk import (
    Context as StrategyContext,
)

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_EXACT = Context(prec=100)  # cash sums: exact for any realistic account
_DAY_NS = 86_400 * 1_000_000_000
_CHUNK = 1 << 15  # steps between progress / cancellation checks
_S = OrderStatus
_MATCHABLE = frozenset({_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.PENDING_CANCEL, _S.PENDING_REPLACE})
_OPEN = frozenset({_S.NEW, _S.HELD, *_MATCHABLE})
_ACCEPTED_FILLED = (_S.ACCEPTED, _S.FILLED)


class BacktestError(StrategyProblem):
    """A run that cannot go on, with a stable code: ``no_data``, ``invalid_data``, ``strategy_error``,
    ``cancelled``. The message is meant for the run's page."""


class StrategyError(BacktestError):
    """The strategy raised. ``bar_time`` is the bar it was working on; the original is ``__cause__``."""

    def __init__(self, message: str, bar_time: datetime | None) -> None:
        super().__init__("strategy_error", message)
        self.bar_time = bar_time


class BacktestCancelled(BacktestError):
    def __init__(self, message: str = "The run was cancelled.") -> None:
        super().__init__("cancelled", message)


def end_of_utc_day(open_time: datetime) -> datetime:
    """Default session close for DAY orders: midnight UTC after ``open_time``."""
    midnight = open_time.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """How to run. ``start``: the first bar ``on_bar`` sees (earlier bars are warm-up history only);
    ``end``: bars after it are dropped. ``code_version`` is recorded in the result as given."""

    initial_cash: Decimal = Decimal(100_000)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    start: datetime | None = None
    end: datetime | None = None
    session_close: Callable[[datetime], datetime] = end_of_utc_day
    code_version: str = "unknown"
    currency: str = "USD"
    max_log_lines: int = 10_000
    fast_market_fills: bool = True  # the proven shortcut for simple market orders; off = on_submit always
    periods_per_year: float | None = None  # metrics; None: from the timeframe and asset class

    def __post_init__(self) -> None:
        if not (self.initial_cash.is_finite() and self.initial_cash > 0):
            raise BacktestError("invalid_config", "Initial cash must be positive.", "initial_cash")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise BacktestError("invalid_config", "The period starts after it ends.", "start")


# --- results -----------------------------------------------------------------------------------------


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


# --- the engine --------------------------------------------------------------------------------------


class _Order:
    """Mutable engine-side state of one order (the frozen WorkingOrder lives in ``working``)."""

    __slots__ = (
        "active_from_step",
        "average_fill_price",
        "close_position",
        "created_ns",
        "equity_percent",
        "filled_quantity",
        "group",
        "limit_price",
        "message",
        "order_id",
        "order_type",
        "parent_id",
        "plain_market",
        "quantity",
        "rank",
        "reason",
        "request",
        "role",
        "side",
        "slot",
        "status",
        "statuses",
        "stop_price",
        "submitted_ns",
        "tag",
        "time_in_force",
        "trail_amount",
        "trail_percent",
        "working",
    )

    def __init__(
        self, order_id: str, slot: int, request: OrderRequest, created_ns: int, role: str = ""
    ) -> None:
        self.order_id = order_id
        self.slot = slot
        self.request = request
        self.side = request.side
        self.order_type = request.order_type
        self.quantity = request.quantity
        self.equity_percent = request.equity_percent
        self.close_position = request.close_position
        self.limit_price = request.limit_price
        self.stop_price = request.stop_price
        self.trail_amount = request.trail_amount
        self.trail_percent = request.trail_percent
        self.time_in_force = request.time_in_force
        self.tag = request.tag
        self.role = role
        self.parent_id: str | None = None
        self.group: _Group | None = None
        self.working: WorkingOrder | None = None
        self.status = _S.NEW
        self.statuses: list[OrderStatus] = []
        self.reason = ""
        self.message = ""
        self.filled_quantity = _ZERO
        self.average_fill_price: Decimal | None = None
        self.created_ns = created_ns
        self.submitted_ns: int | None = None
        self.active_from_step = 0
        # matching order on a bar: placement order, and inside a group the stop-loss first
        self.rank = (int(order_id.partition(".")[0]), 0 if role == "stop_loss" else 1)
        # a market order outside any group, without prices: the candidate for the fill shortcut
        self.plain_market = (
            not role
            and request.order_type == OrderType.MARKET
            and request.limit_price is None
            and request.stop_price is None
            and request.trail_amount is None
            and request.trail_percent is None
        )

    def absorb(self, working: WorkingOrder) -> None:
        self.working = working
        self.status = working.status
        self.quantity = working.quantity
        self.filled_quantity = working.filled_quantity
        self.average_fill_price = working.average_fill_price

    def working_order(self, symbol: str, quantity: Decimal, expires_at: datetime | None) -> WorkingOrder:
        return WorkingOrder(
            order_id=self.order_id,
            symbol=symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=quantity,
            time_in_force=self.time_in_force,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trail_amount=self.trail_amount,
            trail_percent=self.trail_percent,
            expires_at=expires_at,
        )


class _Group:
    __slots__ = ("members", "state")

    def __init__(self, state: ContingentGroup, members: dict[str, _Order]) -> None:
        self.state = state
        self.members = members


class _OpenTrade:
    __slots__ = (
        "commission",
        "direction",
        "entry_bar",
        "entry_ns",
        "entry_quantity",
        "entry_value",
        "exit_quantity",
        "exit_value",
        "largest",
        "pnl",
    )

    def __init__(self, direction: int, entry_ns: int, entry_bar: int) -> None:
        self.direction = direction
        self.entry_ns = entry_ns
        self.entry_bar = entry_bar
        self.entry_quantity = _ZERO
        self.entry_value = _ZERO
        self.exit_quantity = _ZERO
        self.exit_value = _ZERO
        self.largest = _ZERO
        self.pnl = _ZERO
        self.commission = _ZERO


class _Symbol:
    """Per-symbol facts and Decimal conversions used at order time."""

    __slots__ = (
        "asset_class",
        "instrument",
        "lot",
        "min_quantity",
        "open_ticks",
        "scale",
        "series",
        "symbol",
        "tick",
        "timeframe",
    )

    def __init__(self, series: BarSeries) -> None:
        self.series = series
        self.instrument = series.instrument
        self.symbol = series.symbol
        self.tick = series.instrument.tick_size
        self.lot = series.instrument.lot_size
        self.min_quantity = series.instrument.min_quantity
        self.asset_class = str(series.instrument.asset_class)
        self.timeframe = series.timeframe
        self.open_ticks = to_ticks(series.open, self.tick)
        fraction = tick_fraction(self.tick)
        self.scale = fraction.denominator / fraction.numerator  # prices * scale = ticks

    def open(self, row: int) -> Decimal:
        return Decimal(int(self.open_ticks[row])) * self.tick

    def close(self, row: int) -> Decimal:
        return Decimal(round(float(self.series.close[row]) * self.scale)) * self.tick

    def bar(self, row: int) -> Bar:
        """The bar at ``row`` in Decimals (exact: prices are whole ticks), for ``orders.matching``."""
        series = self.series
        scale = self.scale
        tick = self.tick
        return Bar(
            symbol=self.symbol,
            timeframe=self.timeframe,
            open_time=datetime_of(int(series.open_time[row])),
            open=Decimal(int(self.open_ticks[row])) * tick,
            high=Decimal(round(float(series.high[row]) * scale)) * tick,
            low=Decimal(round(float(series.low[row]) * scale)) * tick,
            close=Decimal(round(float(series.close[row]) * scale)) * tick,
            volume=Decimal(repr(float(series.volume[row]))),
        )


class BacktestEngine:
    """One run of one strategy over one or more symbols. Use :func:`run_backtest`."""

    def __init__(
        self,
        strategy: Strategy,
        data: Sequence[BarSeries],
        config: BacktestConfig,
        *,
        progress: Callable[[float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.strategy = strategy
        self.config = config
        self.progress = progress
        self.should_stop = should_stop
        self.data = _prepare(data, config)
        self.symbols = [_Symbol(series) for series in self.data]
        self.ctx = StrategyContext(self.data, self)
        self.execution = config.execution
        self.limits = config.risk_limits
        self.fast_fills = config.fast_market_fills and not config.execution.partial_fills
        count = len(self.data)
        self._pending: list[list[_Order]] = [[] for _ in range(count)]
        self._working: list[list[_Order]] = [[] for _ in range(count)]
        self._orders: list[_Order] = []
        self._placed = 0  # ids count the strategy's orders: "1", "2"...; legs are "<entry id>.<role>"
        self._open: dict[str, _Order] = {}
        self._by_id: dict[str, _Order] = {}
        self._positions = [PositionState() for _ in range(count)]
        self._cash = config.initial_cash
        self._fills: list[Fill] = []
        self._fill_log: list[tuple[int, int, Decimal, Decimal]] = []  # step, slot, quantity after, cash after
        self._fill_events: list[Fill] = []
        self._open_trades: list[_OpenTrade | None] = [None] * count
        self._trades: list[Trade] = []
        self._signals: list[Signal] = []
        self._logs: list[LogLine] = []
        self._step = 0
        self._step_ns = 0
        self._step_time: datetime | None = None
        self._step_rows = [-1] * count
        self._day_equity: dict[int, Decimal] = {}
        self._datetimes: dict[int, datetime] = {}
        self._timeline: IntArray = np.zeros(0, dtype=np.int64)

    # --- the Broker protocol (what the strategy's Context calls) -----------------------------------

    def submit(self, request: OrderRequest) -> str:
        slot = self.ctx.slot_of(request.symbol)
        self._placed += 1
        order_id = str(self._placed)
        role = "entry" if request.take_profit is not None or request.stop_loss is not None else ""
        if request.oco_stop_price is not None:
            role = "oco"
        order = _Order(order_id, slot, request, self._decision_ns(), role)
        self._orders.append(order)
        self._open[order_id] = order
        self._by_id[order_id] = order
        self._pending[slot].append(order)
        return order_id

    def cancel(self, order_id: str) -> bool:
        order = self._by_id.get(order_id)
        if order is None or order.status not in _OPEN:
            return False
        if order.status == _S.NEW:  # not at the market yet: accepted and canceled in one go
            order.statuses.extend((_S.ACCEPTED, _S.CANCELED))
            order.status = _S.CANCELED
            order.reason = Reason.USER_CANCELED.value
            self._open.pop(order_id, None)
            return True
        assert order.working is not None
        self._apply(order, cancel_order(order.working, Reason.USER_CANCELED), self._step)
        return True

    def open_orders(self, symbol: str | None) -> list[OrderView]:
        return [
            self._view(order)
            for order in self._open.values()
            if symbol is None or self.symbols[order.slot].symbol == symbol
        ]

    def get_order(self, order_id: str) -> OrderView | None:
        order = self._by_id.get(order_id)
        return None if order is None else self._view(order)

    def position(self, symbol: str) -> PositionState:
        return self._positions[self.ctx.slot_of(symbol)]

    def cash(self) -> Decimal:
        return self._cash

    def equity(self) -> Decimal:
        total = self._cash
        for slot, position in enumerate(self._positions):
            if position.quantity:
                seen = self.ctx.cursor[slot]
                # a position opened on the symbol's very first bar, before on_bar saw it: its open
                mark = self.symbols[slot].close(seen) if seen >= 0 else self._mark(slot)
                if mark is not None:
                    total = _EXACT.add(total, position.quantity * mark)
        return total

    def record_signal(self, signal: Signal) -> None:
        self._signals.append(signal)

    def record_log(self, line: LogLine) -> None:
        if len(self._logs) < self.config.max_log_lines:
            self._logs.append(line)

    def _view(self, order: _Order) -> OrderView:
        return OrderView(
            order_id=order.order_id,
            symbol=self.symbols[order.slot].symbol,
            side=order.side,
            order_type=order.order_type,
            status=order.status,
            quantity=order.quantity,
            filled_quantity=order.filled_quantity,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            role=order.role,
            tag=order.tag,
        )

    def _decision_ns(self) -> int:
        cursor = self.ctx.cursor
        if len(cursor) == 1 and cursor[0] >= 0:
            return int(self.data[0].open_time[cursor[0]])
        latest = [
            int(series.open_time[row]) for series, row in zip(self.data, cursor, strict=True) if row >= 0
        ]
        if latest:
            return max(latest)
        return int(self._timeline[0]) if len(self._timeline) else 0

    # --- running -----------------------------------------------------------------------------------

    def run(self) -> BacktestResult:
        started = time.perf_counter()
        timeline, first_step, updates = self._schedule()
        self._timeline = timeline
        strategy = self.strategy
        self._call(lambda: strategy.on_start(self.ctx))
        # Collections during the run need not walk the interpreter's long-lived heap (modules, the
        # data, the orders and fills kept so far): freezing it saves about a fifth of a long run. New
        # garbage is still collected. The heap stays frozen while the result records are built.
        gc.freeze()
        try:
            try:
                if len(self.data) == 1:
                    self._loop_single(first_step, len(timeline))
                else:
                    self._loop_multi(first_step, len(timeline), updates)
            except BacktestError:
                raise
            except Exception as error:
                raise self._strategy_error(error) from error
            self._call(lambda: strategy.on_stop(self.ctx))
            return self._result(first_step, time.perf_counter() - started)
        finally:
            gc.unfreeze()

    def _call(self, hook: Callable[[], None]) -> None:
        try:
            hook()
        except BacktestError:
            raise
        except Exception as error:
            raise self._strategy_error(error) from error

    def _strategy_error(self, error: Exception) -> StrategyError:
        try:
            at: datetime | None = self.ctx.time
        except StrategyProblem:
            at = None
        where = f" on the bar of {at.isoformat()}" if at is not None else " before the first bar"
        name = type(self.strategy).__name__
        return StrategyError(f"{name} raised {type(error).__name__}: {error}{where}.", at)

    def _schedule(self) -> tuple[IntArray, int, list[list[tuple[int, int]]]]:
        """The timeline (union of bar times), the first step on_bar sees, and per step the
        ``(slot, row)`` of each symbol with a bar then (multi-symbol runs only)."""
        start_ns = None if self.config.start is None else nanos_of(self.config.start)
        if len(self.data) == 1:
            timeline = self.data[0].open_time
            first = 0 if start_ns is None else int(np.searchsorted(timeline, start_ns, "left"))
            self.ctx.cursor[0] = first - 1
            return timeline, first, []
        timeline = np.unique(np.concatenate([series.open_time for series in self.data]))
        first = 0 if start_ns is None else int(np.searchsorted(timeline, start_ns, "left"))
        updates: list[list[tuple[int, int]]] = [[] for _ in range(len(timeline))]
        for slot, series in enumerate(self.data):
            steps = np.searchsorted(timeline, series.open_time)
            for row, step in enumerate(steps.tolist()):
                updates[step].append((slot, row))
            before = int(
                np.searchsorted(series.open_time, timeline[first] if first < len(timeline) else 0, "left")
            )
            self.ctx.cursor[slot] = before - 1
        return timeline, first, updates

    def _check_stop(self, step: int, total: int, first: int) -> None:
        gc.freeze()  # what the run has kept so far (orders, fills) is long-lived: stop re-scanning it
        if self.should_stop is not None and self.should_stop():
            raise BacktestCancelled()
        if self.progress is not None and total > first:
            self.progress((step - first) / (total - first))

    def _loop_single(self, first: int, total: int) -> None:
        ctx = self.ctx
        cursor = ctx.cursor
        on_bar = self.strategy.on_bar
        pending = self._pending
        working = self._working
        process = self._process_single
        for chunk in range(first, total, _CHUNK):
            self._check_stop(chunk, total, first)
            for step in range(chunk, min(total, chunk + _CHUNK)):
                if pending[0] or working[0]:
                    process(step)
                cursor[0] = step
                on_bar(ctx)

    def _now(self) -> datetime:
        """The current step's time as a datetime (converted once per step, on demand)."""
        moment = self._step_time
        if moment is None:
            moment = self._step_time = self._datetime(self._step_ns)
        return moment

    def _datetime(self, nanos: int) -> datetime:
        moment = self._datetimes.get(nanos)
        if moment is None:
            moment = self._datetimes[nanos] = datetime_of(nanos)
        return moment

    def _process_single(self, step: int) -> None:
        self._step = step
        self._step_rows[0] = step
        self._step_ns = int(self.data[0].open_time[step])
        self._step_time = None
        self._process_symbol(0, step, step)
        self._dispatch_fills()

    def _loop_multi(self, first: int, total: int, updates: list[list[tuple[int, int]]]) -> None:
        ctx = self.ctx
        cursor = ctx.cursor
        on_bar = self.strategy.on_bar
        pending = self._pending
        working = self._working
        timeline = self._timeline
        count = len(self.data)
        for chunk in range(first, total, _CHUNK):
            self._check_stop(chunk, total, first)
            for step in range(chunk, min(total, chunk + _CHUNK)):
                arrivals = updates[step]
                busy = [(slot, row) for slot, row in arrivals if pending[slot] or working[slot]]
                if busy:
                    self._step = step
                    self._step_ns = int(timeline[step])
                    self._step_time = None
                    rows = [-1] * count
                    for slot, row in arrivals:
                        rows[slot] = row
                    self._step_rows = rows
                    for slot, row in busy:
                        self._process_symbol(slot, row, step)
                    self._dispatch_fills()
                for slot, row in arrivals:
                    cursor[slot] = row
                on_bar(ctx)

    def _dispatch_fills(self) -> None:
        while self._fill_events:
            events, self._fill_events = self._fill_events, []
            for fill in events:
                self.strategy.on_fill(self.ctx, fill)

    # --- one symbol's orders on one bar ----------------------------------------------------------------

    def _process_symbol(self, slot: int, row: int, step: int) -> None:
        symbol = self.symbols[slot]
        working = self._working[slot]
        bar: Bar | None = None
        if working:
            for order in list(working):
                if order.status not in _MATCHABLE or order.active_from_step > step:
                    continue
                if not self._may_change(order, symbol, row):
                    continue
                if bar is None:
                    bar = symbol.bar(row)
                assert order.working is not None
                result = on_market_event(
                    order.working, bar, config=self.execution, tick_size=symbol.tick, lot_size=symbol.lot
                )
                if result.changed:
                    self._apply(order, result, step)
            working[:] = [order for order in working if order.status in _MATCHABLE]
        pending = self._pending[slot]
        if pending:
            self._pending[slot] = []
            for order in pending:
                if order.status == _S.NEW:
                    bar = self._submit(order, symbol, row, step, bar)

    def _may_change(self, order: _Order, symbol: _Symbol, row: int) -> bool:
        working = order.working
        assert working is not None
        series = symbol.series
        return may_change_on_bar(
            working,
            low_ticks=round(float(series.low[row]) * symbol.scale),
            high_ticks=round(float(series.high[row]) * symbol.scale),
            tick_size=symbol.tick,
            partial_fills=self.execution.partial_fills,
        )

    def _submit(self, order: _Order, symbol: _Symbol, row: int, step: int, bar: Bar | None) -> Bar | None:
        """Size, validate, risk-check and submit ``order`` with this bar; returns the bar if built."""
        order.submitted_ns = self._step_ns
        quantity = self._quantity_at_market(order, symbol, row)
        if quantity is None:
            return bar
        expires_at = self._expiry(order)
        if self._fast_eligible(order, symbol, quantity, expires_at):
            if self._passes_risk(order, symbol, quantity, row):
                self._fast_market_fill(order, symbol, quantity, row, step)
            return bar
        working = order.working_order(symbol.symbol, quantity, expires_at)
        problems = validate_order(
            working, tick_size=symbol.tick, lot_size=symbol.lot, min_quantity=symbol.min_quantity
        )
        if problems:
            self._reject(order, problems[0].code, problems[0].message)
            return bar
        group_state: ContingentGroup | None = None
        legs: list[_Order] = []
        if order.role:
            group_state, legs = self._build_group(order, order.request, symbol, working)
            if group_state is None:
                return bar
        if not self._passes_risk(order, symbol, quantity, row):
            return bar
        if group_state is not None:
            self._open_group(order, legs, group_state)
        if bar is None:
            bar = symbol.bar(row)
        result = on_submit(working, bar, config=self.execution, tick_size=symbol.tick, lot_size=symbol.lot)
        self._apply(order, result, step)
        if order.status in _MATCHABLE:
            order.active_from_step = step + 1
            self._working[order.slot].append(order)
        return bar

    def _expiry(self, order: _Order) -> datetime | None:
        if order.time_in_force != TimeInForce.DAY:
            return None
        return self.config.session_close(self._now())

    def _fast_eligible(
        self, order: _Order, symbol: _Symbol, quantity: Decimal, expires_at: datetime | None
    ) -> bool:
        """A simple market order that ``validate_order`` accepts and that cannot expire on this bar,
        without partial fills: ``on_submit`` would accept it and fill it whole at the open."""
        return (
            order.plain_market
            and self.fast_fills
            and quantity > 0
            and quantity % symbol.lot == 0
            and quantity >= symbol.min_quantity
            and (expires_at is None or expires_at > self._now())
        )

    def _passes_risk(self, order: _Order, symbol: _Symbol, quantity: Decimal, row: int) -> bool:
        rejection = check_order(
            self._intent(order, symbol, quantity, row), self._snapshot(), self.limits, kill_switch=False
        )
        if rejection is None:
            return True
        self._reject(order, rejection.code, rejection.message)
        return False

    def _quantity_at_market(self, order: _Order, symbol: _Symbol, row: int) -> Decimal | None:
        if order.close_position:
            held = self._positions[order.slot].quantity
            if held == 0 or (held > 0) == (order.side == Side.BUY):
                self._reject(
                    order,
                    "no_position",
                    "Nothing to close: the position was flat when the order reached the market.",
                )
                return None
            return abs(held)
        if order.equity_percent is None:
            assert order.quantity is not None
            return order.quantity
        price = self._expected_price(order, symbol, row)
        budget = self._equity_now() * order.equity_percent / _HUNDRED
        quantity = size_for_budget(budget, price, lot_size=symbol.lot, commission=self.execution.commission)
        if quantity <= 0 or quantity < symbol.min_quantity:
            self._reject(
                order,
                "below_min_quantity",
                f"{order.equity_percent}% of equity ({budget:.2f}) buys less than the minimum quantity of "
                f"{symbol.min_quantity.normalize()} at {price}.",
            )
            return None
        return quantity

    def _expected_price(self, order: _Order, symbol: _Symbol, row: int) -> Decimal:
        """Where the order is expected to fill: the limit for limit-type orders, the stop for a stop
        when beyond the open, else the open with slippage (what a market order pays)."""
        open_price = symbol.open(row)
        kind = order.order_type
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.limit_price is not None:
            return order.limit_price
        if kind == OrderType.STOP and order.stop_price is not None:
            buy = order.side == Side.BUY
            open_price = max(open_price, order.stop_price) if buy else min(open_price, order.stop_price)
        return self.execution.slippage.adjust(order.side, open_price, symbol.tick)

    def _fast_market_fill(
        self, order: _Order, symbol: _Symbol, quantity: Decimal, row: int, step: int
    ) -> None:
        """Book what ``on_submit`` would give a simple market order (see :func:`market_fill_at_open`)."""
        fill = market_fill_at_open(
            order.order_id,
            symbol.symbol,
            side=order.side,
            quantity=quantity,
            open_price=symbol.open(row),
            ts=self._now(),
            config=self.execution,
            tick_size=symbol.tick,
        )
        order.quantity = quantity
        order.statuses.extend(_ACCEPTED_FILLED)
        order.status = _S.FILLED
        order.filled_quantity = quantity
        order.average_fill_price = fill.price.quantize(AVERAGE_PRICE_STEP, rounding=ROUND_HALF_EVEN)
        self._open.pop(order.order_id, None)
        self._book_fill(order, fill, step)

    def _reject(self, order: _Order, code: str, message: str) -> None:
        order.status = _S.REJECTED
        order.statuses.append(_S.REJECTED)
        order.reason = code
        order.message = message
        self._open.pop(order.order_id, None)

    # --- contingent groups ----------------------------------------------------------------------------

    def _build_group(
        self, order: _Order, request: OrderRequest, symbol: _Symbol, entry: WorkingOrder
    ) -> tuple[ContingentGroup | None, list[_Order]]:
        exit_side = Side.SELL if order.side == Side.BUY else Side.BUY
        legs: list[_Order] = []

        def leg(role: str, leg_request: OrderRequest) -> _Order:
            member = _Order(f"{order.order_id}.{role}", order.slot, leg_request, order.created_ns, role)
            member.parent_id = order.order_id
            return member

        if request.oco_stop_price is not None:  # the order is the limit side; the stop is its sibling
            stop = leg(
                "stop_loss",
                OrderRequest(
                    symbol=symbol.symbol,
                    side=order.side,
                    order_type=OrderType.STOP,
                    quantity=entry.quantity,
                    stop_price=request.oco_stop_price,
                    time_in_force=order.time_in_force,
                    tag=order.tag,
                ),
            )
            legs.append(stop)
        else:
            if request.stop_loss is not None:  # stop-loss first: matched before the take-profit
                loss_type = OrderType.STOP if request.stop_loss_limit is None else OrderType.STOP_LIMIT
                legs.append(
                    leg(
                        "stop_loss",
                        OrderRequest(
                            symbol=symbol.symbol,
                            side=exit_side,
                            order_type=loss_type,
                            quantity=entry.quantity,
                            stop_price=request.stop_loss,
                            limit_price=request.stop_loss_limit,
                            time_in_force=TimeInForce.DAY
                            if order.time_in_force == TimeInForce.DAY
                            else TimeInForce.GTC,
                            tag=order.tag,
                        ),
                    )
                )
            if request.take_profit is not None:
                legs.append(
                    leg(
                        "take_profit",
                        OrderRequest(
                            symbol=symbol.symbol,
                            side=exit_side,
                            order_type=OrderType.LIMIT,
                            quantity=entry.quantity,
                            limit_price=request.take_profit,
                            time_in_force=TimeInForce.DAY
                            if order.time_in_force == TimeInForce.DAY
                            else TimeInForce.GTC,
                            tag=order.tag,
                        ),
                    )
                )
        workings: dict[str, WorkingOrder] = {}
        for member in legs:
            assert member.quantity is not None
            working = member.working_order(symbol.symbol, member.quantity, entry.expires_at)
            problems = validate_order(
                working, tick_size=symbol.tick, lot_size=symbol.lot, min_quantity=symbol.min_quantity
            )
            if problems:
                problem = problems[0]
                self._reject(order, problem.code, f"{member.role.replace('_', '-')}: {problem.message}")
                return None, []
            workings[member.role] = working
        if request.oco_stop_price is not None:
            state = oco(entry, workings["stop_loss"])
        elif len(legs) == 2:
            state = bracket(entry, workings["take_profit"], workings["stop_loss"])
        else:
            state = oto(entry, next(iter(workings.values())))
        problems = group_problems(state)
        if problems:
            self._reject(order, problems[0].code, problems[0].message)
            return None, []
        for member in legs:
            member.working = workings[member.role]
        return state, legs

    def _open_group(self, order: _Order, legs: list[_Order], state: ContingentGroup) -> None:
        members = {order.order_id: order, **{member.order_id: member for member in legs}}
        group = _Group(state, members)
        order.group = group
        oco_pair = state.order_class == OrderClass.OCO
        for member in legs:
            member.group = group
            assert member.working is not None
            self._orders.append(member)
            self._by_id[member.order_id] = member
            self._open[member.order_id] = member
            member.submitted_ns = self._step_ns
            if oco_pair:  # both sides of an OCO work from the start
                result = on_submit(
                    member.working,
                    None,
                    config=self.execution,
                    tick_size=self.symbols[order.slot].tick,
                    lot_size=self.symbols[order.slot].lot,
                )
                member.statuses.extend(result.statuses)
                member.absorb(result.order)
                group.state = group.state.with_order(result.order)
                member.active_from_step = self._step + 1
                self._working[order.slot].append(member)
            else:  # bracket / OTO legs wait for the entry's fill
                member.statuses.append(_S.HELD)
                held = _replace_status(member.working, _S.HELD)
                member.absorb(held)
                group.state = group.state.with_order(held)

    def _apply(self, order: _Order, result: MatchResult, step: int) -> None:
        """Take a matching result for ``order``: state, events, fills, then the group's rules."""
        order.absorb(result.order)
        order.statuses.extend(result.statuses)
        if result.reason is not None:
            order.reason = result.reason.value
        if order.status in TERMINAL_STATUSES:
            self._open.pop(order.order_id, None)
        for fill in result.fills:
            self._book_fill(order, fill, step)
        group = order.group
        if group is None:
            return
        group.state = group.state.with_order(result.order)
        if result.fills:
            actions = after_fill(group.state, order.order_id)
        elif order.status in (_S.CANCELED, _S.EXPIRED, _S.REJECTED):
            actions = after_cancel(group.state, order.order_id)
        else:
            return
        for action in actions:
            member = group.members[action.order_id]
            outcome = apply_action(group.state.order(action.order_id), action)
            group.state = group.state.with_order(outcome.order)
            member.absorb(outcome.order)
            member.statuses.extend(outcome.statuses)
            if outcome.reason is not None:
                member.reason = outcome.reason.value
            if member.status in TERMINAL_STATUSES:
                self._open.pop(member.order_id, None)
            if isinstance(action, ActivateLeg):
                member.active_from_step = step + 1  # legs work from the next bar
                working = self._working[member.slot]
                working.append(member)
                working.sort(key=_rank)

    # --- risk inputs ------------------------------------------------------------------------------------

    def _mark(self, slot: int) -> Decimal | None:
        """The price positions are valued at right now: this step's open, else the latest close."""
        symbol = self.symbols[slot]
        row = self._step_rows[slot]
        if row >= 0:
            return symbol.open(row)
        seen = self.ctx.cursor[slot]
        return symbol.close(seen) if seen >= 0 else None

    def _equity_now(self) -> Decimal:
        total = self._cash
        for slot, position in enumerate(self._positions):
            if position.quantity:
                mark = self._mark(slot)
                if mark is not None:
                    total = _EXACT.add(total, position.quantity * mark)
        return total

    def _intent(self, order: _Order, symbol: _Symbol, quantity: Decimal, row: int) -> OrderIntent:
        instrument = symbol.instrument
        return OrderIntent(
            symbol.symbol,
            symbol.asset_class,
            order.side,
            quantity,
            self._reference_price(order, symbol.open(row)),
            instrument.shortable,
            instrument.tradable,
        )

    @staticmethod
    def _reference_price(order: _Order, book: Decimal) -> Decimal:
        """As the paper broker's: the limit for limit-type orders, else the price the order would take
        now (the open), or its stop when that is worse for the account."""
        kind = order.order_type
        if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.limit_price is not None:
            return order.limit_price
        if kind == OrderType.STOP and order.stop_price is not None:
            return max(book, order.stop_price) if order.side == Side.BUY else min(book, order.stop_price)
        return book

    def _snapshot(self) -> AccountSnapshot:
        positions: dict[str, PositionExposure] = {}
        equity = self._cash
        short_hold = _ZERO
        for slot, position in enumerate(self._positions):
            quantity = position.quantity
            if not quantity:
                continue
            symbol = self.symbols[slot]
            mark = self._mark(slot) or _ZERO
            value = quantity * mark
            equity = _EXACT.add(equity, value)
            if value < 0:
                short_hold -= value
            positions[symbol.symbol] = PositionExposure(quantity, value, symbol.asset_class)
        reserved = short_hold
        open_count = 0
        for order in self._open.values():
            if order.status == _S.NEW:
                continue  # not at the market yet (queued behind this one)
            open_count += 1
            if order.side != Side.BUY or order.status == _S.HELD or order.parent_id is not None:
                continue
            book = self._mark(order.slot)
            if book is None or order.quantity is None:
                continue
            reserved += (order.quantity - order.filled_quantity) * self._reference_price(order, book)
        start_of_day = equity if self.limits.daily_loss_limit is None else self._start_of_day_equity()
        return AccountSnapshot(
            cash=self._cash,
            equity=equity,
            start_of_day_equity=start_of_day,
            reserved_buying_power=reserved,
            open_orders_count=open_count,
            positions=positions,
            currency=self.config.currency,
        )

    def _start_of_day_equity(self) -> Decimal:
        """Equity at the close of the last step before today's (UTC) first step."""
        day = self._step_ns // _DAY_NS
        known = self._day_equity.get(day)
        if known is not None:
            return known
        first_today = int(np.searchsorted(self._timeline, day * _DAY_NS, "left"))
        last_before = first_today - 1
        cash = self.config.initial_cash
        quantities = [_ZERO] * len(self.data)
        for step, slot, quantity, cash_after in self._fill_log:
            if step > last_before:
                break
            quantities[slot] = quantity
            cash = cash_after
        equity = cash
        if last_before >= 0:
            moment = int(self._timeline[last_before])
            for slot, quantity in enumerate(quantities):
                if quantity:
                    row = int(np.searchsorted(self.data[slot].open_time, moment, "right")) - 1
                    equity = _EXACT.add(equity, quantity * self.symbols[slot].close(row))
        self._day_equity[day] = equity
        return equity

    # --- ledger and trades ----------------------------------------------------------------------------

    def _book_fill(self, order: _Order, fill: Fill, step: int) -> None:
        slot = order.slot
        effect = apply_fill(
            self._positions[slot],
            side=fill.side,
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        )
        self._positions[slot] = effect.position
        self._cash = _EXACT.add(self._cash, effect.cash_delta)
        self._fills.append(fill)
        self._fill_log.append((step, slot, effect.position.quantity, self._cash))
        self._fill_events.append(fill)
        self._book_trade(
            slot,
            fill,
            opened=effect.opened_quantity,
            closed=effect.closed_quantity,
            realized=effect.realized_pnl,
            step=step,
        )

    def _book_trade(
        self, slot: int, fill: Fill, *, opened: Decimal, closed: Decimal, realized: Decimal, step: int
    ) -> None:
        direction = 1 if fill.side == Side.BUY else -1
        opening_commission = _ZERO
        if opened > 0 and closed > 0:  # a flip: split the commission pro rata, exactly
            opening_commission = (fill.commission * opened / fill.quantity).quantize(
                Decimal("0.0001"), ROUND_HALF_EVEN
            )
        trade = self._open_trades[slot]
        if closed > 0:
            assert trade is not None
            trade.exit_quantity += closed
            trade.exit_value += closed * fill.price
            trade.pnl = _EXACT.add(trade.pnl, realized + opening_commission)
            trade.commission += fill.commission - opening_commission
            if self._positions[slot].quantity == 0 or opened > 0:
                self._trades.append(self._trade_record(slot, trade, fill, step, is_open=False))
                self._open_trades[slot] = trade = None
        if opened > 0:
            if trade is None:
                trade = _OpenTrade(direction, self._step_ns, step)
                self._open_trades[slot] = trade
            trade.entry_quantity += opened
            trade.entry_value += opened * fill.price
            paid = fill.commission if closed == 0 else opening_commission
            trade.pnl = _EXACT.add(trade.pnl, -paid)
            trade.commission += paid
            trade.largest = max(trade.largest, abs(self._positions[slot].quantity))

    def _trade_record(
        self, slot: int, trade: _OpenTrade, fill: Fill | None, step: int, *, is_open: bool
    ) -> Trade:
        symbol = self.symbols[slot]
        entry_price = (trade.entry_value / trade.entry_quantity).quantize(AVERAGE_PRICE_STEP, ROUND_HALF_EVEN)
        if is_open:
            last_row = self.ctx.cursor[slot]
            exit_price = symbol.close(last_row)
            remaining = trade.entry_quantity - trade.exit_quantity
            pnl = _EXACT.add(
                trade.pnl, trade.direction * remaining * (exit_price - self._positions[slot].average_cost)
            )
            exit_time = datetime_of(int(symbol.series.open_time[last_row]))
        else:
            assert fill is not None
            exit_price = (trade.exit_value / trade.exit_quantity).quantize(
                AVERAGE_PRICE_STEP, ROUND_HALF_EVEN
            )
            pnl = trade.pnl
            exit_time = fill.ts
        return Trade(
            symbol.symbol,
            "long" if trade.direction > 0 else "short",
            trade.largest,
            self._datetime(trade.entry_ns),
            exit_time,
            entry_price,
            exit_price,
            pnl,
            trade.commission,
            float(pnl / trade.entry_value) if trade.entry_value else 0.0,
            trade.entry_bar,
            step,
            is_open,
        )

    # --- results ------------------------------------------------------------------------------------------

    def _result(self, first_step: int, elapsed: float) -> BacktestResult:
        curve = self._equity_curve(first_step)
        last_step = len(self._timeline) - 1
        open_trades = tuple(
            self._trade_record(slot, trade, None, last_step, is_open=True)
            for slot, trade in enumerate(self._open_trades)
            if trade is not None and self.ctx.cursor[slot] >= 0
        )
        final_equity = self.equity()
        first_series = self.data[0]
        benchmark = first_series.close[
            np.searchsorted(first_series.open_time, curve.time[0], "left") if len(curve.time) else 0 :
        ]
        asset_class = self.symbols[0].asset_class
        metrics = compute_metrics(
            equity=curve.equity,
            times=curve.time,
            trade_pnls=[float(trade.pnl) for trade in self._trades],
            trade_returns=[trade.return_pct for trade in self._trades],
            in_market=curve.in_market,
            benchmark=benchmark,
            timeframe=first_series.timeframe,
            asset_class=asset_class,
            periods_per_year=self.config.periods_per_year,
        )
        return BacktestResult(
            strategy=strategy_path(type(self.strategy)),
            parameters=self.strategy.parameters,
            symbols=tuple(symbol.symbol for symbol in self.symbols),
            timeframe=first_series.timeframe,
            data_ranges=tuple(
                DataRange(
                    series.symbol,
                    datetime_of(int(series.open_time[0])),
                    datetime_of(int(series.open_time[-1])),
                    len(series),
                )
                for series in self.data
            ),
            data_hash=data_hash(self.data),
            code_version=self.config.code_version,
            config=describe_config(self.config),
            initial_cash=self.config.initial_cash,
            final_cash=self._cash,
            final_equity=final_equity,
            positions={
                symbol.symbol: position
                for symbol, position in zip(self.symbols, self._positions, strict=True)
                if position.quantity
            },
            orders=tuple(self._record(order) for order in self._orders),
            fills=tuple(self._fills),
            trades=tuple(self._trades),
            open_trades=open_trades,
            equity=curve,
            metrics=metrics,
            signals=tuple(self._signals),
            logs=tuple(self._logs),
            bars=len(self._timeline) - first_step,
            elapsed_seconds=elapsed,
        )

    def _record(self, order: _Order) -> OrderRecord:
        symbol = self.symbols[order.slot].symbol
        group = order.group
        order_class = OrderClass.SIMPLE if group is None else group.state.order_class
        return OrderRecord(
            order.order_id,
            symbol,
            order.side,
            order.order_type,
            order_class,
            order.role,
            order.parent_id,
            order.quantity,
            order.limit_price,
            order.stop_price,
            order.trail_amount,
            order.trail_percent,
            order.time_in_force,
            order.status,
            order.filled_quantity,
            order.average_fill_price,
            tuple(order.statuses),
            order.reason,
            order.message,
            self._datetime(order.created_ns),
            None if order.submitted_ns is None else self._datetime(order.submitted_ns),
            order.tag,
        )

    def _equity_curve(self, first_step: int) -> EquityCurve:
        """Cash and positions after each step's fills, forward-filled, valued at each step's closes
        (in place where possible: a million-step run allocates a handful of arrays)."""
        timeline = self._timeline
        steps = len(timeline) - first_step
        if steps <= 0:
            empty = np.zeros(0)
            return EquityCurve(
                np.zeros(0, dtype=np.int64), empty, empty, empty, empty, np.zeros(0, dtype=bool)
            )
        log = self._fill_log
        fill_steps = np.fromiter((entry[0] for entry in log), dtype=np.int64, count=len(log)) - first_step
        fill_slots = np.fromiter((entry[1] for entry in log), dtype=np.int64, count=len(log))
        cash_after = np.fromiter((float(entry[3]) for entry in log), dtype=np.float64, count=len(log))
        cash = _forward_filled(fill_steps, cash_after, steps, float(self.config.initial_cash))
        equity = cash.copy()
        gross = np.zeros(steps)
        in_market = np.zeros(steps, dtype=bool)
        times = timeline[first_step:]
        single = len(self.data) == 1
        for slot, series in enumerate(self.data):
            mine = fill_slots == slot
            if not mine.any():
                continue
            quantities = np.array([float(entry[2]) for entry in log if entry[1] == slot])
            value = _forward_filled(fill_steps[mine], quantities, steps, 0.0)
            in_market |= value != 0
            if single:
                closes = series.close[first_step:]
            else:
                rows = np.searchsorted(series.open_time, times, "right") - 1
                closes = np.where(rows >= 0, series.close[np.maximum(rows, 0)], 0.0)
            value *= closes
            equity += value
            np.abs(value, out=value)
            gross += value
        peaks = np.maximum.accumulate(equity)
        no_peak = peaks <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            drawdown = np.divide(equity, peaks, out=peaks, where=~no_peak)
            drawdown[no_peak] = 1.0
            drawdown -= 1.0
            exposure = np.divide(gross, equity, out=gross, where=equity > 0)
            exposure[equity <= 0] = 0.0
        return EquityCurve(times, equity, cash, drawdown, exposure, in_market)


def market_fill_at_open(
    order_id: str,
    symbol: str,
    *,
    side: Side,
    quantity: Decimal,
    open_price: Decimal,
    ts: datetime,
    config: ExecutionConfig,
    tick_size: Decimal,
) -> Fill:
    """The fill ``on_submit`` gives a NEW market order of ``quantity`` on a bar opening at
    ``open_price`` when partial fills are off and the order cannot expire on that bar: the whole
    quantity at the open adjusted by the slippage model, the commission model's charge for a first
    fill, stamped with the bar's open time, sequence 1 (the order ends ``accepted, filled`` with that
    average price, quantised to 10 places). The engine's shortcut for the common case; the equality
    with ``on_submit`` is a tested property (``test_engine_fast_path.py``)."""
    price = config.slippage.adjust(side, open_price, tick_size)
    commission = config.commission.commission(quantity, price, _ZERO)
    return Fill(order_id, symbol, side, quantity, price, commission, ts, 1)


def may_change_on_bar(
    working: WorkingOrder, *, low_ticks: int, high_ticks: int, tick_size: Decimal, partial_fills: bool
) -> bool:
    """False only when ``on_market_event`` would certainly return ``working`` unchanged for a bar with
    that low and high (in ticks): an order without expiry, without partial fills, resting as a limit
    the range does not reach or as an untriggered stop it does not touch. Everything else: True.
    Exact comparisons in integers of ticks; the property is tested against ``on_market_event``."""
    if working.expires_at is not None or partial_fills:
        return True
    level = _resting_level(working)
    if level is None:
        return True
    price, from_below = level
    ticks = price / tick_size
    return low_ticks <= ticks if from_below else high_ticks >= ticks


def _rank(order: _Order) -> tuple[int, int]:
    return order.rank


def _resting_level(working: WorkingOrder) -> tuple[Decimal, bool] | None:
    """The price a resting limit or untriggered stop waits for, and True when the bar's LOW must reach
    down to it (a buy limit, a sell stop), False when its HIGH must reach up to it; None when the
    order may act on any bar (market, trailing stop, a triggered stop)."""
    kind = working.order_type
    buy = working.side == Side.BUY
    if kind == OrderType.LIMIT or (kind == OrderType.STOP_LIMIT and working.triggered):
        price, from_below = working.limit_price, buy
    elif kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not working.triggered:
        price, from_below = working.stop_price, not buy
    else:
        return None
    return None if price is None else (price, from_below)


def _replace_status(order: WorkingOrder, status: OrderStatus) -> WorkingOrder:
    import dataclasses

    return dataclasses.replace(order, status=status)


def _forward_filled(steps: IntArray, values: FloatArray, length: int, initial: float) -> FloatArray:
    """A per-step array holding, at each step, the value of the last entry at or before it (entries
    in step order), ``initial`` before the first."""
    marks = np.zeros(length, dtype=np.int64)  # 1 + index of the step's last entry, 0 for none
    if len(steps):
        last_of_step = np.ones(len(steps), dtype=bool)
        last_of_step[:-1] = steps[1:] != steps[:-1]
        marks[steps[last_of_step]] = np.flatnonzero(last_of_step) + 1
        np.maximum.accumulate(marks, out=marks)
    table = np.concatenate([[initial], values])
    return cast(FloatArray, np.take(table, marks))


def _prepare(data: Sequence[BarSeries] | BarSeries, config: BacktestConfig) -> list[BarSeries]:
    """Check the series, cut them to ``config.end``, refuse empty periods with a clear message."""
    series_list = [data] if isinstance(data, BarSeries) else list(data)
    if not series_list:
        raise BacktestError("no_data", "Choose at least one symbol.", "symbols")
    timeframes = {series.timeframe for series in series_list}
    if len(timeframes) > 1:
        raise BacktestError("invalid_data", "All symbols of a run use one timeframe.", "timeframe")
    prepared: list[BarSeries] = []
    end_ns = None if config.end is None else nanos_of(config.end)
    for series in series_list:
        if len(series) == 0:
            raise BacktestError(
                "no_data", f"{series.symbol} has no {series.timeframe.value} bars in this period.", "symbols"
            )
        cut = series
        if end_ns is not None:
            stop = int(np.searchsorted(series.open_time, end_ns, "right"))
            cut = series.slice(0, stop)
        start_ns = None if config.start is None else nanos_of(config.start)
        if len(cut) == 0 or (start_ns is not None and int(cut.open_time[-1]) < start_ns):
            raise BacktestError(
                "no_data",
                f"{series.symbol} has no {series.timeframe.value} bars between "
                f"{config.start.isoformat() if config.start else 'the start'} and "
                f"{config.end.isoformat() if config.end else 'the end'}.",
                "start",
            )
        problems = cut.problems()
        if problems:
            raise BacktestError("invalid_data", problems[0][:1].upper() + problems[0][1:] + ".", "symbols")
        prepared.append(cut)
    return prepared


def data_hash(data: Sequence[BarSeries]) -> str:
    """SHA-256 of the bars a run used: symbols, tick/lot sizes, timeframe and every column."""
    digest = hashlib.sha256()
    for series in data:
        instrument = series.instrument
        digest.update(
            f"{series.symbol}|{instrument.tick_size}|{instrument.lot_size}|{series.timeframe.value}|{len(series)}".encode()
        )
        for column in (series.open_time, series.open, series.high, series.low, series.close, series.volume):
            digest.update(np.ascontiguousarray(column).data)
    return digest.hexdigest()


def describe_config(config: BacktestConfig) -> dict[str, str]:
    """The configuration as strings, for the run's record."""
    return {
        "initial_cash": str(config.initial_cash),
        "slippage": repr(config.execution.slippage),
        "commission": repr(config.execution.commission),
        "partial_fills": str(config.execution.partial_fills),
        "volume_participation": str(config.execution.volume_participation),
        "risk_limits": repr(config.risk_limits),
        "start": "" if config.start is None else config.start.isoformat(),
        "end": "" if config.end is None else config.end.isoformat(),
        "session_close": getattr(config.session_close, "__qualname__", repr(config.session_close)),
        "currency": config.currency,
    }


def run_backtest(
    strategy: Strategy,
    data: Sequence[BarSeries] | BarSeries,
    config: BacktestConfig | None = None,
    *,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BacktestResult:
    """Run ``strategy`` (a fresh instance: it may keep state) over ``data`` and return the results.

    ``progress(fraction)`` and ``should_stop()`` are polled every 32 768 bars (a Celery task reports
    progress and honours a cancel there). Raises :class:`BacktestError` for bad data or periods,
    :class:`StrategyError` when the strategy raises, :class:`BacktestCancelled` when stopped."""
    engine = BacktestEngine(
        strategy,
        data if not isinstance(data, BarSeries) else [data],
        config or BacktestConfig(),
        progress=progress,
        should_stop=should_stop,
    )
    return engine.run()
