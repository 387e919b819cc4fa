"""Strategy use cases, each one transaction: register definitions, create / update / delete
configurations, deploy on a paper account, pause, resume, stop, and the tick a closed bar triggers.

Locking policy: the deployment row first (``select_for_update``), then, inside ``orders.services``, the
account row, then order and position rows. Every path that touches a deployment's orders (a tick, a
stop) takes the deployment row before the account, so they cannot deadlock with each other or with
the order path. Websocket messages go out after the commit.

The deployment state machine is :data:`TRANSITIONS` applied by :func:`_transition`, which writes a
``DeploymentEvent`` in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import TradingAccount
from marketdata.domain import Timeframe, ensure_utc
from marketdata.selectors import instrument_by_symbol, instruments_by_symbols, warmup_start
from orders import services as order_services
from orders.models import OPEN_STATUS_VALUES, Order, OrderSource
from orders.states import OrderType, Side, TimeInForce
from portfolio.selectors import account_valuation
from strategies import runtime, sdk, selectors
from strategies.builtins import BUILTINS
from strategies.models import (
    DEFAULT_WARMUP_BARS,
    MAX_DEPLOYMENT_SYMBOLS,
    DeploymentEvent,
    DeploymentStatus,
    Signal,
    StrategyConfig,
    StrategyDefinition,
    StrategyDeployment,
)
from strategies.streams import announce_after_commit
from tradeapp.core import clock
from tradeapp.core.errors import Conflict, DomainError, NotFound

logger = logging.getLogger(__name__)

MAX_WARMUP_BARS = 10_000
LOG_LINES_KEPT = 200
MAX_NAME_LENGTH = 80


# --- definitions ------------------------------------------------------------------------------------------


def ensure_builtin_definitions() -> int:
    """Create the definitions of the built-in strategies that are missing (on demand: the admin's list,
    configuration and deployment paths call it). Existing rows are left as the admin set them.
    Returns how many were created."""
    present = set(StrategyDefinition.objects.filter(key__in=list(BUILTINS)).values_list("key", flat=True))
    missing = [
        StrategyDefinition(
            key=key,
            path=sdk.strategy_path(klass),
            name=klass.title or klass.__name__,
            description=(klass.__doc__ or "").strip(),
            builtin=True,
        )
        for key, klass in BUILTINS.items()
        if key not in present
    ]
    if missing:
        StrategyDefinition.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def strategy_class(path: str) -> type[sdk.Strategy]:
    """The Strategy subclass at ``path`` ("package.module:ClassName"); DomainError on field ``path``."""
    if not isinstance(path, str) or ":" not in path:
        raise DomainError("unknown_strategy", 'Give the import path as "package.module:ClassName".', "path")
    try:
        return sdk.load_strategy(path)
    except sdk.StrategyProblem as problem:
        raise DomainError(problem.code, problem.message, "path") from problem


def register_definition(
    *, key: str, path: str, name: str = "", description: str = "", enabled: bool = True
) -> StrategyDefinition:
    """Register (or update) the strategy class at ``path`` under ``key`` (admins; the admin form checks
    the same way). The class must import and be a Strategy subclass whose defaults are valid."""
    klass = strategy_class(path)
    try:
        klass()
    except sdk.ParameterError as problem:
        raise DomainError(
            problem.code, f"Its default parameters are invalid: {problem.message}", "path"
        ) from problem
    with transaction.atomic():
        definition, _ = StrategyDefinition.objects.update_or_create(
            key=key,
            defaults={
                "path": path,
                "name": name or klass.title or klass.__name__,
                "description": description or (klass.__doc__ or "").strip(),
                "enabled": enabled,
            },
        )
    return definition


def clean_parameters(klass: type[sdk.Strategy], parameters: object) -> dict[str, Any]:
    """Every parameter of ``klass``, checked and coerced by its constructor (types, ranges, the rules
    across parameters), as JSON-ready values (Decimals as strings). DomainError names the field as
    ``parameters.<name>``."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise DomainError("invalid_parameter", "parameters must be an object.", "parameters")
    try:
        values = klass(**{str(name): value for name, value in parameters.items()}).parameters
    except sdk.ParameterError as problem:
        field_name = f"parameters.{problem.field}" if problem.field else "parameters"
        raise DomainError(problem.code, problem.message, field_name) from problem
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in values.items()}


