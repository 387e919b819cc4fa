"""Read paths of strategies: definitions, a user's configurations, deployments and signals (every lookup
scoped to its owner: a foreign id is simply not found), a deployment's fills, positions and performance.

A deployment's positions and P&L are its own: its orders' fills replayed through ``portfolio.ledger``
(the ledger the backtester uses), whatever else the account trades.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from accounts.models import TradingAccount
from marketdata.domain import Timeframe
from marketdata.models import Instrument
from marketdata.quotes import latest_quotes
from marketdata.selectors import bars_frame, instruments_by_symbols
from marketdata.symbols import symbol_candidates
from orders.models import OPEN_STATUS_VALUES, Fill, Order
from orders.states import Side
from portfolio import ledger
from portfolio.analytics import ClosesSeries, FillRecord, reliable, replay_equity, round_trips_of
from portfolio.ledger import PositionState
from portfolio.metrics import Metrics, compute_metrics
from portfolio.selectors import mark_price
from strategies import sdk
from strategies.models import (
    DeploymentEvent,
    DeploymentStatus,
    Signal,
    StrategyConfig,
    StrategyDefinition,
    StrategyDeployment,
)
from strategies.sdk import datetime_of
from tradeapp.core import clock
from tradeapp.core.errors import NotFound

ZERO = Decimal(0)
# the order the ledger replays a deployment's fills in: execution time, then the order placed first,
# then the order's own fill sequence
FILL_ORDER = ("executed_at", "order__created_at", "order__client_order_id", "order_id", "sequence")
MAX_CURVE_POINTS = 5_000
_NOT_FOUND = (ValidationError, ValueError, TypeError)

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class StrategyCard:
    """A definition as the library shows it: its description split into a summary (first paragraph)
    and the rest, whether it may trade several symbols at once, its parameters as form fields
    (``Param.describe()``), or why its class cannot be loaded on this server (``problem``)."""

    definition: StrategyDefinition
    summary: str
    details: str
    multi_symbol: bool
    parameters: list[dict[str, object]]
    problem: str = ""


def trades_several_symbols(klass: type[sdk.Strategy]) -> bool:
    """Whether a strategy may run on several symbols at once. Every one may (the Context spreads one
    account over 1-20 symbols; the built-ins split their allocation between them) unless its class
    declares ``multi_symbol = False``: written for ``ctx.symbol`` alone."""
    return klass.multi_symbol is not False


def strategy_card(definition: StrategyDefinition) -> StrategyCard:
    summary, _, details = _plain_text(definition.description).partition("\n\n")
    try:
        klass = sdk.load_strategy(definition.path)
    except sdk.StrategyProblem as problem:
        return StrategyCard(definition, summary, details.strip(), False, [], problem.message)
    except Exception:  # a registered module's own import may raise anything: one card, not the page
        logger.exception("registered strategy %s (%s) is unusable", definition.key, definition.path)
        return StrategyCard(definition, summary, details.strip(), False, [], "Its module fails to import.")
    return StrategyCard(
        definition=definition,
        summary=summary.strip() or klass.schema()["summary"],  # type: ignore[arg-type]
        details=details.strip(),
        multi_symbol=trades_several_symbols(klass),
        parameters=[spec.describe() for spec in klass.parameter_specs().values()],
    )


def _plain_text(docstring: str) -> str:
    """A docstring as plain text: indentation and reST literal markers dropped, the lines of each
    paragraph or list item joined (paragraphs stay apart, each ``- item`` on a line of its own)."""
    paragraphs = []
    for paragraph in inspect.cleandoc(docstring or "").replace("``", "").split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            text = line.strip()
            if not text:
                continue
            if lines and not text.startswith("- "):
                lines[-1] = f"{lines[-1]} {text}"
            else:
                lines.append(text)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def strategy_cards() -> list[StrategyCard]:
    """Every enabled definition, by name (the caller creates missing built-ins first)."""
    return [strategy_card(definition) for definition in definitions().order_by("name", "key")]


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


def configs_with_deployment_counts(user: object) -> QuerySet[StrategyConfig]:
    """The user's configurations, newest first, each with ``deployment_count`` (deployments made from it)."""
    return configs_of(user).annotate(deployment_count=Count("deployments"))


