"""The paper runtime: one tick of a deployment drives its strategy exactly as the backtest engine does.

One tick handles the bar of open time T of one of the deployment's symbols (``strategies.services.
tick_deployment`` calls :func:`run_tick` with the deployment row locked, inside one transaction):

1. **Data.** The Context is rebuilt from stored bars: each symbol's bars from the deployment's
   ``history_start`` up to T (``marketdata.selectors.bars_frame``, the floats the backtester reads) as
   the same :class:`~strategies.sdk.BarSeries`. SMA is window-local and exact; the recursive
   indicators (EMA, RSI, MACD, ATR) depend on the first bar, which is anchored when the deployment
   starts, so a backtest over the same bars gives the same digits.
2. **Hooks, in the engine's order.** A fresh strategy instance gets ``on_start`` with every cursor on
   the symbol's last bar before T (where the engine's cursor stands before the first bar it runs),
   then ``on_fill`` for each of the deployment's fills not yet notified that happened before T's bar
   closed (the Context still on the previous bar), then the cursors move to T and ``on_bar`` runs.
3. **Orders after on_bar.** What the strategy asked for reaches the paper broker only once ``on_bar``
   has returned, as the engine submits the orders placed since a symbol's previous bar: cancels, then
   new orders in placement order. Each is sized at the market as the engine sizes it
   (``equity_percent``: :func:`~strategies.sdk.size_equity_percent` on equity with positions at the
   latest quote, at the price ``orders.matching.expected_fill_price`` expects; ``close``: the
   deployment's position at that moment), then validated and risk-checked by
   ``orders.services.place_order`` (source ``strategy``, ``deployment_id`` set). A market order fills
   at once against the latest quote: after T's bar has closed that is the market at T+1's open, the
   engine's next-bar-open fill. A refused order becomes a rejection with the risk or validation code
   (the engine's ``rejected`` order).
4. **Identity.** Each order's ``client_order_id`` is derived from (deployment, T, symbol, n-th order
   of that symbol in the tick): running the same tick again returns the existing orders instead of
   placing new ones.

During ``on_bar`` the strategy sees its deployment's own positions (replayed from its fills with
``portfolio.ledger``, the engine's ledger), the account's cash, and equity = cash + the account's
positions, the deployment's symbols marked at the latest close the strategy has seen (as in the
engine), others at their latest quote. Orders it placed in this tick are open (``new``) until on_bar
returns; orders it cancels read as canceled at once.

If the strategy raises (or its class, parameters or data are unusable), :class:`TickFailure` carries
the engine's message and nothing the tick asked for is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from redis.exceptions import RedisError

from accounts.models import TradingAccount
from marketdata.domain import Timeframe
from marketdata.models import Instrument
from marketdata.quotes import latest_quote
from orders import services as order_services
from orders.matching import Fill, expected_fill_price
from orders.models import OPEN_STATUS_VALUES, LegRole, Order, OrderSource
from orders.states import OrderClass, OrderStatus, OrderType, Side
from portfolio import ledger
from portfolio.ledger import PositionState
from portfolio.selectors import account_valuation, valued_positions
from strategies import sdk, selectors
from strategies.models import StrategyDeployment
from strategies.selectors import load_series
from tradeapp.core.errors import Conflict, DomainError

_EXACT_PRECISION = 100  # equity sums, as the engine's
_ROLES = {
    LegRole.ENTRY: "entry",
    LegRole.TAKE_PROFIT: "take_profit",
    LegRole.STOP_LOSS: "stop_loss",
}


class TickFailure(Exception):
    """The tick could not run: the strategy raised (``strategy_error``) or its class, parameters or
    data are unusable. ``pause``: the deployment should stop ticking until a person looks at it."""

    def __init__(self, code: str, message: str, *, bar_time: datetime | None = None, pause: bool = True):
        super().__init__(message)
        self.code = code
        self.message = message
        self.bar_time = bar_time
        self.pause = pause


@dataclass(frozen=True, slots=True)
class Rejection:
    """An order the market refused when it was sent (risk, validation, sizing), with its code."""

    symbol: str
    side: str
    code: str
    message: str
    field: str | None
    client_order_id: str


@dataclass
class TickReport:
    """What one tick did. ``bar_times``: per symbol, the open time of its latest bar the strategy saw
    (the idempotency marks); ``fill_cursor``: where the on_fill notifications stopped."""

    bar_time: datetime
    placed: list[Order] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    signals: list[sdk.Signal] = field(default_factory=list)
    logs: list[sdk.LogLine] = field(default_factory=list)
    notified_fills: int = 0
    fill_cursor: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    bar_times: dict[str, datetime] = field(default_factory=dict)


# --- data -------------------------------------------------------------------------------------------------


def client_order_id(deployment_id: Any, bar_time: datetime, slot: int, number: int) -> str:
    """``d<deployment hex>-<T epoch seconds>-<symbol slot>-<n>``: the n-th order for the symbol decided
    on the bar of T (at most 64 characters, the orders table's width)."""
    hex_id = deployment_id.hex if hasattr(deployment_id, "hex") else str(deployment_id).replace("-", "")
    return f"d{hex_id}-{int(bar_time.timestamp())}-{slot:02d}-{number:03d}"


# --- the broker a deployment's Context talks to ------------------------------------------------------------


class _Pending:
    __slots__ = ("canceled", "client_order_id", "local_id", "request")

    def __init__(self, local_id: str, request: sdk.OrderRequest, client_id: str) -> None:
        self.local_id = local_id
        self.request = request
        self.client_order_id = client_id
        self.canceled = False


class PaperBroker:
    """The :class:`strategies.sdk.Broker` of one tick (see the module docstring for what it reports).

    Reads happen while the strategy runs; writes wait for :meth:`flush`, which the caller runs after
    ``on_bar`` with the deployment row locked (it locks the account row next, as ``place_order``
    does)."""

    def __init__(
        self,
        *,
        deployment: StrategyDeployment,
        account: TradingAccount,
        instruments: dict[str, Instrument],
        bar_time: datetime,
        tags: dict[str, str],
    ) -> None:
        self.deployment = deployment
        self.account = account
        self.instruments = instruments
        self.bar_time = bar_time
        self.tags = dict(tags)
        self.ctx: sdk.Context | None = None
        self.signals: list[sdk.Signal] = []
        self.logs: list[sdk.LogLine] = []
        self._slots = {symbol: slot for slot, symbol in enumerate(deployment.symbols)}
        self._pending: list[_Pending] = []
        self._by_local: dict[str, _Pending] = {}
        self._to_cancel: list[str] = []
        self._counts: dict[str, int] = {}
        self._open_rows: dict[str, Order] | None = None
        self._valued: list[Any] | None = None
        self._positions = selectors.deployment_positions(deployment.pk)

    # reads -----------------------------------------------------------------------------------------

    def _open(self) -> dict[str, Order]:
        if self._open_rows is None:
            rows = (
                Order.objects.filter(deployment_id=self.deployment.pk, status__in=OPEN_STATUS_VALUES)
                .select_related("instrument")
                .order_by("created_at", "client_order_id", "pk")
            )
            self._open_rows = {str(row.pk): row for row in rows}
        return self._open_rows

    def _view(self, row: Order) -> sdk.OrderView:
        order_id = str(row.pk)
        role = _ROLES.get(row.leg_role, "")
        if row.leg_role == LegRole.OCO:
            role = "oco" if row.parent_id is None else "stop_loss"
        elif row.leg_role == LegRole.CHILD:
            role = "take_profit" if row.order_type == OrderType.LIMIT else "stop_loss"
        return sdk.OrderView(
            order_id=order_id,
            symbol=row.instrument.symbol,
            side=Side(row.side),
            order_type=OrderType(row.order_type),
            status=OrderStatus.CANCELED if order_id in self._to_cancel else OrderStatus(row.status),
            quantity=row.quantity,
            filled_quantity=row.filled_quantity,
            limit_price=row.limit_price,
            stop_price=row.stop_price,
            role=role,
            tag=self.tags.get(order_id, ""),
        )

    def _pending_view(self, pending: _Pending) -> sdk.OrderView:
        request = pending.request
        role = "oco" if request.oco_stop_price is not None else ""
        if request.take_profit is not None or request.stop_loss is not None:
            role = "entry"
        return sdk.OrderView(
            order_id=pending.local_id,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            status=OrderStatus.CANCELED if pending.canceled else OrderStatus.NEW,
            quantity=request.quantity,
            filled_quantity=Decimal(0),
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            role=role,
            tag=request.tag,
        )

    def open_orders(self, symbol: str | None) -> list[sdk.OrderView]:
        views = [
            self._view(row)
            for order_id, row in self._open().items()
            if order_id not in self._to_cancel and (symbol is None or row.instrument.symbol == symbol)
        ]
        views += [
            self._pending_view(pending)
            for pending in self._pending
            if not pending.canceled and (symbol is None or pending.request.symbol == symbol)
        ]
        return views

    def get_order(self, order_id: str) -> sdk.OrderView | None:
        pending = self._by_local.get(order_id)
        if pending is not None:
            return self._pending_view(pending)
        row = self._open().get(order_id)
        if row is None:
            try:
                row = (
                    Order.objects.select_related("instrument")
                    .filter(pk=order_id, deployment_id=self.deployment.pk)
                    .first()
                )
            except (ValidationError, ValueError):
                return None
        return None if row is None else self._view(row)

    def position(self, symbol: str) -> PositionState:
        return self._positions.get(symbol) or PositionState()

    def cash(self) -> Decimal:
        return self.account.cash

    def equity(self) -> Decimal:
        if self._valued is None:
            self._valued = valued_positions(self.account)
        total = self.account.cash
        ctx = self.ctx
        with localcontext(prec=_EXACT_PRECISION):
            for row in self._valued:
                symbol = row.instrument.symbol
                if ctx is not None and symbol in ctx.symbols and ctx.bar_count(symbol) > 0:
                    total += row.position.quantity * ctx.price(symbol)
                else:
                    total += row.market_value
        return total

    def record_signal(self, signal: sdk.Signal) -> None:
        self.signals.append(signal)

    def record_log(self, line: sdk.LogLine) -> None:
        self.logs.append(line)

    # requests (buffered until flush) ------------------------------------------------------------------

    def submit(self, request: sdk.OrderRequest) -> str:
        number = self._counts.get(request.symbol, 0) + 1
        self._counts[request.symbol] = number
        pending = _Pending(
            f"pending-{len(self._pending) + 1}",
            request,
            client_order_id(self.deployment.pk, self.bar_time, self._slots[request.symbol], number),
        )
        self._pending.append(pending)
        self._by_local[pending.local_id] = pending
        return pending.local_id

    def cancel(self, order_id: str) -> bool:
        pending = self._by_local.get(order_id)
        if pending is not None:
            if pending.canceled:
                return False
            pending.canceled = True
            return True
        if order_id in self._to_cancel or order_id not in self._open():
            return False
        self._to_cancel.append(order_id)
        return True

    # sending ---------------------------------------------------------------------------------------------

    def flush(self, report: TickReport) -> None:
        """Send what the strategy asked for: cancels first, then new orders in placement order."""
        wanted = [pending for pending in self._pending if not pending.canceled]
        if not wanted and not self._to_cancel:
            return
        account = TradingAccount.objects.select_for_update().get(pk=self.account.pk)
        for order_id in self._to_cancel:
            try:
                order_services.cancel_order(account=account, order_id=order_id)
            except Conflict:
                continue  # it ended meanwhile (filled, or canceled with its group): nothing to cancel
            report.canceled.append(order_id)
        for pending in wanted:
            request = pending.request
            try:
                placement = order_services.place_order(
                    account=account, request=self._order_request(pending, account)
                )
            except DomainError as error:
                report.rejections.append(
                    Rejection(
                        request.symbol,
                        request.side.value,
                        error.code,
                        error.message,
                        error.field,
                        pending.client_order_id,
                    )
                )
                continue
            order = placement.order
            report.placed.append(order)
            if request.tag:
                self.tags[str(order.pk)] = request.tag
            if placement.created:
                self._book(order, request.symbol)

    def _book(self, order: Order, symbol: str) -> None:
        """Apply the new order's fills (a market order fills on submission) to the deployment's position,
        so a later ``close`` in the same flush is sized right."""
        position = self.position(symbol)
        for fill in order.fills.order_by("sequence"):
            position = ledger.apply_fill(
                position,
                side=Side(fill.side),
                quantity=fill.quantity,
                price=fill.price,
                commission=fill.commission,
            ).position
        self._positions[symbol] = position

    def _order_request(self, pending: _Pending, account: TradingAccount) -> order_services.OrderRequest:
        request = pending.request
        instrument = self.instruments[request.symbol]
        quantity = request.quantity
        if request.close_position:
            held = self.position(request.symbol).quantity
            if held == 0 or (held > 0) == (request.side == Side.BUY):
                raise DomainError(
                    "no_position",
                    "Nothing to close: the position was flat when the order reached the market.",
                    "symbol",
                )
            quantity = abs(held)
        elif request.equity_percent is not None:
            quantity = self._size(request, instrument, account)
        take_profit = stop_loss = None
        order_class = OrderClass.SIMPLE
        if request.oco_stop_price is not None:
            order_class = OrderClass.OCO
            stop_loss = order_services.LegRequest(OrderType.STOP, stop_price=request.oco_stop_price)
        elif request.take_profit is not None or request.stop_loss is not None:
            both = request.take_profit is not None and request.stop_loss is not None
            order_class = OrderClass.BRACKET if both else OrderClass.OTO
            if request.take_profit is not None:
                take_profit = order_services.LegRequest(OrderType.LIMIT, limit_price=request.take_profit)
            if request.stop_loss is not None:
                stop_loss = order_services.LegRequest(
                    OrderType.STOP if request.stop_loss_limit is None else OrderType.STOP_LIMIT,
                    stop_price=request.stop_loss,
                    limit_price=request.stop_loss_limit,
                )
        return order_services.OrderRequest(
            symbol=instrument.symbol,
            side=request.side,
            order_type=request.order_type,
            quantity=quantity,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            trail_amount=request.trail_amount,
            trail_percent=request.trail_percent,
            time_in_force=request.time_in_force,
            order_class=order_class,
            take_profit=take_profit,
            stop_loss=stop_loss,
            client_order_id=pending.client_order_id,
            source=OrderSource.STRATEGY,
            deployment_id=self.deployment.pk,
        )

    def _size(self, request: sdk.OrderRequest, instrument: Instrument, account: TradingAccount) -> Decimal:
        """The engine's sizing of an ``equity_percent`` order (``sdk.size_equity_percent``) with the
        latest quote's side of the book for the next open: ``equity * percent / 100`` at the price the
        order is expected to fill (``orders.matching.expected_fill_price``), commission included."""
        quote = latest_quote(instrument.symbol)
        if quote is None:
            raise Conflict(
                "no_quote", f"No price for {instrument.symbol} yet: the order was not sent.", "symbol"
            )
        config = order_services.execution_config()
        price = expected_fill_price(
            request.side,
            request.order_type,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            book=quote.ask if request.side == Side.BUY else quote.bid,
            slippage=config.slippage,
            tick_size=instrument.tick_size,
        )
        assert request.equity_percent is not None
        try:
            return sdk.size_equity_percent(
                request.equity_percent,
                equity=account_valuation(account).equity,
                price=price,
                lot_size=instrument.lot_size,
                min_quantity=instrument.min_quantity,
                commission=config.commission,
            )
        except sdk.StrategyProblem as problem:
            raise DomainError(problem.code, problem.message, problem.field) from problem


# --- one tick ---------------------------------------------------------------------------------------------


def _hook(strategy: sdk.Strategy, ctx: sdk.Context, call: Callable[[], object]) -> None:
    """Run one of the strategy's hooks; anything it raises becomes a ``strategy_error`` naming the bar
    (the engine's message). The platform's own failures (database, Redis) are not the strategy's."""
    try:
        call()
    except (DatabaseError, RedisError):
        raise
    # the strategy is user code: whatever it raises stops this tick, never the worker
    except Exception as error:
        try:
            at: datetime | None = ctx.time
        except sdk.StrategyProblem:
            at = None
        where = f" on the bar of {at.isoformat()}" if at is not None else " before the first bar"
        name = type(strategy).__name__
        raise TickFailure(
            "strategy_error", f"{name} raised {type(error).__name__}: {error}{where}.", bar_time=at
        ) from error


def build_strategy(path: str, parameters: dict[str, Any]) -> sdk.Strategy:
    """An instance of the strategy at ``path`` with ``parameters`` (TickFailure when unusable)."""
    try:
        return sdk.load_strategy(path)(**parameters)
    except sdk.StrategyProblem as problem:
        raise TickFailure(problem.code, problem.message) from problem


def run_tick(
    *,
    deployment: StrategyDeployment,
    account: TradingAccount,
    instruments: Sequence[Instrument],
    bar_time: datetime,
    trigger: str,
) -> TickReport | None:
    """Run the deployment's strategy for the bar of ``bar_time`` (see the module docstring) and send its
    orders. ``trigger`` is the symbol whose bar closed. Returns None when that bar is not stored.
    Call inside a transaction with the deployment row locked."""
    timeframe = Timeframe.parse(deployment.timeframe)
    strategy = build_strategy(deployment.definition.path, deployment.parameters)
    data = [
        load_series(instrument, timeframe, deployment.history_start, bar_time) for instrument in instruments
    ]
    trigger_series = data[[series.symbol for series in data].index(trigger)]
    bar_ns = sdk.nanos_of(bar_time)
    if len(trigger_series) == 0 or int(trigger_series.open_time[-1]) != bar_ns:
        return None
    for series in data:
        problems = series.problems()
        if problems:
            empty = len(series) == 0
            raise TickFailure(
                "no_data" if empty else "invalid_data",
                problems[0][:1].upper() + problems[0][1:] + ".",
                bar_time=bar_time,
                pause=not empty,
            )
    state = deployment.state or {}
    report = TickReport(bar_time=bar_time)
    broker = PaperBroker(
        deployment=deployment,
        account=account,
        instruments={instrument.symbol: instrument for instrument in instruments},
        bar_time=bar_time,
        tags=state.get("tags", {}),
    )
    ctx = sdk.Context(data, broker)
    broker.ctx = ctx
    ctx.cursor[:] = [int(np.searchsorted(series.open_time, bar_ns, "left")) - 1 for series in data]
    fills, report.fill_cursor = selectors.fills_to_notify(
        deployment.pk, state.get("fill_cursor"), before=bar_time + timeframe.delta
    )
    _hook(strategy, ctx, lambda: strategy.on_start(ctx))
    for row in fills:
        fill = Fill(
            order_id=str(row.order_id),
            symbol=row.instrument.symbol,
            side=Side(row.side),
            quantity=row.quantity,
            price=row.price,
            commission=row.commission,
            ts=row.executed_at,
            sequence=row.sequence,
        )
        _hook(strategy, ctx, lambda fill=fill: strategy.on_fill(ctx, fill))
    report.notified_fills = len(fills)
    ctx.cursor[:] = [len(series) - 1 for series in data]
    _hook(strategy, ctx, lambda: strategy.on_bar(ctx))
    broker.flush(report)
    report.signals = broker.signals
    report.logs = broker.logs
    report.tags = broker.tags
    report.bar_times = {
        series.symbol: sdk.datetime_of(int(series.open_time[-1])) for series in data if len(series)
    }
    return report