# --- configurations -------------------------------------------------------------------------------------


def _clean_name(name: object, field_name: str = "name") -> str:
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise DomainError("invalid_name", f"Give a name of 1 to {MAX_NAME_LENGTH} characters.", field_name)
    return cleaned


def _definition(key: object) -> StrategyDefinition:
    ensure_builtin_definitions()
    return selectors.definition_by_key(key)


def create_config(
    *, owner: Any, strategy: str, name: str, parameters: dict[str, Any] | None = None
) -> StrategyConfig:
    """A named configuration of the strategy registered as ``strategy`` (a definition key)."""
    definition = _definition(strategy)
    values = clean_parameters(strategy_class(definition.path), parameters)
    now = clock.now()
    try:
        with transaction.atomic():
            return StrategyConfig.objects.create(
                owner=owner,
                definition=definition,
                name=_clean_name(name),
                parameters=values,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as error:
        raise DomainError(
            "duplicate_name", "You already have a configuration with that name.", "name"
        ) from error


def update_config(
    *, owner: Any, config_id: object, name: str | None = None, parameters: dict[str, Any] | None = None
) -> StrategyConfig:
    """Rename and/or change parameters (given ones replace the stored ones; the rest stay). Running
    deployments keep the parameters they were deployed with."""
    with transaction.atomic():
        config = selectors.config_of(owner, config_id)
        config = StrategyConfig.objects.select_for_update().select_related("definition").get(pk=config.pk)
        if name is not None:
            config.name = _clean_name(name)
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise DomainError("invalid_parameter", "parameters must be an object.", "parameters")
            merged = {**config.parameters, **parameters}
            config.parameters = clean_parameters(strategy_class(config.definition.path), merged)
        config.updated_at = clock.now()
        try:
            with transaction.atomic():
                config.save()
        except IntegrityError as error:
            raise DomainError(
                "duplicate_name", "You already have a configuration with that name.", "name"
            ) from error
        return config


def delete_config(*, owner: Any, config_id: object) -> None:
    """Delete a configuration; deployments made from it keep running with their own copy."""
    with transaction.atomic():
        selectors.config_of(owner, config_id).delete()


# --- deployments ------------------------------------------------------------------------------------------

# (status, action) -> new status: the whole state machine of a deployment
TRANSITIONS: dict[tuple[str, str], str] = {
    (DeploymentStatus.RUNNING, "pause"): DeploymentStatus.PAUSED,
    (DeploymentStatus.PAUSED, "resume"): DeploymentStatus.RUNNING,
    (DeploymentStatus.RUNNING, "stop"): DeploymentStatus.STOPPED,
    (DeploymentStatus.PAUSED, "stop"): DeploymentStatus.STOPPED,
    (DeploymentStatus.RUNNING, "fail"): DeploymentStatus.PAUSED,
}


def _event(
    deployment: StrategyDeployment,
    kind: str,
    *,
    now: datetime,
    code: str = "",
    message: str = "",
    bar_time: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> DeploymentEvent:
    return DeploymentEvent(
        deployment=deployment,
        kind=kind,
        status=deployment.status,
        code=code[:40],
        message=message[:500],
        bar_time=bar_time,
        data=data or {},
        created_at=now,
    )


def _transition(deployment: StrategyDeployment, action: str, *, now: datetime, message: str = "") -> None:
    """Apply ``action`` to the (locked) deployment by the transition table and record it; Conflict
    ``invalid_transition`` naming the status when the table has no such move."""
    target = TRANSITIONS.get((deployment.status, action))
    if target is None:
        raise Conflict(
            "invalid_transition", f"The deployment is {deployment.status}: it cannot {action}.", "status"
        )
    deployment.status = target
    if target == DeploymentStatus.PAUSED:
        deployment.paused_at = now
    elif target == DeploymentStatus.STOPPED:
        deployment.stopped_at = now
    elif target == DeploymentStatus.RUNNING:
        deployment.paused_at = None
    _event(deployment, DeploymentEvent.Kind.STATUS, now=now, code=action, message=message).save()


def _announce(deployment: StrategyDeployment, signals: list[Signal] | None = None) -> None:
    announce_after_commit(deployment, signals or [])


def _latest_bar_times(instruments: dict[str, Any], timeframe: Timeframe, now: datetime) -> dict[str, str]:
    """Per symbol, the open time of its latest stored bar before ``now`` (bars a new or resumed
    deployment must not treat as new)."""
    marks = {}
    for symbol, instrument in instruments.items():
        latest = warmup_start(instrument, timeframe, now, 1)
        if latest != now:
            marks[symbol] = latest.isoformat()
    return marks


def deploy(
    *,
    owner: Any,
    account: TradingAccount,
    symbols: list[str],
    timeframe: str,
    config_id: object = None,
    strategy: str | None = None,
    parameters: dict[str, Any] | None = None,
    name: str | None = None,
    warmup_bars: int = DEFAULT_WARMUP_BARS,
) -> StrategyDeployment:
    """Start a strategy on one of the owner's paper accounts: from a configuration (``config_id``) or
    a definition key and parameters. It ticks on every bar of ``symbols`` and ``timeframe`` that closes
    from now on; its history starts ``warmup_bars`` bars back (the same first bar every tick)."""
    if account.owner_id != getattr(owner, "pk", owner):
        raise NotFound("No such account.", "account_id")
    if not account.is_paper:
        raise DomainError(
            "not_paper_account",
            "Strategies run on paper accounts only (live brokers come later).",
            "account_id",
        )
    try:
        frame = Timeframe.parse(timeframe)
    except (TypeError, ValueError) as error:
        raise DomainError("invalid_timeframe", str(error), "timeframe") from error
    if (
        isinstance(warmup_bars, bool)
        or not isinstance(warmup_bars, int)
        or not 0 <= warmup_bars <= MAX_WARMUP_BARS
    ):
        raise DomainError("out_of_bounds", f"warmup_bars must be 0 to {MAX_WARMUP_BARS}.", "warmup_bars")
    if config_id is not None:
        config = selectors.config_of(owner, config_id)
        definition = config.definition
        if not definition.enabled:
            raise DomainError(
                "strategy_disabled", f"{definition.name} is disabled by the admin.", "config_id"
            )
        klass = strategy_class(definition.path)
        values = clean_parameters(klass, {**config.parameters, **(parameters or {})})
        default_name = config.name
    else:
        if strategy is None:
            raise DomainError("required", "Give a config_id or a strategy.", "strategy")
        config = None
        definition = _definition(strategy)
        klass = strategy_class(definition.path)
        values = clean_parameters(klass, parameters)
        default_name = definition.name
    instruments = _instruments(symbols)
    if len(instruments) > 1 and not selectors.trades_several_symbols(klass):
        raise DomainError(
            "single_symbol_strategy", f"{definition.name} trades one symbol at a time.", "symbols"
        )
    now = clock.now()
    with transaction.atomic():
        starting_equity = account_valuation(account).equity
        history_start = min(
            warmup_start(instrument, frame, now, warmup_bars) for instrument in instruments.values()
        )
        deployment = StrategyDeployment(
            owner_id=account.owner_id,
            name=_clean_name(name if name is not None else default_name[:MAX_NAME_LENGTH]),
            config=config,
            definition=definition,
            parameters=values,
            account=account,
            symbols=list(instruments),
            timeframe=frame.value,
            status=DeploymentStatus.RUNNING,
            warmup_bars=warmup_bars,
            history_start=history_start,
            starting_equity=starting_equity,
            last_bar_times=_latest_bar_times(instruments, frame, now),
            created_at=now,
            started_at=now,
        )
        deployment.save()
        _event(deployment, DeploymentEvent.Kind.STATUS, now=now, code="start", message="Deployed.").save()
        _announce(deployment)
    return deployment


def _instruments(symbols: object) -> dict[str, Any]:
    """The deployment's instruments by canonical symbol, in the order given: 1 to 20 distinct,
    tradable, active instruments (DomainError on field ``symbols``)."""
    if not isinstance(symbols, list | tuple) or not symbols:
        raise DomainError("required", "Give at least one symbol.", "symbols")
    if len(symbols) > MAX_DEPLOYMENT_SYMBOLS:
        raise DomainError(
            "too_many_symbols", f"A deployment trades at most {MAX_DEPLOYMENT_SYMBOLS} symbols.", "symbols"
        )
    instruments: dict[str, Any] = {}
    for text in symbols:
        try:
            instrument = instrument_by_symbol(text, active_only=True)
        except NotFound as error:
            raise DomainError("unknown_symbol", error.message, "symbols") from error
        if not instrument.tradable:
            raise DomainError("instrument_not_tradable", f"{instrument.symbol} is not tradable.", "symbols")
        if instrument.symbol in instruments:
            raise DomainError("duplicate_symbol", f"{instrument.symbol} is listed twice.", "symbols")
        instruments[instrument.symbol] = instrument
    return instruments


def _locked(owner: Any, deployment_id: object) -> StrategyDeployment:
    deployment = selectors.deployment_of(owner, deployment_id)
    return (
        StrategyDeployment.objects.select_for_update()
        .select_related("definition", "account")
        .get(pk=deployment.pk)
    )


def pause_deployment(*, owner: Any, deployment_id: object) -> StrategyDeployment:
    """Stop ticking; its open orders keep working (stop cancels them)."""
    with transaction.atomic():
        deployment = _locked(owner, deployment_id)
        _transition(deployment, "pause", now=clock.now(), message="Paused.")
        deployment.save()
        _announce(deployment)
    return deployment


def resume_deployment(*, owner: Any, deployment_id: object) -> StrategyDeployment:
    """Tick again from the next bar that closes (bars that closed while paused are history only)."""
    now = clock.now()
    with transaction.atomic():
        deployment = _locked(owner, deployment_id)
        if not deployment.definition.enabled:
            raise DomainError(
                "strategy_disabled", f"{deployment.definition.name} is disabled by the admin.", "status"
            )
        _transition(deployment, "resume", now=now, message="Resumed.")
        instruments, _ = instruments_by_symbols(list(deployment.symbols))
        latest = _latest_bar_times(instruments, Timeframe.parse(deployment.timeframe), now)
        deployment.last_bar_times = _advanced(
            deployment.last_bar_times, {k: _time(v) for k, v in latest.items()}
        )
        deployment.last_error, deployment.last_error_at = "", None
        deployment.save()
        _announce(deployment)
    return deployment


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _advanced(marks: dict[str, str], seen: dict[str, datetime]) -> dict[str, str]:
    """``marks`` (symbol -> ISO time of the last bar processed) moved forward to ``seen``, never back."""
    moved = dict(marks)
    for symbol, moment in seen.items():
        if symbol not in moved or _time(moved[symbol]) < moment:
            moved[symbol] = moment.isoformat()
    return moved


def stop_deployment(
    *, owner: Any, deployment_id: object, close_positions: bool = False
) -> StrategyDeployment:
    """Stop for good: cancel the deployment's open orders and, with ``close_positions``, flatten its
    own positions with market orders. Its orders, fills and signals stay for the record."""
    now = clock.now()
    with transaction.atomic():
        deployment = _locked(owner, deployment_id)
        _transition(deployment, "stop", now=now, message="Stopped.")
        account = deployment.account
        canceled = _cancel_open_orders(deployment, account)
        closed = []
        if close_positions:
            for symbol, position in sorted(selectors.deployment_positions(deployment.pk).items()):
                if position.quantity == 0:
                    continue
                placement = order_services.place_order(
                    account=account,
                    request=order_services.OrderRequest(
                        symbol=symbol,
                        side=Side.SELL if position.quantity > 0 else Side.BUY,
                        order_type=OrderType.MARKET,
                        quantity=abs(position.quantity),
                        time_in_force=TimeInForce.GTC,
                        source=OrderSource.STRATEGY,
                        deployment_id=deployment.pk,
                    ),
                )
                closed.append(str(placement.order.pk))
        if canceled or closed:
            _event(
                deployment,
                DeploymentEvent.Kind.TICK,
                now=now,
                code="stop",
                message=f"Canceled {len(canceled)} open order(s); {len(closed)} closing order(s).",
                data={"canceled": canceled, "placed": closed},
            ).save()
        deployment.save()
        _announce(deployment)
    return deployment


def _cancel_open_orders(deployment: StrategyDeployment, account: TradingAccount) -> list[str]:
    canceled = []
    rows = Order.objects.filter(deployment_id=deployment.pk, status__in=OPEN_STATUS_VALUES).order_by(
        "created_at"
    )
    for order_id in list(rows.values_list("pk", flat=True)):
        try:
            order_services.cancel_order(account=account, order_id=order_id)
        except Conflict:
            continue  # ended meanwhile, e.g. canceled with its group by an earlier cancel
        canceled.append(str(order_id))
    return canceled


# --- the tick -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TickOutcome:
    """``status``: ``ticked``, ``skipped`` (with the reason) or ``failed`` (the error was recorded)."""

    status: str
    reason: str = ""
    placed: list[str] = field(default_factory=list)
    rejected: int = 0
    signals: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "placed": self.placed,
            "rejected": self.rejected,
            "signals": self.signals,
        }


def parse_bar_key(bar_key: str) -> tuple[int, Timeframe, datetime]:
    """``marketdata.hooks.BarClosed.key`` -> (instrument id, timeframe, open time); ValueError if bad."""
    instrument_id, timeframe, open_time = str(bar_key).split(":", 2)
    return int(instrument_id), Timeframe.parse(timeframe), ensure_utc(datetime.fromisoformat(open_time))


def tick_deployment(*, deployment_id: object, bar_key: str) -> TickOutcome:
    """Run the deployment's strategy for one closed bar (``strategies.runtime``), at most once per bar:
    the deployment row is locked, a bar at or before the symbol's last processed one is skipped, and
    the orders, signals, events and the processed mark commit together, so a redelivered task finds
    the bar processed or nothing of it written. A strategy that raises pauses its deployment with the
    error recorded; the worker carries on."""
    try:
        instrument_id, timeframe, bar_time = parse_bar_key(bar_key)
    except ValueError:
        return TickOutcome("skipped", f"not a bar key: {str(bar_key)[:80]!r}")
    now = clock.now()
    with transaction.atomic():
        deployment, instruments, trigger, skip = _tick_target(
            deployment_id, instrument_id, timeframe, bar_time
        )
        if deployment is None or skip is not None:
            return skip or TickOutcome("skipped", "no such deployment")
        failure = _unusable(deployment, instruments)
        if failure is not None:
            return _fail(deployment, failure, bar_time, now)
        account = TradingAccount.objects.get(pk=deployment.account_id)
        try:
            report = runtime.run_tick(
                deployment=deployment,
                account=account,
                instruments=[instruments[symbol] for symbol in deployment.symbols],
                bar_time=bar_time,
                trigger=trigger,
            )
        except runtime.TickFailure as failure:
            return _fail(deployment, failure, bar_time, now)
        if report is None:
            return TickOutcome("skipped", "no such bar")
        signals = _store_signals(deployment, report, now)
        _record_tick(deployment, report, now)
        deployment.save()
        _announce(deployment, signals)
    return TickOutcome(
        "ticked",
        placed=[str(order.pk) for order in report.placed],
        rejected=len(report.rejections),
        signals=len(signals),
    )


def _tick_target(
    deployment_id: object, instrument_id: int, timeframe: Timeframe, bar_time: datetime
) -> tuple[StrategyDeployment | None, dict[str, Any], str, TickOutcome | None]:
    """The locked deployment, its instruments by symbol and the symbol whose bar closed, or why the
    tick does not apply (a skip outcome)."""
    try:
        deployment = (
            StrategyDeployment.objects.select_for_update()
            .select_related("definition")
            .filter(pk=deployment_id)
            .first()
        )
    except (ValidationError, ValueError):
        deployment = None
    if deployment is None:
        return None, {}, "", TickOutcome("skipped", "no such deployment")
    if deployment.status != DeploymentStatus.RUNNING:
        return deployment, {}, "", TickOutcome("skipped", f"the deployment is {deployment.status}")
    if timeframe.value != deployment.timeframe:
        return deployment, {}, "", TickOutcome("skipped", f"not a {deployment.timeframe} bar")
    instruments, _ = instruments_by_symbols(list(deployment.symbols))
    trigger = next((symbol for symbol, row in instruments.items() if row.pk == instrument_id), None)
    if trigger is None:
        return deployment, instruments, "", TickOutcome("skipped", "not one of the deployment's symbols")
    last = deployment.last_bar_times.get(trigger)
    if last is not None and bar_time <= _time(last):
        return deployment, instruments, trigger, TickOutcome("skipped", "bar already processed")
    return deployment, instruments, trigger, None


def _unusable(deployment: StrategyDeployment, instruments: dict[str, Any]) -> runtime.TickFailure | None:
    missing = [symbol for symbol in deployment.symbols if symbol not in instruments]
    if missing:
        return runtime.TickFailure("unknown_symbol", f"Unknown symbol {missing[0]}.")
    if not deployment.definition.enabled:
        return runtime.TickFailure(
            "strategy_disabled", f"{deployment.definition.name} was disabled by the admin."
        )
    return None


def _fail(
    deployment: StrategyDeployment, failure: runtime.TickFailure, bar_time: datetime, now: datetime
) -> TickOutcome:
    """Record a tick that could not run: the error on the deployment (paused when the failure says so)
    and the bar marked processed, so a redelivery does not run it again."""
    logger.warning("deployment %s: %s", deployment.pk, failure.message)
    deployment.last_error = failure.message
    deployment.last_error_at = now
    if failure.pause:
        _transition(deployment, "fail", now=now, message=f"Paused: {failure.message}")
    _event(
        deployment,
        DeploymentEvent.Kind.ERROR,
        now=now,
        code=failure.code,
        message=failure.message,
        bar_time=bar_time,
    ).save()
    deployment.last_bar_times = _advanced(
        deployment.last_bar_times, dict.fromkeys(deployment.symbols, bar_time)
    )
    deployment.last_tick_at = now
    deployment.save()
    _announce(deployment)
    return TickOutcome("failed", failure.message)


def _store_signals(deployment: StrategyDeployment, report: runtime.TickReport, now: datetime) -> list[Signal]:
    """Upsert the tick's signals: one per (symbol, bar), the last one emitted wins."""
    latest: dict[tuple[str, datetime], sdk.Signal] = {}
    for signal in report.signals:
        latest[(signal.symbol, signal.ts)] = signal
    rows = [
        Signal(
            deployment=deployment,
            symbol=signal.symbol,
            bar_time=signal.ts,
            direction=signal.direction.value,
            confidence=signal.confidence,
            stop_loss=signal.stop_loss,
            take_profit=signal.take_profit,
            note=signal.note[:200],
            created_at=now,
        )
        for signal in latest.values()
    ]
    if rows:
        Signal.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["deployment", "symbol", "bar_time"],
            update_fields=["direction", "confidence", "stop_loss", "take_profit", "note", "created_at"],
        )
    return rows