# --- deployments ------------------------------------------------------------------------------------------


def deployments_of(user: object, *, status: str | None = None) -> QuerySet[StrategyDeployment]:
    rows = StrategyDeployment.objects.filter(owner=user).select_related("definition", "account")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "pk")


def deployment_names(account: TradingAccount, deployment_ids: Sequence[str]) -> dict[str, str]:
    """{id: name} of the account owner's deployments among ``deployment_ids`` (``portfolio.hooks``)."""
    rows = deployments_of(account.owner).filter(pk__in=deployment_ids).values_list("pk", "name")
    return {str(pk): name for pk, name in rows}


def deployment_of(user: object, deployment_id: object) -> StrategyDeployment:
    """The user's deployment with this id, or NotFound (404), also for another user's."""
    try:
        return deployments_of(user).get(pk=deployment_id)
    except (StrategyDeployment.DoesNotExist, *_NOT_FOUND) as error:
        raise NotFound("No such deployment.", "deployment_id") from error


def display_status(deployment: Any) -> str:
    """The status as people read it: ``failed`` for a deployment paused by a failing tick (the error
    and the pause carry the same time; a later manual pause or a resume moves or clears them), else
    the stored status. static/js/strategies.js applies the same rule to the websocket payload."""
    status = str(deployment.status)
    failed_at = deployment.last_error_at
    if status == DeploymentStatus.PAUSED and failed_at is not None and deployment.paused_at == failed_at:
        return "failed"
    return status


def deployment_orders(deployment: StrategyDeployment, limit: int = 50) -> list[Order]:
    """The deployment's orders (tagged with its id), newest first."""
    rows = Order.objects.filter(deployment_id=deployment.pk, account_id=deployment.account_id)
    return list(rows.select_related("instrument").order_by("-created_at", "pk")[:limit])


@dataclass(frozen=True, slots=True)
class DeploymentSummary:
    """One line of the deployments list: the deployment, its status as people read it, its own P&L
    (realised from its fills, unrealised at the latest quotes) and how many signals it emitted."""

    deployment: StrategyDeployment
    status: str
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    total_pnl: Decimal
    signals: int


def deployment_summaries(user: object, *, limit: int = 200) -> list[DeploymentSummary]:
    """The user's deployments, newest first, with their P&L: one query for the deployments, one for
    all their fills, one read of the latest quotes (no per-deployment queries)."""
    rows = list(deployments_of(user).annotate(signal_count=Count("signals"))[:limit])
    fills: dict[Any, list[Fill]] = {row.pk: [] for row in rows}
    for fill in (
        Fill.objects.filter(order__deployment_id__in=list(fills))
        .select_related("instrument", "order")
        .order_by(*FILL_ORDER)
    ):
        fills[fill.order.deployment_id].append(fill)
    positions = {pk: _replay(own) for pk, own in fills.items()}
    quotes = latest_quotes(sorted({symbol for held in positions.values() for symbol in held}))
    summaries = []
    for row in rows:
        valued = _valued(positions[row.pk], quotes)
        realized = sum((one.realized_pnl for one in valued), ZERO)
        unrealized = sum((one.unrealized_pnl for one in valued), ZERO)
        summaries.append(
            DeploymentSummary(
                deployment=row,
                status=display_status(row),
                realized_pnl=realized,
                unrealized_pnl=unrealized,
                total_pnl=realized + unrealized,
                signals=row.signal_count,
            )
        )
    return summaries


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
        rows = rows.filter(symbol__in=symbol_candidates(symbol))
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
        .order_by(*FILL_ORDER)
    )


