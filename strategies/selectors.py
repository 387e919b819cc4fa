"""Read paths of strategies: definitions, a user's configurations, deployments and signals (every lookup
scoped to its owner: a foreign id is simply not found), a deployment's fills, positions and performance.

A deployment's positions and P&L are its own: its orders' fills replayed through ``portfolio.ledger``
(the ledger the backtester uses), whatever else the account trades.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from marketdata.domain import Timeframe
from marketdata.quotes import latest_quotes
from orders.models import OPEN_STATUS_VALUES, Fill, Order
from orders.states import Side
from portfolio import ledger
from portfolio.ledger import PositionState
from portfolio.metrics import Metrics, compute_metrics
from portfolio.selectors import mark_price
from strategies.models import (
    DeploymentEvent,
    DeploymentStatus,
    Signal,
    StrategyConfig,
    StrategyDefinition,
    StrategyDeployment,
)
from tradeapp.core import clock
from tradeapp.core.errors import NotFound

ZERO = Decimal(0)
_NOT_FOUND = (ValidationError, ValueError, TypeError)


# --- definitions and configurations ---------------------------------------------------------------------


def definitions(*, enabled_only: bool = True) -> QuerySet[StrategyDefinition]:
    rows = StrategyDefinition.objects.all()
    return rows.filter(enabled=True) if enabled_only else rows


def definition_by_key(key: object) -> StrategyDefinition:
    """The enabled definition registered as ``key`` (NotFound on field ``strategy``)."""
    found = definitions().filter(key=str(key)).first() if isinstance(key, str) else None
    if found is None:
        raise NotFound(f"Unknown strategy {str(key)[:64]!r}.", "strategy")
    return found


def configs_of(user: object) -> QuerySet[StrategyConfig]:
    return (
        StrategyConfig.objects.filter(owner=user).select_related("definition").order_by("-created_at", "pk")
    )


def config_of(user: object, config_id: object) -> StrategyConfig:
    """The user's configuration with this id, or NotFound (404), also for another user's."""
    try:
        return configs_of(user).get(pk=config_id)
    except (StrategyConfig.DoesNotExist, *_NOT_FOUND) as error:
        raise NotFound("No such strategy configuration.", "config_id") from error


# --- deployments ------------------------------------------------------------------------------------------


def deployments_of(user: object, *, status: str | None = None) -> QuerySet[StrategyDeployment]:
    rows = StrategyDeployment.objects.filter(owner=user).select_related("definition", "account")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "pk")


def deployment_of(user: object, deployment_id: object) -> StrategyDeployment:
    """The user's deployment with this id, or NotFound (404), also for another user's."""
    try:
        return deployments_of(user).get(pk=deployment_id)
    except (StrategyDeployment.DoesNotExist, *_NOT_FOUND) as error:
        raise NotFound("No such deployment.", "deployment_id") from error


def running_deployment_ids(*, symbol: str, timeframe: str) -> list[Any]:
    """Ids of the running deployments that trade ``symbol`` on ``timeframe`` (the bar-closed fan-out)."""
    return list(
        StrategyDeployment.objects.filter(
            status=DeploymentStatus.RUNNING, timeframe=timeframe, symbols__contains=[symbol]
        )
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def recent_events(deployment: StrategyDeployment, limit: int = 20) -> list[DeploymentEvent]:
    return list(DeploymentEvent.objects.filter(deployment=deployment).order_by("-id")[:limit])


def signals_of(
    user: object,
    *,
    deployment_id: object = None,
    symbol: str | None = None,
    direction: str | None = None,
    since: datetime | None = None,
) -> QuerySet[Signal]:
    """The user's signals, newest bar first (filters optional)."""
    rows = Signal.objects.filter(deployment__owner=user).select_related("deployment")
    if deployment_id is not None:
        rows = rows.filter(deployment_id=deployment_id)
    if symbol:
        rows = rows.filter(symbol__iexact=symbol.replace("-", "/") if "/" not in symbol else symbol)
    if direction:
        rows = rows.filter(direction=direction)
    if since is not None:
        rows = rows.filter(bar_time__gte=since)
    return rows.order_by("-bar_time", "symbol", "pk")


# --- a deployment's fills and positions -----------------------------------------------------------------