def _record_tick(deployment: StrategyDeployment, report: runtime.TickReport, now: datetime) -> None:
    """The tick's bookkeeping on the (locked) deployment, and its events: rejections, orders sent."""
    events = [
        _event(
            deployment,
            DeploymentEvent.Kind.REJECTION,
            now=now,
            code=rejection.code,
            message=f"{rejection.side} {rejection.symbol}: {rejection.message}",
            bar_time=report.bar_time,
            data={
                "symbol": rejection.symbol,
                "side": rejection.side,
                "field": rejection.field,
                "client_order_id": rejection.client_order_id,
            },
        )
        for rejection in report.rejections
    ]
    if report.placed or report.canceled:
        events.append(
            _event(
                deployment,
                DeploymentEvent.Kind.TICK,
                now=now,
                code="orders",
                message=f"Sent {len(report.placed)} order(s), canceled {len(report.canceled)}.",
                bar_time=report.bar_time,
                data={"placed": [str(order.pk) for order in report.placed], "canceled": report.canceled},
            )
        )
    DeploymentEvent.objects.bulk_create(events)
    state = dict(deployment.state or {})
    if report.fill_cursor:
        state["fill_cursor"] = report.fill_cursor
    open_ids = (
        {
            str(pk)
            for pk in Order.objects.filter(
                deployment_id=deployment.pk, status__in=OPEN_STATUS_VALUES, pk__in=list(report.tags)
            ).values_list("pk", flat=True)
        }
        if report.tags
        else set()
    )
    state["tags"] = {order_id: tag for order_id, tag in report.tags.items() if order_id in open_ids}
    if report.logs:
        lines = [*state.get("log", []), *([line.ts.isoformat(), line.message[:500]] for line in report.logs)]
        state["log"] = lines[-LOG_LINES_KEPT:]
    deployment.state = state
    deployment.last_bar_times = _advanced(deployment.last_bar_times, report.bar_times)
    deployment.last_tick_at = now
