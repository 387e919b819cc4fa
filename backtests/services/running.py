"""Running a run (the ``backtests.run`` task's body): claim the row, load its bars, run the engine or the
row's kind of analysis, and store the outcome if the row is still this attempt's."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from backtests import reports, selectors
from backtests.engine import (
    BacktestCancelled,
    BacktestConfig,
    BacktestError,
    BacktestResult,
    data_hash,
    run_backtest as run_engine,
)
from backtests.models import Backtest, BacktestKind, BacktestStatus
from backtests.services import kinds
from backtests.services.events import announce
from backtests.services.progress import Monitor
from backtests.services.validation import day_text, execution_config
from marketdata.domain import Timeframe
from marketdata.selectors import bars_frame, instruments_by_symbols, warmup_start
from orders.risk import RiskLimits
from strategies.sdk import BarSeries, StrategyProblem, datetime_of
from tradeapp.core import clock
from tradeapp.core.decimals import normalize
from tradeapp.core.errors import DomainError

logger = logging.getLogger(__name__)


def run_backtest(*, backtest_id: object) -> Backtest | None:
    """Run the backtest (the Celery task's body). Claims the row; a finished run is returned as it is
    (never rerun), a ``running`` one (redelivered: its worker died) starts again from scratch. Bad data,
    a strategy that raises or refused parameters end the run ``failed`` with the engine's message (the
    strategy's error names the bar); a cancel ends it ``canceled``. None when the row is gone."""
    row = _claim(backtest_id)
    if row is None or row.status != BacktestStatus.RUNNING:
        return row
    monitor = Monitor(row)
    try:
        outcome = _execute(row, monitor)
    except BacktestCancelled:
        return _finish(
            row, BacktestStatus.CANCELED, error_code="cancelled", error_message="The run was cancelled."
        )
    except (StrategyProblem, DomainError) as problem:
        return _finish(row, BacktestStatus.FAILED, error_code=problem.code, error_message=problem.message)
    return _finish(row, BacktestStatus.COMPLETED, **outcome)


def _claim(backtest_id: object) -> Backtest | None:
    with transaction.atomic():
        row = Backtest.objects.select_for_update().defer("trades", "results").filter(pk=backtest_id).first()
        if row is None:
            logger.info("backtest %s is gone: nothing to run", backtest_id)
            return None
        if row.is_finished:
            return row
        if row.status == BacktestStatus.RUNNING:
            logger.warning("backtest %s was running (attempt %s): starting it again", row.pk, row.attempts)
        row.status = BacktestStatus.RUNNING
        row.attempts += 1
        row.progress = 0
        row.error_code = row.error_message = ""
        row.started_at = clock.now()
        row.save(
            update_fields=["status", "attempts", "progress", "error_code", "error_message", "started_at"]
        )
        announce(row)
    return row


def _finish(row: Backtest, status: str, **values: Any) -> Backtest:
    """Write the outcome if the row is still this attempt's running run (a cancel may have won)."""
    with transaction.atomic():
        current = Backtest.objects.select_for_update().defer("trades", "results").filter(pk=row.pk).first()
        if current is None:  # deleted meanwhile (its owner was): nothing to keep
            return row
        if current.status != BacktestStatus.RUNNING or current.attempts != row.attempts:
            return current
        values.update(status=status, finished_at=clock.now())
        if status == BacktestStatus.COMPLETED:
            values["progress"] = 100
        for name, value in values.items():
            setattr(current, name, value)
        current.save(update_fields=list(values))
        announce(current)
    return current


def _execute(row: Backtest, monitor: Monitor) -> dict[str, Any]:
    """Load the bars and run the row's kind of analysis; the fields to store on success."""
    _, klass = selectors.strategy_by_key(row.strategy)
    strategy = klass(**row.parameters)  # checked at creation; a changed strategy fails here, by field
    # walk-forward windows take their warm-up from the bars before them
    warmup = 0 if row.kind == BacktestKind.WALK_FORWARD else row.warmup_bars
    data = load_series(row.symbols, Timeframe(row.timeframe), row.start, row.end, warmup_bars=warmup)
    monitor.check()
    config = BacktestConfig(
        initial_cash=normalize(row.starting_cash),  # 10000, not the column's 10000.0000000000
        execution=execution_config(
            commission_model=row.commission_model,
            commission_rate=row.commission_rate,
            commission_minimum=row.commission_minimum,
            slippage_model=row.slippage_model,
            slippage_amount=row.slippage_amount,
        ),
        risk_limits=RiskLimits(allow_short=True),  # a strategy's own allow_short and the instrument decide
        start=row.start,
        code_version=row.code_version or "unknown",
    )
    options = row.kind_settings
    results: dict[str, Any] = {"kind": row.kind}
    main: BacktestResult | None = None
    if row.kind in (BacktestKind.SINGLE, BacktestKind.MONTE_CARLO):
        share = 0.9 if row.kind == BacktestKind.MONTE_CARLO else 1.0
        main = run_engine(
            strategy, data, config, progress=monitor.part(0, share), should_stop=monitor.should_stop
        )
        if row.kind == BacktestKind.MONTE_CARLO:
            monitor.check()
            results["monte_carlo"] = kinds.monte_carlo(main, options)
    elif row.kind in (BacktestKind.GRID, BacktestKind.RANDOM):
        search = kinds.search(
            klass, kind=row.kind, options=options, data=data, config=config, monitor=monitor
        )
        results["optimisation"] = reports.search_results(search)
        best = search.best
        if best is not None:  # the winner in full: metrics, trades and curves like a single run
            main = run_engine(
                klass(**best.parameters),
                data,
                config,
                progress=monitor.part(0.9, 1),
                should_stop=monitor.should_stop,
            )
    else:
        results["walk_forward"] = kinds.walk_forward(
            klass, options=options, data=data, config=config, monitor=monitor
        )
    fields_: dict[str, Any] = {"results": results, "trades": []}
    if main is not None:
        results.update(reports.single_run_results(main))
        fields_["trades"] = reports.stored_trades(main)
    first = min(int(series.open_time[0]) for series in data)
    last = max(int(series.open_time[-1]) for series in data)
    fields_.update(
        data_start=datetime_of(first),
        data_end=datetime_of(last),
        data_bars=sum(len(series) for series in data),
        data_hash=main.data_hash if main is not None else data_hash(data),
    )
    return fields_


def load_series(
    symbols: Sequence[str], timeframe: Timeframe, start: datetime, end: datetime, *, warmup_bars: int = 0
) -> list[BarSeries]:
    """The stored bars of ``symbols`` with ``start <= open_time < end`` plus up to ``warmup_bars``
    earlier ones per symbol, as the engine's series (instrument facts from the database)."""
    resolved, unknown = instruments_by_symbols(list(symbols))
    if unknown:
        raise DomainError("unknown_symbol", f"Unknown symbol '{unknown[0]}'.", "symbols")
    series = []
    for symbol in symbols:
        instrument = resolved[symbol]
        first = warmup_start(instrument, timeframe, start, warmup_bars) if warmup_bars else start
        frame = bars_frame(instrument, timeframe, first, end).set_index("open_time")
        if frame.empty or frame.index[-1] < start:
            raise BacktestError(
                "no_data",
                f"{instrument.symbol} has no {timeframe.value} bars between {day_text(start)} and "
                f"{day_text(end)}.",
                "start",
            )
        series.append(BarSeries.from_frame(frame, instrument.spec(), timeframe))
    return series
