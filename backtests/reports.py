"""A run's results as JSON (pure, no Django): what the API returns and the results page draws.

- Money and quantities are exact Decimal strings without trailing zeros; metrics are floats (None when
  undefined, infinities as ``"inf"``), as ``portfolio.metrics.Metrics.as_dict`` gives them.
- Times are ISO 8601 UTC strings, except chart curves: UNIX seconds of bar open times, the form
  TradingView lightweight-charts reads.
- Curves are thinned to a few thousand points keeping every bucket's lowest and highest equity and its
  deepest drawdown, so peaks, troughs and the maximum drawdown survive on the chart.
- Trades are stored apart from the rest (the ``trades`` column), at most ``MAX_STORED_TRADES`` of them;
  the results say how many there were.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from backtests.analysis import MonteCarloResult, RunSummary, SearchResult, WalkForwardResult
from backtests.engine import BacktestResult, EquityCurve, Trade
from portfolio.metrics import metric_number
from strategies.sdk import datetime_of

MAX_STORED_TRADES = 20_000
CHART_BUCKETS = 600  # up to 3 points per bucket: ~1 800 points per curve
SUMMARY_METRICS = ("total_return", "sharpe", "max_drawdown")


def plain(value: Any) -> Any:
    """A parameter value as JSON: Decimals as strings (``Param.coerce`` reads them back exactly)."""
    return str(value) if isinstance(value, Decimal) else value


def text(value: Decimal | int) -> str:
    return f"{Decimal(value).normalize():f}"  # no trailing zeros, never exponent form


def finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


# --- one run ------------------------------------------------------------------------------------------


def single_run_results(result: BacktestResult) -> dict[str, Any]:
    """One engine run as JSON: metrics, cash and equity, curves, order / fill / trade counts, open
    trades and positions, data ranges, configuration and fingerprint (the trade list goes apart)."""
    statuses = Counter(str(order.status) for order in result.orders)
    rejected = Counter(order.reason for order in result.orders if order.status == "rejected")
    return {
        "metrics": result.metrics.as_dict(),
        "parameters": {name: plain(value) for name, value in result.parameters.items()},
        "initial_cash": text(result.initial_cash),
        "final_cash": text(result.final_cash),
        "final_equity": text(result.final_equity),
        "bars": result.bars,
        "elapsed_seconds": round(result.elapsed_seconds, 3),
        "equity_curve": curve_of(result.equity),
        "orders": {"count": len(result.orders), "by_status": dict(statuses), "rejected": dict(rejected)},
        "fills": {
            "count": len(result.fills),
            "commission": text(sum((fill.commission for fill in result.fills), Decimal(0))),
        },
        "trades": {
            "count": len(result.trades),
            "stored": min(len(result.trades), MAX_STORED_TRADES),
            "truncated": len(result.trades) > MAX_STORED_TRADES,
        },
        "open_trades": [trade_row(trade) for trade in result.open_trades],
        "positions": {
            symbol: {
                "quantity": text(position.quantity),
                "average_cost": text(position.average_cost),
                "realized_pnl": text(position.realized_pnl),
            }
            for symbol, position in result.positions.items()
        },
        "signals": len(result.signals),
        "logs": [{"time": line.ts.isoformat(), "message": line.message} for line in result.logs[-200:]],
        "data_ranges": [
            {
                "symbol": item.symbol,
                "first": item.first.isoformat(),
                "last": item.last.isoformat(),
                "bars": item.bars,
            }
            for item in result.data_ranges
        ],
        "config": result.config,
        "fingerprint": result.fingerprint(),
    }


def stored_trades(result: BacktestResult) -> list[dict[str, Any]]:
    return [trade_row(trade) for trade in result.trades[:MAX_STORED_TRADES]]


def trade_row(trade: Trade) -> dict[str, Any]:
    """A round trip: ``return_pct`` in percent, ``bars`` held, P&L net of all its commissions."""
    return {
        "symbol": trade.symbol,
        "direction": trade.direction,
        "quantity": text(trade.quantity),
        "entry_time": trade.entry_time.isoformat(),
        "exit_time": trade.exit_time.isoformat(),
        "entry_price": text(trade.entry_price),
        "exit_price": text(trade.exit_price),
        "pnl": text(trade.pnl),
        "commission": text(trade.commission),
        "return_pct": round(trade.return_pct * 100, 6),
        "bars": trade.exit_bar - trade.entry_bar,
        "duration_seconds": int(trade.duration.total_seconds()),
        "is_open": trade.is_open,
    }


def curve_of(curve: EquityCurve) -> dict[str, list[Any]]:
    return chart_curve(curve.time, curve.equity, curve.drawdown)


def chart_curve(
    times: npt.NDArray[np.int64],
    equity: npt.NDArray[np.float64],
    drawdown: npt.NDArray[np.float64],
    *,
    buckets: int = CHART_BUCKETS,
) -> dict[str, list[Any]]:
    """Equity and drawdown thinned for a chart: every point when there are few, else per bucket the
    points of the lowest and highest equity and of the deepest drawdown, plus the first and last."""
    count = len(times)
    if count <= 3 * buckets:
        picks = np.arange(count)
    else:
        edges = np.linspace(0, count, buckets + 1).astype(np.int64)
        chosen = [0, count - 1]
        for low, high in itertools.pairwise(edges.tolist()):
            chosen += [
                low + int(np.argmin(equity[low:high])),
                low + int(np.argmax(equity[low:high])),
                low + int(np.argmin(drawdown[low:high])),
            ]
        picks = np.unique(np.asarray(chosen, dtype=np.int64))
    return {
        "time": (np.asarray(times)[picks] // 1_000_000_000).astype(np.int64).tolist(),
        "equity": np.round(np.asarray(equity, dtype=np.float64)[picks], 2).tolist(),
        "drawdown": np.round(np.asarray(drawdown, dtype=np.float64)[picks], 6).tolist(),
    }


def drawdown_of(equity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Fall from the running peak as a fraction (<= 0), as the engine's curve has it."""
    if not len(equity):
        return np.zeros(0)
    peaks = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(peaks > 0, equity / peaks - 1.0, 0.0)


