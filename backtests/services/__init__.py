"""Backtest use cases: create a run (checked completely first: nothing is written on bad input), run it
(the ``backtests.run`` Celery task calls :func:`run_backtest`), cancel it, compare two runs.

A run loads its bars from the database (``marketdata.selectors.bars_frame``) and hands them to the pure
engine (``backtests.engine``) or to the analyses built on it (``backtests.analysis``: grid and random
search, walk-forward, trade Monte Carlo). While it runs, ``progress`` is written at most twice a second
and a ``backtest`` event goes to the owner's stream (``user.<id>``) after each write; a cancel is a
status change the run notices at its next check (every 32 768 bars, or between combinations).

Lifecycle and retry safety: ``queued`` -> ``running`` (a worker claims the row and bumps ``attempts``)
-> ``completed`` | ``failed`` | ``canceled``. Every write after the claim is conditional on the row still
being ``running`` under that attempt, so a cancel that lands first wins, and a redelivered task (its
worker died) restarts the run from scratch while anything the lost attempt still writes is ignored. A
finished run is never run again.

The modules, in the order a run meets them: ``validation`` (every check of a request), ``creation``
(the row, enqueued by task name after the commit), ``running`` (claim, load the bars, run, store),
``kinds`` (search, walk-forward, Monte Carlo), ``progress`` (throttled progress and cancel checks),
``stopping`` (cancel, fail), ``comparison`` (two runs side by side) and ``events`` (what the owner hears).
Callers import the use cases from here.
"""

from backtests.services.comparison import HEADLINE_METRICS, Comparison, compare_backtests, headline
from backtests.services.creation import BacktestRequest, code_version, create_backtest
from backtests.services.events import EVENT, event_payload
from backtests.services.running import load_series, run_backtest
from backtests.services.stopping import cancel_backtest, fail_backtest
from backtests.services.validation import (
    MAX_COMBINATIONS,
    MAX_SIMULATIONS,
    MAX_WALK_FORWARD_COMBINATIONS,
    MAX_WALK_FORWARD_RUNS,
    MAX_WARMUP_BARS,
    OBJECTIVES,
    checked_kind_settings,
    checked_parameters,
)

__all__ = [
    "EVENT",
    "HEADLINE_METRICS",
    "MAX_COMBINATIONS",
    "MAX_SIMULATIONS",
    "MAX_WALK_FORWARD_COMBINATIONS",
    "MAX_WALK_FORWARD_RUNS",
    "MAX_WARMUP_BARS",
    "OBJECTIVES",
    "BacktestRequest",
    "Comparison",
    "cancel_backtest",
    "checked_kind_settings",
    "checked_parameters",
    "code_version",
    "compare_backtests",
    "create_backtest",
    "event_payload",
    "fail_backtest",
    "headline",
    "load_series",
    "run_backtest",
]