def deployment_positions(deployment_id: object) -> dict[str, PositionState]:
    """Symbol -> the deployment's own position (quantity, average cost, realised P&L, commission)."""
    return _replay(list(deployment_fills(deployment_id)))


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
    deployed plus its P&L at each bar close since; None before the first bar). ``equity_curve`` is
    that curve, ``(bar open time, equity)`` oldest first, its last ``MAX_CURVE_POINTS`` points."""

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
    equity_curve: list[tuple[datetime, float]] = field(default_factory=list)


def deployment_performance(
    deployment: StrategyDeployment, *, now: datetime | None = None
) -> DeploymentPerformance:
    fills = list(deployment_fills(deployment.pk))
    positions = _replay(fills)
    rows = _valued(positions, latest_quotes(sorted(positions)))
    counts = Order.objects.filter(deployment_id=deployment.pk).aggregate(
        orders=Count("pk"), open_orders=Count("pk", filter=Q(status__in=OPEN_STATUS_VALUES))
    )
    realized = sum((row.realized_pnl for row in rows), ZERO)
    unrealized = sum((row.unrealized_pnl for row in rows), ZERO)
    metrics, trades, curve = _metrics(deployment, fills, now or clock.now())
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
        equity_curve=curve,
    )


def _replay(fills: Sequence[Fill]) -> dict[str, PositionState]:
    """Symbol -> position after ``fills`` (in execution order) through the ledger."""
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
    return positions


def _valued(positions: dict[str, PositionState], quotes: dict[str, Any]) -> list[DeploymentPosition]:
    """The positions valued at the latest quotes (else at their average cost), by symbol."""
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
    return rows


def _metrics(
    deployment: StrategyDeployment, fills: Sequence[Fill], now: datetime
) -> tuple[Metrics | None, int, list[tuple[datetime, float]]]:
    """Metrics of the equity curve at each bar close since the deployment started, the number of
    round trips (flat to flat, a flip closes one) whose P&L they count, and the curve's last points.
    The replay itself is the portfolio's (``portfolio.analytics.replay_equity``)."""
    timeframe = Timeframe.parse(deployment.timeframe)
    instruments, _ = instruments_by_symbols(list(deployment.symbols))
    bars = [
        load_series(instruments[symbol], timeframe, deployment.started_at, now)
        for symbol in deployment.symbols
        if symbol in instruments
    ]
    bars = [one for one in bars if len(one)]
    records = [
        FillRecord(
            fill.instrument.symbol,
            str(fill.instrument.asset_class),
            fill.side,
            fill.quantity,
            fill.price,
            fill.commission,
            fill.realized_pnl,
            fill.executed_at,
            deployment_id=str(deployment.pk),
        )
        for fill in fills
    ]
    replayed = replay_equity(
        base=deployment.starting_equity,
        fills=records,
        series=[ClosesSeries(one.symbol, one.open_time, one.close) for one in bars],
    )
    if replayed is None:
        return None, len(round_trips_of(records)), []
    times, equity = replayed.times, replayed.equity
    metrics = compute_metrics(
        equity=equity,
        times=times,
        trade_pnls=replayed.trade_pnls,
        trade_returns=replayed.trade_returns,
        in_market=replayed.in_market,
        benchmark=bars[0].close,
        timeframe=timeframe,
        asset_class=str(bars[0].instrument.asset_class),
    )
    metrics = reliable(metrics, span=datetime_of(int(times[-1])) - datetime_of(int(times[0])))
    curve = [
        (datetime_of(int(moment)), float(value))
        for moment, value in zip(times[-MAX_CURVE_POINTS:], equity[-MAX_CURVE_POINTS:], strict=True)
    ]
    return metrics, len(replayed.trade_pnls), curve


def load_series(
    instrument: Instrument, timeframe: Timeframe, start: datetime, through: datetime
) -> sdk.BarSeries:
    """The stored bars of ``instrument`` with ``start <= open_time <= through`` as a BarSeries: the same
    float64 columns (each the nearest double to the stored decimal) a backtest over them reads."""
    frame = bars_frame(instrument, timeframe, start, through + timedelta(microseconds=1))
    return sdk.BarSeries.from_frame(frame.set_index("open_time"), instrument.spec(), timeframe)
