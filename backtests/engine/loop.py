"""The bar loop of a backtest (pure, no Django): the strategy's Broker, each step's matching, sizing,
risk checks and fills, in the order the package docstring (``backtests.engine``) states."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from backtests.engine.account import SimulatedAccount, order_reference_price
from backtests.engine.config import (
    BacktestCancelled,
    BacktestConfig,
    BacktestError,
    StrategyError,
    prepare_data,
    schedule,
)
from backtests.engine.fast_path import market_fill_at_open, may_change_on_bar
from backtests.engine.groups import build_group
from backtests.engine.records import BacktestResult
from backtests.engine.results import TradeBook, build_result
from backtests.engine.state import (
    OrderGroup,
    Refusal,
    SimulatedOrder,
    SymbolData,
    move,
    rank,
    with_status,
)
from marketdata.domain import Bar
from orders.contingent import ActivateLeg, ContingentGroup, after_cancel, after_fill, apply_action
from orders.matching import (
    AVERAGE_PRICE_STEP,
    Fill,
    MatchResult,
    cancel_order,
    expected_fill_price,
    on_market_event,
    on_submit,
    validate_order,
)
from orders.risk import AccountSnapshot, OrderIntent, check_order
from orders.states import TERMINAL_STATUSES, OrderClass, OrderStatus, Reason, Side, TimeInForce
from portfolio.ledger import PositionState
from strategies.sdk import (
    BarSeries,
    Context as StrategyContext,
    IntArray,
    LogLine,
    OrderRequest,
    OrderView,
    Signal,
    Strategy,
    StrategyProblem,
    datetime_of,
    size_equity_percent,
)

_CHUNK = 1 << 15  # steps between progress / cancellation checks
_S = OrderStatus
_MATCHABLE = frozenset({_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.PENDING_CANCEL, _S.PENDING_REPLACE})
_OPEN = frozenset({_S.NEW, _S.HELD, *_MATCHABLE})


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
        self.data = prepare_data(data, config)
        self.symbols = [SymbolData(series) for series in self.data]
        self.ctx = StrategyContext(self.data, self)
        self.execution = config.execution
        self.limits = config.risk_limits
        self.fast_fills = config.fast_market_fills and not config.execution.partial_fills
        count = len(self.data)
        self._pending: list[list[SimulatedOrder]] = [[] for _ in range(count)]
        self._working: list[list[SimulatedOrder]] = [[] for _ in range(count)]
        self._orders: list[SimulatedOrder] = []
        self._placed = 0  # ids count the strategy's orders: "1", "2"...; legs are "<entry id>.<role>"
        self._open: dict[str, SimulatedOrder] = {}
        self._by_id: dict[str, SimulatedOrder] = {}
        self.account = SimulatedAccount(self.data, self.symbols, config.initial_cash, self.ctx.cursor)
        self._fill_events: list[Fill] = []
        self._trades = TradeBook(self.symbols, self._datetime)
        self._signals: list[Signal] = []
        self._logs: list[LogLine] = []
        self._step = 0
        self._step_ns = 0
        self._step_time: datetime | None = None
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
        order = SimulatedOrder(order_id, slot, request, self._decision_ns(), role)
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
            move(order, _S.ACCEPTED, _S.CANCELED)
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
        return self.account.positions[self.ctx.slot_of(symbol)]

    def cash(self) -> Decimal:
        return self.account.cash

    def equity(self) -> Decimal:
        return self.account.equity_seen()

    def record_signal(self, signal: Signal) -> None:
        self._signals.append(signal)

    def record_log(self, line: LogLine) -> None:
        if len(self._logs) < self.config.max_log_lines:
            self._logs.append(line)

    def _view(self, order: SimulatedOrder) -> OrderView:
        return order.view(self.symbols[order.slot].symbol)

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
        timeline, first_step, updates, cursors = schedule(self.data, self.config.start)
        self._timeline = self.account.timeline = timeline
        self.ctx.cursor[:] = cursors
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
        self.account.step_rows[0] = step
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
                    self.account.step_rows = rows
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

    def _may_change(self, order: SimulatedOrder, symbol: SymbolData, row: int) -> bool:
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

    def _submit(
        self, order: SimulatedOrder, symbol: SymbolData, row: int, step: int, bar: Bar | None
    ) -> Bar | None:
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
        legs: list[SimulatedOrder] = []
        if order.role:
            built = build_group(order, symbol, working)
            if isinstance(built, Refusal):
                self._reject(order, built.code, built.message)
                return bar
            group_state, legs = built
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

    def _expiry(self, order: SimulatedOrder) -> datetime | None:
        if order.time_in_force != TimeInForce.DAY:
            return None
        return self.config.session_close(self._now())

    def _fast_eligible(
        self, order: SimulatedOrder, symbol: SymbolData, quantity: Decimal, expires_at: datetime | None
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

    def _passes_risk(self, order: SimulatedOrder, symbol: SymbolData, quantity: Decimal, row: int) -> bool:
        rejection = check_order(
            self._intent(order, symbol, quantity, row), self._snapshot(), self.limits, kill_switch=False
        )
        if rejection is None:
            return True
        self._reject(order, rejection.code, rejection.message)
        return False

    def _quantity_at_market(self, order: SimulatedOrder, symbol: SymbolData, row: int) -> Decimal | None:
        if order.close_position:
            held = self.account.positions[order.slot].quantity
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
        price = expected_fill_price(
            order.side,
            order.order_type,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            book=symbol.open(row),
            slippage=self.execution.slippage,
            tick_size=symbol.tick,
        )
        try:
            return size_equity_percent(
                order.equity_percent,
                equity=self.account.equity_now(),
                price=price,
                lot_size=symbol.lot,
                min_quantity=symbol.min_quantity,
                commission=self.execution.commission,
            )
        except StrategyProblem as problem:
            self._reject(order, problem.code, problem.message)
            return None

    def _fast_market_fill(
        self, order: SimulatedOrder, symbol: SymbolData, quantity: Decimal, row: int, step: int
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
        move(order, _S.ACCEPTED, _S.FILLED)
        order.filled_quantity = quantity
        order.average_fill_price = fill.price.quantize(AVERAGE_PRICE_STEP, rounding=ROUND_HALF_EVEN)
        self._open.pop(order.order_id, None)
        self._book_fill(order, fill, step)

    def _reject(self, order: SimulatedOrder, code: str, message: str) -> None:
        move(order, _S.REJECTED)
        order.reason = code
        order.message = message
        self._open.pop(order.order_id, None)

    # --- contingent groups ----------------------------------------------------------------------------

    def _open_group(self, order: SimulatedOrder, legs: list[SimulatedOrder], state: ContingentGroup) -> None:
        members = {order.order_id: order, **{member.order_id: member for member in legs}}
        group = OrderGroup(state, members)
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
                move(member, _S.HELD)
                held = with_status(member.working, _S.HELD)
                member.absorb(held)
                group.state = group.state.with_order(held)

    def _apply(self, order: SimulatedOrder, result: MatchResult, step: int) -> None:
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
                working.sort(key=rank)

    # --- risk inputs ------------------------------------------------------------------------------------

    def _intent(self, order: SimulatedOrder, symbol: SymbolData, quantity: Decimal, row: int) -> OrderIntent:
        instrument = symbol.instrument
        return OrderIntent(
            symbol.symbol,
            symbol.asset_class,
            order.side,
            quantity,
            order_reference_price(order, symbol.open(row)),
            instrument.shortable,
            instrument.tradable,
        )

    def _snapshot(self) -> AccountSnapshot:
        return self.account.snapshot(
            self._open.values(),
            step_ns=self._step_ns,
            daily_loss_limit=self.limits.daily_loss_limit is not None,
            currency=self.config.currency,
        )

    # --- ledger and trades ----------------------------------------------------------------------------

    def _book_fill(self, order: SimulatedOrder, fill: Fill, step: int) -> None:
        effect = self.account.book(order.slot, fill, step)
        self._fill_events.append(fill)
        self._trades.book(order.slot, fill, effect, step=step, step_ns=self._step_ns)

    # --- results ------------------------------------------------------------------------------------------

    def _result(self, first_step: int, elapsed: float) -> BacktestResult:
        return build_result(
            strategy=self.strategy,
            config=self.config,
            data=self.data,
            symbols=self.symbols,
            timeline=self._timeline,
            first_step=first_step,
            fill_log=self.account.fill_log,
            orders=self._orders,
            fills=self.account.fills,
            trades=self._trades,
            positions=self.account.positions,
            cursor=self.ctx.cursor,
            final_cash=self.account.cash,
            final_equity=self.equity(),
            signals=self._signals,
            logs=self._logs,
            elapsed=elapsed,
        )


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