# --- analyses -----------------------------------------------------------------------------------------


def search_results(search: SearchResult) -> dict[str, Any]:
    """An optimisation: its rows best first (refused combinations last, with their error), the best
    one, and a heatmap of the objective over the two parameters that vary most."""
    best = search.best
    return {
        "objective": search.objective,
        "maximize": search.maximize,
        "combinations": len(search.rows),
        "best": None if best is None else summary_row(best),
        "rows": [summary_row(row) for row in search.ranked],
        "heatmap": heatmap(search),
    }


def summary_row(row: RunSummary) -> dict[str, Any]:
    return {
        "parameters": {name: plain(value) for name, value in row.parameters.items()},
        "objective": row.objective,
        "trades": row.trades,
        "final_equity": None if row.final_equity is None else text(row.final_equity),
        **{name: row.metrics.get(name) for name in SUMMARY_METRICS},
        "error": row.error,
    }


def heatmap(search: SearchResult) -> dict[str, Any] | None:
    """``values[i][j]``: the best objective with ``y = ys[i]`` and ``x = xs[j]`` (None: no valid run)."""
    valid = [row for row in search.rows if row.error is None]
    if not valid:
        return None
    distinct = {name: len({repr(row.parameters[name]) for row in valid}) for name in valid[0].parameters}
    varying = sorted(
        (name for name, count in distinct.items() if count > 1), key=lambda name: -distinct[name]
    )
    if len(varying) < 2:
        return None
    x, y = varying[0], varying[1]
    table = search.heatmap(x, y)
    return {
        "x": x,
        "y": y,
        "xs": [plain(value) for value in table.columns.tolist()],
        "ys": [plain(value) for value in table.index.tolist()],
        "values": [[finite(value) for value in line] for line in table.to_numpy().tolist()],
    }


