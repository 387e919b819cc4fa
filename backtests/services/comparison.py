"""Reading finished runs side by side: two runs' metrics with their differences and the settings that
differ, and the few headline metrics a list of runs shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtests import reports, selectors
from backtests.models import Backtest, BacktestStatus
from portfolio.metrics import Metrics
from tradeapp.core.errors import Conflict

HEADLINE_METRICS = ("total_return", "annualized_return", "sharpe", "max_drawdown", "trades", "win_rate")


@dataclass(frozen=True, slots=True)
class Comparison:
    first: Backtest
    second: Backtest
    metrics: list[dict[str, Any]]
    differences: dict[str, dict[str, Any]]


_COMPARED_SETTINGS = (
    "strategy",
    "parameters",
    "symbols",
    "timeframe",
    "start",
    "end",
    "starting_cash",
    "commission_model",
    "commission_rate",
    "slippage_model",
    "slippage_amount",
    "kind",
    "code_version",
    "data_hash",
)


def compare_backtests(*, owner: Any, first_id: object, second_id: object) -> Comparison:
    """Two completed runs of ``owner`` side by side: each metric of both and ``delta`` = second - first
    (None where either is undefined), and the settings that differ. 404 for a run that is not the
    owner's (field ``a`` or ``b``), 409 ``not_completed`` for one without results."""
    first = selectors.backtest_of(owner, first_id, field="a")
    second = selectors.backtest_of(owner, second_id, field="b")
    for row, name in ((first, "a"), (second, "b")):
        if row.status != BacktestStatus.COMPLETED or not (row.results or {}).get("metrics"):
            raise Conflict("not_completed", f"Run {name} has no results to compare ({row.status}).", name)
    ours, theirs = first.results["metrics"], second.results["metrics"]
    metrics = []
    for definition in fields(Metrics):
        name = definition.name
        a, b = ours.get(name), theirs.get(name)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        metrics.append({"name": name, "a": a, "b": b, "delta": (b - a) if numeric else None})  # type: ignore[operator]
    differences = {}
    for name in _COMPARED_SETTINGS:
        a, b = _comparable(getattr(first, name)), _comparable(getattr(second, name))
        if a != b:
            differences[name] = {"a": a, "b": b}
    return Comparison(first, second, metrics, differences)


def _comparable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return reports.text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def headline(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The few metrics a list of runs shows."""
    if not metrics:
        return None
    return {name: metrics.get(name) for name in HEADLINE_METRICS}
