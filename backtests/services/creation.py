"""Creating a run: the request, checked completely first (nothing is written on bad input), one ``queued``
row, and the run handed to a worker after the commit; the code version each run records."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from backtests import queue, selectors
from backtests.models import Backtest, BacktestKind, CommissionModel, SlippageModel
from backtests.services.events import announce
from backtests.services.validation import (
    checked_choice,
    checked_kind_settings,
    checked_parameters,
    checked_period,
    checked_starting_cash,
    checked_timeframe,
    checked_warmup_bars,
    execution_config,
    symbols_with_data,
)
from strategies.selectors import trades_several_symbols
from tradeapp.core import clock
from tradeapp.core.errors import DomainError


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """What a client asks to run. ``start``/``end``: the period ``[start, end)``, aware datetimes.
    ``warmup_bars``: history before ``start`` for indicators (None: three times the longest integer
    parameter, e.g. 60 bars for SMA(10/20)). ``kind_settings`` depend on ``kind`` (docs/strategies.md)."""

    strategy: str
    symbols: Sequence[str]
    timeframe: str
    start: datetime
    end: datetime
    parameters: Mapping[str, Any] = field(default_factory=dict)
    starting_cash: Decimal = Decimal(100_000)
    commission_model: str = CommissionModel.NONE
    commission_rate: Decimal = Decimal(0)
    commission_minimum: Decimal = Decimal(0)
    slippage_model: str = SlippageModel.NONE
    slippage_amount: Decimal = Decimal(0)
    kind: str = BacktestKind.SINGLE
    kind_settings: Mapping[str, Any] = field(default_factory=dict)
    warmup_bars: int | None = None
    name: str = ""


def create_backtest(*, owner: Any, request: BacktestRequest) -> Backtest:
    """Check everything, then write one ``queued`` row and enqueue ``backtests.run`` after the commit.

    Refused with a DomainError naming the field: ``unknown_strategy``, parameter codes on
    ``parameters.<name>`` (``parameter_out_of_range``, ``invalid_parameter``, ``unknown_parameter``),
    ``invalid_timeframe``, ``invalid_range`` / ``range_too_large`` (period), ``unknown_symbol``,
    ``single_symbol_strategy`` (several symbols for a strategy that declares ``multi_symbol = False``),
    ``no_data`` (a symbol without bars of the timeframe, or none in the period), ``invalid_cash``,
    ``invalid_commission`` / ``invalid_slippage``, ``invalid_setting`` / ``too_many_combinations`` on
    ``kind_settings.<name>``. Reads only until the single insert."""
    key, klass = selectors.strategy_by_key(request.strategy)
    parameters = checked_parameters(klass, request.parameters)
    timeframe = checked_timeframe(request.timeframe)
    start, end = checked_period(timeframe, request.start, request.end)
    symbols = symbols_with_data(request.symbols, timeframe, start, end)
    if len(symbols) > 1 and not trades_several_symbols(klass):
        name = klass.title or klass.__name__
        raise DomainError("single_symbol_strategy", f"{name} trades one symbol at a time.", "symbols")
    cash = checked_starting_cash(request.starting_cash)
    execution_config(
        commission_model=request.commission_model,
        commission_rate=request.commission_rate,
        commission_minimum=request.commission_minimum,
        slippage_model=request.slippage_model,
        slippage_amount=request.slippage_amount,
    )
    kind = checked_choice(request.kind, BacktestKind, "kind")
    kind_settings = checked_kind_settings(klass, kind, request.kind_settings)
    warmup = checked_warmup_bars(request.warmup_bars, parameters)
    with transaction.atomic():
        row = Backtest.objects.create(
            owner=owner,
            name=request.name.strip()[:120],
            strategy=key,
            parameters=parameters,
            symbols=symbols,
            timeframe=timeframe.value,
            start=start,
            end=end,
            warmup_bars=warmup,
            starting_cash=cash,
            commission_model=request.commission_model,
            commission_rate=request.commission_rate,
            commission_minimum=request.commission_minimum,
            slippage_model=request.slippage_model,
            slippage_amount=request.slippage_amount,
            kind=kind,
            kind_settings=kind_settings,
            code_version=code_version(),
            created_at=clock.now(),
        )
        transaction.on_commit(functools.partial(queue.enqueue_run, str(row.pk)))
        announce(row)
    return row


@functools.cache
def code_version() -> str:
    """What a run records as its code version: ``settings.CODE_VERSION`` (or env TRADEAPP_CODE_VERSION)
    when set, else ``git:<describe>`` of the checkout, else ``unknown``."""
    configured = getattr(settings, "CODE_VERSION", "") or os.environ.get("TRADEAPP_CODE_VERSION", "")
    if configured:
        return str(configured)[:100]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607 - git from PATH, fixed args
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git:{described.stdout.strip()}"[:100]