def walk_forward_results(outcome: WalkForwardResult, timeline: npt.NDArray[np.int64]) -> dict[str, Any]:
    """The windows (as times), each winner and its out-of-sample figures, the stitched out-of-sample
    curve and its metrics."""

    def moment(index: int) -> str:
        return datetime_of(int(timeline[index])).isoformat()

    return {
        "windows": [
            {
                "in_sample": [moment(window.in_sample[0]), moment(window.in_sample[1])],
                "out_of_sample": [moment(window.out_of_sample[0]), moment(window.out_of_sample[1])],
                "parameters": None
                if window.parameters is None
                else {name: plain(value) for name, value in window.parameters.items()},
                "in_sample_objective": window.in_sample_objective,
                "out_of_sample_objective": window.out_of_sample_objective,
                "out_of_sample_return": window.out_of_sample_return,
            }
            for window in outcome.windows
        ],
        "metrics": outcome.metrics.as_dict(),
        "equity_curve": chart_curve(outcome.time, outcome.equity, drawdown_of(outcome.equity)),
    }


def monte_carlo_results(outcome: MonteCarloResult, options: Mapping[str, Any], trades: int) -> dict[str, Any]:
    """Percentiles of total return and max drawdown (keys ``p5``... ``p95``), the probability of a
    loss, and 30-bin histograms of both distributions."""
    return {
        "simulations": options["simulations"],
        "method": options["method"],
        "seed": options["seed"],
        "trades": trades,
        "return_percentiles": {f"p{key:g}": value for key, value in outcome.return_percentiles.items()},
        "drawdown_percentiles": {f"p{key:g}": value for key, value in outcome.drawdown_percentiles.items()},
        "probability_of_loss": outcome.probability_of_loss,
        "return_histogram": histogram(outcome.total_returns),
        "drawdown_histogram": histogram(outcome.max_drawdowns),
    }


def histogram(values: npt.NDArray[np.float64], bins: int = 30) -> dict[str, list[Any]]:
    """``bins`` equal bins over the values' range; one bin exactly at the value when they are all the
    same (numpy would spread them over ``value ± 0.5``, a drawdown axis from -50 % to +50 %)."""
    if not len(values):
        return {"edges": [], "counts": []}
    low, high = float(np.min(values)), float(np.max(values))
    if low == high:
        return {"edges": [round(low, 6), round(high, 6)], "counts": [len(values)]}
    counts, edges = np.histogram(values, bins=bins)
    return {"edges": [round(float(edge), 6) for edge in edges], "counts": [int(count) for count in counts]}


# --- reading results: better of two, heatmap over chosen axes ----------------------------------------

# Which way each metric is better (None: neither, e.g. the number of trades or the data's own figures).
METRIC_GOALS: dict[str, str | None] = {
    "start_equity": None,
    "end_equity": "higher",
    "periods": None,
    "periods_per_year": None,
    "risk_free_rate": None,
    "total_return": "higher",
    "annualized_return": "higher",
    "volatility": "lower",
    "sharpe": "higher",
    "sortino": "higher",
    "calmar": "higher",
    "max_drawdown": "lower",
    "max_drawdown_periods": "lower",
    "max_drawdown_duration": "lower",
    "trades": None,
    "win_rate": "higher",
    "average_win": "higher",
    "average_loss": "higher",  # a negative amount: nearer zero is better
    "profit_factor": "higher",
    "expectancy": "higher",
    "average_trade_return": "higher",
    "exposure_time": None,
    "buy_and_hold_return": None,
    "excess_return": "higher",
    "var_confidence": None,
    "var_historical": "lower",  # a loss, as a positive fraction
    "var_monte_carlo": "lower",
}
HEATMAP_LEVELS = 10  # colour steps of a heatmap cell: 0 the worst value shown, 9 the best