def deployment_fills(deployment_id: object) -> QuerySet[Fill]:
    """Fills of the deployment's orders in execution order (ties: the order placed first, then the
    order's fill sequence), the order the ledger must replay them in."""
    return (
        Fill.objects.filter(order__deployment_id=deployment_id)
        .select_related("instrument")
        .order_by("executed_at", "order__created_at", "order__client_order_id", "order_id", "sequence")
    )


def deployment_positions(deployment_id: object) -> dict[str, PositionState]:
    """Symbol -> the deployment's own position (quantity, average cost, realised P&L, commission)."""
    positions: dict[str, PositionState] = {}
    for fill in deployment_fills(deployment_id):
        symbol = fill.instrument.symbol
        positions[symbol] = ledger.apply_fill(
            positions.get(symbol) or PositionState(),
            side=Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        ).position
    return positions


def fills_to_notify(
    deployment_id: object, cursor: dict[str, Any] | None, *, before: datetime
) -> tuple[list[Fill], dict[str, Any]]:
    """The deployment's fills after ``cursor`` (``{"after": ISO time, "ids": [fill ids at that time]}``)
    executed before ``before``, oldest first, and the cursor after them."""
    rows = deployment_fills(deployment_id).filter(executed_at__lt=before)
    if cursor and cursor.get("after"):
        after = datetime.fromisoformat(cursor["after"])
        rows = rows.filter(executed_at__gte=after).exclude(executed_at=after, pk__in=cursor.get("ids", []))
    fills = list(rows)
    if not fills:
        return fills, dict(cursor or {})
    last = fills[-1].executed_at
    same_time = [str(fill.pk) for fill in fills if fill.executed_at == last]
    if cursor and cursor.get("after") and datetime.fromisoformat(cursor["after"]) == last:
        same_time = [*cursor.get("ids", []), *same_time]
    return fills, {"after": last.isoformat(), "ids": same_time}


# --- performance ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeploymentPosition:
    symbol: str
    quantity: Decimal
    average_cost: Decimal
    price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    commission: Decimal


@dataclass(frozen=True, slots=True)
class DeploymentPerformance:
    """The deployment's own results: realised P&L (net of commissions) from its fills, unrealised at
    the latest quotes, counts, and the platform metrics of its equity curve (the account's equity when
    deployed plus its P&L at each bar close since; None before the first bar)."""

    realized_pnl: Decimal
    unrealized_pnl: Decimal
    total_pnl: Decimal
    commission: Decimal
    orders: int
    open_orders: int
    fills: int
    trades: int
    positions: list[DeploymentPosition]
    metrics: Metrics | None


def deployment_performance(
    deployment: StrategyDeployment, *, now: datetime | None = None
) -> DeploymentPerformance:
    fills = list(deployment_fills(deployment.pk))
    positions: dict[str, PositionState] = {}
    for fill in fills:
        symbol = fill.instrument.symbol
        positions[symbol] = ledger.apply_fill(
            positions.get(symbol) or PositionState(),
            side=Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        ).position
    quotes = latest_quotes(sorted(positions))
    rows = []
    for symbol, state in sorted(positions.items()):
        price = mark_price(quotes.get(symbol), state.average_cost)
        rows.append(
            DeploymentPosition(
                symbol=symbol,
                quantity=state.quantity,
                average_cost=state.average_cost,
                price=price,
                market_value=ledger.market_value(state, price),
                unrealized_pnl=ledger.unrealized_pnl(state, price),
                realized_pnl=state.realized_pnl,
                commission=state.total_commission,
            )
        )
    counts = Order.objects.filter(deployment_id=deployment.pk).aggregate(
        orders=Count("pk"), open_orders=Count("pk", filter=Q(status__in=OPEN_STATUS_VALUES))
    )
    realized = sum((row.realized_pnl for row in rows), ZERO)
    unrealized = sum((row.unrealized_pnl for row in rows), ZERO)
    metrics, trades = _metrics(deployment, fills, now or clock.now())
    return DeploymentPerformance(
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        total_pnl=realized + unrealized,
        commission=sum((row.commission for row in rows), ZERO),
        orders=counts["orders"],
        open_orders=counts["open_orders"],
        fills=len(fills),
        trades=trades,
        positions=[row for row in rows if row.quantity != 0 or row.realized_pnl != 0],
        metrics=metrics,
    )


