"""Parameter combinations on a small process pool, handed back one by one as they finish (pure, no
Django).

``backtests.analysis.evaluate`` returns when every combination has run. A Celery task wants to report
progress and honour a cancel between combinations, so :func:`evaluate_each` runs the same
``analysis.run_one`` per combination and yields ``(index, summary)`` as each one finishes. Sorting by
index gives exactly the rows ``analysis.evaluate`` returns: the numbers do not depend on the number of
processes. Closing the iterator early (a cancel, a failure) lets the combinations already running
finish (one per process), then stops the pool.

The pool is billiard's (Celery's fork of multiprocessing): a prefork worker's child is a daemonic
process, and the standard library refuses to start processes from one ("daemonic processes are not
allowed to have children"); billiard does not.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import billiard

from backtests.analysis import RunSummary, run_one
from backtests.engine import BacktestConfig, BacktestError
from strategies.sdk import BarSeries, StrategyProblem

_STATE: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _Failure:
    """A combination's run stopped with a StrategyProblem. Those exceptions take more constructor
    arguments than they pickle, so the code and the words travel back instead."""

    code: str
    message: str


def _start(strategy: str, data: Sequence[BarSeries], config: BacktestConfig, objective: str) -> None:
    _STATE.update(strategy=strategy, data=data, config=config, objective=objective)


def _run(job: tuple[int, dict[str, Any]]) -> tuple[int, RunSummary | _Failure]:
    index, parameters = job
    try:
        return index, run_one(
            _STATE["strategy"], parameters, _STATE["data"], _STATE["config"], _STATE["objective"]
        )
    except StrategyProblem as problem:
        return index, _Failure(problem.code, problem.message)


def evaluate_each(
    strategy: str,
    combinations: Sequence[Mapping[str, Any]],
    data: Sequence[BarSeries],
    config: BacktestConfig,
    *,
    objective: str,
    processes: int = 1,
    start_method: str = "spawn",
) -> Iterator[tuple[int, RunSummary]]:
    """Yield ``(index into combinations, summary)`` as each combination finishes (in order with one
    process). ``strategy`` is a ``"module:Class"`` path. A combination whose run fails (the strategy
    raised, no data...) raises :class:`BacktestError` with its code and message; a combination the
    strategy refuses is a row with its ``error``, as in ``analysis``."""
    if processes <= 1 or len(combinations) <= 1:
        for index, combination in enumerate(combinations):
            yield index, run_one(strategy, combination, data, config, objective)
        return
    finished: queue.SimpleQueue[Any] = queue.SimpleQueue()
    jobs = iter(enumerate(combinations))
    pool = billiard.get_context(start_method).Pool(
        processes, initializer=_start, initargs=(strategy, list(data), config, objective)
    )

    def submit() -> int:
        job = next(jobs, None)
        if job is None:
            return 0
        pool.apply_async(_run, ((job[0], dict(job[1])),), callback=finished.put, error_callback=finished.put)
        return 1

    in_flight = 0
    try:
        # one combination per process at a time: stopping early then means waiting for at most one
        # run per process; billiard's terminate stalls for seconds over a job it killed half-way
        in_flight = sum(submit() for _ in range(processes))
        while in_flight:
            outcome = finished.get()
            in_flight -= 1
            if isinstance(outcome, BaseException):
                raise outcome
            index, summary = outcome
            if isinstance(summary, _Failure):
                raise BacktestError(summary.code, summary.message)
            in_flight += submit()
            yield index, summary
    finally:
        for _ in range(in_flight):
            finished.get()
        pool.terminate()