def better(name: str, a: Any, b: Any) -> str | None:
    """``"a"`` or ``"b"``, whichever value of metric ``name`` is better, or None: equal, undefined on
    either side, or a metric that is no better one way than the other."""
    goal = METRIC_GOALS.get(name)
    first, second = metric_number(a), metric_number(b)
    if goal is None or first is None or second is None or first == second:
        return None
    higher = "a" if first > second else "b"
    lower = "b" if higher == "a" else "a"
    return higher if goal == "higher" else lower


def varying_parameters(rows: list[Mapping[str, Any]]) -> list[str]:
    """The parameters that take more than one value among the valid rows of an optimisation, the most
    varied first (ties in declaration order)."""
    valid = [row for row in rows if row.get("error") is None]
    if not valid:
        return []
    names = list(valid[0]["parameters"])
    distinct = {name: len({repr(row["parameters"].get(name)) for row in valid}) for name in names}
    return sorted((name for name in names if distinct[name] > 1), key=lambda name: -distinct[name])


def _axis_order(value: Any) -> tuple[int, float, str]:
    number = metric_number(value)
    if number is None and isinstance(value, str):
        try:
            number = float(value)  # Decimal parameters are stored as strings
        except ValueError:
            number = None
    return (0, number, "") if number is not None else (1, 0.0, repr(value))


def heatmap_of(rows: list[Mapping[str, Any]], x: str, y: str, *, maximize: bool) -> dict[str, Any] | None:
    """The objective of an optimisation's ``rows`` (``summary_row`` dicts) over parameters ``x`` and
    ``y``: ``values[i][j]`` is the best objective with ``y = ys[i]`` and ``x = xs[j]`` over every value
    of the other parameters (None: no run there with a defined objective; refused combinations are
    left out). ``levels`` grades each cell from 0 (the worst shown) to ``HEATMAP_LEVELS - 1`` (the
    best; all cells equal: the best); ``best`` is ``[i, j]`` of the best cell. None when ``x == y`` or
    no run has a defined objective."""
    if x == y:
        return None
    ran = [
        row for row in rows if row.get("error") is None and x in row["parameters"] and y in row["parameters"]
    ]
    scored = [row for row in ran if metric_number(row.get("objective")) is not None]
    if not scored:
        return None
    xs = sorted({repr(row["parameters"][x]): row["parameters"][x] for row in ran}.values(), key=_axis_order)
    ys = sorted({repr(row["parameters"][y]): row["parameters"][y] for row in ran}.values(), key=_axis_order)
    column = {repr(value): index for index, value in enumerate(xs)}
    line = {repr(value): index for index, value in enumerate(ys)}
    values: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    pick = max if maximize else min
    for row in scored:
        i, j = line[repr(row["parameters"][y])], column[repr(row["parameters"][x])]
        objective = metric_number(row["objective"])
        assert objective is not None
        current = values[i][j]
        values[i][j] = objective if current is None else pick(current, objective)
    defined = [
        (value, i, j)
        for i, line_values in enumerate(values)
        for j, value in enumerate(line_values)
        if value is not None
    ]
    best = (max if maximize else min)(defined, key=lambda cell: cell[0])
    finite_values = [value for value, _, _ in defined if math.isfinite(value)]
    low, high = (min(finite_values), max(finite_values)) if finite_values else (0.0, 0.0)
    return {
        "x": x,
        "y": y,
        "xs": xs,
        "ys": ys,
        "values": values,
        "levels": [
            [_level(value, low, high, maximize=maximize) for value in line_values] for line_values in values
        ],
        "best": [best[1], best[2]],
        "maximize": maximize,
    }


def _level(value: float | None, low: float, high: float, *, maximize: bool) -> int | None:
    """0 (worst) .. HEATMAP_LEVELS - 1 (best) of ``value`` on the scale ``[low, high]``."""
    if value is None:
        return None
    top = HEATMAP_LEVELS - 1
    if math.isinf(value):
        return top if (value > 0) == maximize else 0
    if high == low:
        return top
    share = (value - low) / (high - low)
    return round((share if maximize else 1 - share) * top)