def _metrics(
    deployment: StrategyDeployment, fills: Sequence[Fill], now: datetime
) -> tuple[Metrics | None, int]:
    """Metrics of the equity curve at each bar close since the deployment started, and the number of
    round trips (flat to flat, a flip closes one) whose P&L they count."""
    import numpy as np

    from marketdata.selectors import instruments_by_symbols
    from strategies.runtime import load_series

    timeframe = Timeframe.parse(deployment.timeframe)
    instruments, _ = instruments_by_symbols(list(deployment.symbols))
    series = [
        load_series(instruments[symbol], timeframe, deployment.started_at, now)
        for symbol in deployment.symbols
        if symbol in instruments
    ]
    series = [one for one in series if len(one)]
    trade_pnls, trade_returns = _round_trips(fills)
    if not series:
        return None, len(trade_pnls)
    times = np.unique(np.concatenate([one.open_time for one in series]))
    steps = len(times)
    base = float(deployment.starting_equity)
    # each fill counts from the bar it happened in: the last bar opening at or before it
    fill_steps = np.maximum(
        np.searchsorted(times, [_nanos(fill.executed_at) for fill in fills], "right") - 1, 0
    ).astype(np.int64)
    value = np.zeros(steps)
    in_market = np.zeros(steps, dtype=bool)
    cash_after = []
    running = Decimal(0)
    quantities: dict[str, list[tuple[int, float]]] = {}
    state: dict[str, PositionState] = {}
    for fill, step in zip(fills, fill_steps.tolist(), strict=True):
        symbol = fill.instrument.symbol
        effect = ledger.apply_fill(
            state.get(symbol) or PositionState(),
            side=Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        )
        state[symbol] = effect.position
        running += effect.cash_delta
        cash_after.append(float(running))
        quantities.setdefault(symbol, []).append((step, float(effect.position.quantity)))
    cash = _forward(fill_steps, np.asarray(cash_after), steps, 0.0)
    for one in series:
        marks = quantities.get(one.symbol)
        if not marks:
            continue
        held = _forward(
            np.asarray([step for step, _ in marks]), np.asarray([q for _, q in marks]), steps, 0.0
        )
        rows = np.searchsorted(one.open_time, times, "right") - 1
        closes = np.where(rows >= 0, one.close[np.maximum(rows, 0)], 0.0)
        value += held * closes
        in_market |= held != 0
    equity = base + cash + value
    return (
        compute_metrics(
            equity=equity,
            times=times,
            trade_pnls=trade_pnls,
            trade_returns=trade_returns,
            in_market=in_market,
            benchmark=series[0].close,
            timeframe=timeframe,
            asset_class=str(series[0].instrument.asset_class),
        ),
        len(trade_pnls),
    )


def _round_trips(fills: Sequence[Fill]) -> tuple[list[float], list[float]]:
    """Net P&L and return of each closed round trip, per symbol, from flat (or a flip) to flat."""
    pnls: list[float] = []
    returns: list[float] = []
    open_trades: dict[str, list[Decimal]] = {}  # symbol -> [pnl so far, entry notional]
    state: dict[str, PositionState] = {}
    for fill in fills:
        symbol = fill.instrument.symbol
        effect = ledger.apply_fill(
            state.get(symbol) or PositionState(),
            side=Side(fill.side),
            quantity=fill.quantity,
            price=fill.price,
            commission=fill.commission,
        )
        state[symbol] = effect.position
        trade = open_trades.setdefault(symbol, [ZERO, ZERO])
        trade[0] += effect.realized_pnl
        if effect.closed_quantity > 0 and (effect.position.quantity == 0 or effect.opened_quantity > 0):
            pnls.append(float(trade[0]))
            returns.append(float(trade[0] / trade[1]) if trade[1] else 0.0)
            open_trades[symbol] = trade = [ZERO, ZERO]
        if effect.opened_quantity > 0:
            trade[1] += effect.opened_quantity * fill.price
    return pnls, returns


def _forward(steps: Any, values: Any, length: int, initial: float) -> Any:
    """Per step, the value of the last entry at or before it (entries in step order)."""
    import numpy as np

    if len(steps) == 0:
        return np.full(length, initial)
    index = np.searchsorted(np.asarray(steps), np.arange(length), "right") - 1
    table = np.concatenate([[initial], np.asarray(values, dtype=np.float64)])
    return table[index + 1]


def _nanos(moment: datetime) -> int:
    from strategies.sdk import nanos_of

    return nanos_of(moment)
