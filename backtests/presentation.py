"""What the backtest pages show of a run, laid out for the templates: metrics cards, the settings and
provenance rows, the trades, the heatmap, walk-forward and Monte Carlo views, two runs side by side.
Presentation only: what the numbers mean comes from ``backtests.reports`` and ``portfolio.metrics``,
how each figure reads from ``portfolio.metric_format``; the views call these and render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from backtests import reports, services
from backtests.forms import COMMISSION_CHOICES, KIND_CHOICES, OBJECTIVE_LABELS, SLIPPAGE_CHOICES
from backtests.models import Backtest, BacktestKind
from portfolio.metric_format import METRIC_FORMATS, metric_class, metric_label, metric_text
from strategies.sdk import Strategy

CHART_TRADES = 1000  # trades drawn as markers on the price chart (the table has them all)
OPTIMISATION_ROWS = 20  # rows of a search shown before "show all"
SEARCH_FIGURES = (("total_return", "Return"), ("sharpe", "Sharpe"), ("max_drawdown", "Max DD"))
HISTOGRAM_HEIGHT = 100  # the SVG histograms' drawing height (viewBox units)
KIND_LABELS = dict(KIND_CHOICES)
COMMISSION_LABELS = dict(COMMISSION_CHOICES)
SLIPPAGE_LABELS = dict(SLIPPAGE_CHOICES)


# --- how metrics read ---------------------------------------------------------------------------------


METRIC_GROUPS = (
    (
        "Returns",
        ("total_return", "annualized_return", "end_equity", "buy_and_hold_return", "excess_return"),
    ),
    (
        "Risk",
        (
            "volatility",
            "sharpe",
            "sortino",
            "calmar",
            "max_drawdown",
            "max_drawdown_duration",
            "var_historical",
            "var_monte_carlo",
        ),
    ),
    (
        "Trades",
        (
            "trades",
            "win_rate",
            "average_win",
            "average_loss",
            "profit_factor",
            "expectancy",
            "average_trade_return",
            "exposure_time",
        ),
    ),
)


def metric_cards(
    metrics: Mapping[str, Any] | None, *, only_defined: bool = False, leave_out: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The metrics a results page shows, in groups: ``[{title, items: [{name, label, text, css}]}]``.
    ``only_defined`` leaves out undefined figures (and groups left empty): a stitched walk-forward
    curve has no trades of its own, for instance."""
    if not metrics:
        return []
    cards = []
    for title, names in METRIC_GROUPS:
        shown = [
            name
            for name in names
            if name not in leave_out and not (only_defined and metrics.get(name) is None)
        ]
        items = [
            {
                "name": name,
                "label": metric_label(name, metrics),
                "text": metric_text(name, metrics.get(name)),
                "css": metric_class(name, metrics.get(name)),
            }
            for name in shown
        ]
        if items:
            cards.append({"title": title, "items": items})
    return cards


def headline_cells(metrics: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    figures = services.headline(metrics) or {}
    return {
        name: {"text": metric_text(name, figures.get(name)), "css": metric_class(name, figures.get(name))}
        for name in ("total_return", "sharpe", "max_drawdown")
    }


# --- how a run reads ------------------------------------------------------------------------------------


def strategy_title(key: str, catalog: Mapping[str, type[Strategy]]) -> str:
    klass = catalog.get(key)
    return (klass.title or klass.__name__) if klass is not None else key


def moment_text(moment: datetime | None) -> str:
    """``2024-01-31`` at midnight UTC, else ``2024-01-31 14:30 UTC``."""
    if moment is None:
        return "—"
    moment = moment.astimezone(UTC)
    if moment.hour or moment.minute or moment.second:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.date().isoformat()


def period_text(row: Backtest) -> str:
    """The period as days a person picks: ``2024-01-31 to 2024-10-26`` (the last day included)."""
    end = row.end.astimezone(UTC)
    whole_days = not (end.hour or end.minute or end.second or end.microsecond)
    last = moment_text(end - timedelta(days=1)) if whole_days else f"{moment_text(end)} (excluded)"
    return f"{moment_text(row.start)} to {last}"


def run_title(row: Backtest, catalog: Mapping[str, type[Strategy]]) -> str:
    return row.name or f"{strategy_title(row.strategy, catalog)} on {', '.join(row.symbols[:3])}" + (
        f" +{len(row.symbols) - 3}" if len(row.symbols) > 3 else ""
    )


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parameters_text(parameters: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{name} {value_text(value)}" for name, value in (parameters or {}).items()) or "—"


def money_text(value: Decimal) -> str:
    return f"{value:,.2f}"


def costs_text(row: Backtest) -> tuple[str, str]:
    commission = COMMISSION_LABELS.get(row.commission_model, row.commission_model)
    if row.commission_model != "none":
        commission += f": {value_text(row.commission_rate)}"
        if row.commission_minimum:
            commission += f" (minimum {value_text(row.commission_minimum)})"
    slippage = SLIPPAGE_LABELS.get(row.slippage_model, row.slippage_model)
    if row.slippage_model != "none":
        slippage += f": {value_text(row.slippage_amount)}"
    return commission, slippage


def kind_settings_rows(row: Backtest) -> list[tuple[str, str]]:
    """The analysis settings as (label, text) lines."""
    settings = row.kind_settings or {}
    rows: list[tuple[str, str]] = []
    if "objective" in settings:
        goal = "highest" if settings.get("maximize", True) else "lowest"
        rows.append(
            (
                "Optimised for",
                f"{OBJECTIVE_LABELS.get(settings['objective'], settings['objective'])} ({goal})",
            )
        )
    for name, label in (
        ("samples", "Samples"),
        ("in_sample", "In-sample bars"),
        ("out_of_sample", "Out-of-sample bars"),
        ("step", "Step (bars)"),
        ("simulations", "Simulations"),
        ("method", "Method"),
        ("seed", "Seed"),
    ):
        if name in settings:
            rows.append((label, value_text(settings[name])))
    if "anchored" in settings:
        rows.append(("Anchored", "yes" if settings["anchored"] else "no"))
    space = settings.get("space") or {}
    searched = {name: values for name, values in space.items() if len(values) > 1}
    if searched:
        rows.append(
            (
                "Values tried",
                "; ".join(
                    f"{name}: {', '.join(value_text(value) for value in values)}"
                    for name, values in searched.items()
                ),
            )
        )
    return rows


def searched_parameters(row: Backtest) -> list[str]:
    """The parameters a search tried several values of (all of them when it drew from their ranges)."""
    space = (row.kind_settings or {}).get("space")
    if space is None:
        return list(row.parameters or {})
    return [name for name, values in space.items() if len(values) > 1]


def settings_rows(row: Backtest, catalog: Mapping[str, type[Strategy]]) -> list[tuple[str, str]]:
    commission, slippage = costs_text(row)
    return [
        ("Strategy", f"{strategy_title(row.strategy, catalog)} ({row.strategy})"),
        ("Parameters", parameters_text(row.parameters)),
        ("Symbols", ", ".join(row.symbols)),
        ("Timeframe", row.timeframe),
        ("Period", period_text(row)),
        ("Warm-up bars", f"{row.warmup_bars:,}"),
        ("Starting cash", money_text(row.starting_cash)),
        ("Commission", commission),
        ("Slippage", slippage),
        ("Kind", KIND_LABELS.get(row.kind, row.kind)),
        *kind_settings_rows(row),
    ]


def provenance_rows(row: Backtest) -> list[tuple[str, str, bool]]:
    """What makes the run reproducible: the data it read, the code that ran, when. ``(label, text,
    monospaced)``."""
    results = row.results or {}
    loaded = f"{moment_text(row.data_start)} to {moment_text(row.data_end)}" if row.data_start else "—"
    rows = [
        ("Data loaded", loaded, False),
        ("Bars loaded", f"{row.data_bars:,}" if row.data_bars is not None else "—", False),
        ("Data hash (SHA-256)", row.data_hash or "—", True),
        ("Code version", row.code_version or "—", True),
    ]
    if results.get("fingerprint"):
        rows.append(("Results fingerprint", str(results["fingerprint"]), True))
    rows += [
        ("Run id", str(row.pk), True),
        ("Created", moment_text(row.created_at), False),
        ("Started", moment_text(row.started_at), False),
        ("Finished", moment_text(row.finished_at), False),
        ("Attempts", str(row.attempts), False),
    ]
    if results.get("elapsed_seconds") is not None:
        rows.append(("Engine time", f"{results['elapsed_seconds']:g} s", False))
    return rows


# --- one run's results ---------------------------------------------------------------------------------


def trade_rows(trades: Sequence[Mapping[str, Any]], first_number: int) -> list[dict[str, Any]]:
    return [
        {
            "number": first_number + index,
            **trade,
            "pnl_number": Decimal(str(trade["pnl"])),
            "entry_text": moment_text(datetime.fromisoformat(trade["entry_time"])),
            "exit_text": moment_text(datetime.fromisoformat(trade["exit_time"])),
        }
        for index, trade in enumerate(trades)
    ]


def chart_trades(trades: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keys = ("symbol", "direction", "quantity", "entry_time", "exit_time", "entry_price", "exit_price", "pnl")
    return [{key: trade[key] for key in keys} for trade in trades[:CHART_TRADES]]


def heatmap_context(query: Mapping[str, str], optimisation: Mapping[str, Any]) -> dict[str, Any] | None:
    """The heatmap of a search over the axes chosen by ``?x=&y=`` (default: the two parameters that
    vary most), with the best objective over the other parameters."""
    rows = list(optimisation.get("rows") or [])
    varying = reports.varying_parameters(rows)
    if len(varying) < 2:
        return None
    x = query.get("x") if query.get("x") in varying else varying[0]
    y = query.get("y") if query.get("y") in varying else next(name for name in varying if name != x)
    if y == x:
        y = next(name for name in varying if name != x)
    maximize = bool(optimisation.get("maximize", True))
    table = reports.heatmap_of(rows, x, y, maximize=maximize)
    if table is None:
        return None
    objective = str(optimisation.get("objective", ""))
    best_i, best_j = table["best"]
    lines = [
        {
            "y": value_text(y_value),
            "cells": [
                {
                    "x": value_text(table["xs"][j]),
                    "text": "—" if value is None else metric_text(objective, value),
                    "level": table["levels"][i][j],
                    "best": (i, j) == (best_i, best_j),
                }
                for j, value in enumerate(table["values"][i])
            ],
        }
        for i, y_value in enumerate(table["ys"])
    ]
    return {
        "x": x,
        "y": y,
        "axes": varying,
        "columns": [value_text(value) for value in table["xs"]],
        "lines": list(reversed(lines)),  # the largest y on top, as on a chart
        "others": [name for name in varying if name not in (x, y)],
        "objective_label": OBJECTIVE_LABELS.get(objective, objective),
        "goal": "highest" if maximize else "lowest",
        "best": {
            "x": value_text(table["xs"][best_j]),
            "y": value_text(table["ys"][best_i]),
            "text": metric_text(objective, table["values"][best_i][best_j]),
        },
    }


def optimisation_context(query: Mapping[str, str], optimisation: Mapping[str, Any]) -> dict[str, Any]:
    rows = list(optimisation.get("rows") or [])
    varying = reports.varying_parameters(rows)
    objective = str(optimisation.get("objective", ""))
    show_all = query.get("rows") == "all"
    shown = rows if show_all else rows[:OPTIMISATION_ROWS]
    fixed = {}
    if rows:
        fixed = {name: value for name, value in rows[0]["parameters"].items() if name not in varying}
    # the summary figures of each row, but not twice: the objective has its own column
    figures = [(name, label) for name, label in SEARCH_FIGURES if name != objective]
    return {
        "objective": objective,
        "objective_label": OBJECTIVE_LABELS.get(objective, objective),
        "goal": "highest" if optimisation.get("maximize", True) else "lowest",
        "combinations": optimisation.get("combinations", len(rows)),
        "columns": varying,
        "figure_labels": [label for _, label in figures],
        "fixed": parameters_text(fixed) if fixed else "",
        "rows": [
            {
                "rank": index + 1,
                "values": [
                    {"name": name, "text": value_text(row["parameters"].get(name))} for name in varying
                ],
                "objective": metric_text(objective, row.get("objective")),
                "figures": [
                    {
                        "label": label,
                        "text": metric_text(name, row.get(name)),
                        "css": metric_class(name, row.get(name)),
                    }
                    for name, label in figures
                ],
                "trades": row.get("trades"),
                "final_equity": row.get("final_equity"),
                "error": row.get("error"),
                "best": index == 0 and row.get("error") is None and row.get("objective") is not None,
            }
            for index, row in enumerate(shown)
        ],
        "more": 0 if show_all else max(len(rows) - OPTIMISATION_ROWS, 0),
        "heatmap": heatmap_context(query, optimisation),
    }


def walk_forward_context(walk: Mapping[str, Any], objective: str, searched: Sequence[str]) -> dict[str, Any]:
    """The windows (with the winner's values of the parameters searched) and the stitched curve's
    metrics (the trades figures are the windows' own runs', not the stitched curve's: left out)."""

    def day(text: str) -> str:
        return moment_text(datetime.fromisoformat(text))

    def winner(parameters: Mapping[str, Any] | None) -> str:
        if not parameters:
            return "none valid"
        return parameters_text({name: value for name, value in parameters.items() if name in searched})

    return {
        "windows": [
            {
                "number": index + 1,
                "in_sample": f"{day(window['in_sample'][0])} to {day(window['in_sample'][1])}",
                "out_of_sample": f"{day(window['out_of_sample'][0])} to {day(window['out_of_sample'][1])}",
                "parameters": winner(window.get("parameters")),
                "in_sample_objective": metric_text(objective, window.get("in_sample_objective")),
                "out_of_sample_objective": metric_text(objective, window.get("out_of_sample_objective")),
                "out_of_sample_return": metric_text("total_return", window.get("out_of_sample_return")),
                "return_css": metric_class("total_return", window.get("out_of_sample_return")),
            }
            for index, window in enumerate(walk.get("windows") or [])
        ],
        "cards": metric_cards(walk.get("metrics"), only_defined=True, leave_out=("trades",)),
    }


def histogram_svg(histogram: Mapping[str, list[Any]], name: str) -> dict[str, Any] | None:
    """An SVG histogram's bars (x, y, width, height in a 0..100 high box) and its axis labels."""
    counts, edges = histogram.get("counts") or [], histogram.get("edges") or []
    if not counts or len(edges) != len(counts) + 1:
        return None
    tallest = max(counts) or 1
    width = 100 / len(counts)
    bars = []
    for index, count in enumerate(counts):
        height = round(HISTOGRAM_HEIGHT * count / tallest, 2)
        bars.append(
            {
                "x": round(index * width, 3),
                "y": round(HISTOGRAM_HEIGHT - height, 2),
                "width": round(width * 0.9, 3),
                "height": height,
                "title": f"{metric_text(name, edges[index])} to {metric_text(name, edges[index + 1])}: "
                f"{count:,} simulation{'s' if count != 1 else ''}",
            }
        )
    return {
        "bars": bars,
        "low": metric_text(name, edges[0]),
        "high": metric_text(name, edges[-1]),
        "height": HISTOGRAM_HEIGHT,
    }


def monte_carlo_context(monte_carlo: Mapping[str, Any]) -> dict[str, Any]:
    returns = monte_carlo.get("return_percentiles") or {}
    drawdowns = monte_carlo.get("drawdown_percentiles") or {}
    keys = sorted(set(returns) | set(drawdowns), key=lambda key: float(key[1:]))
    return {
        "simulations": monte_carlo.get("simulations"),
        "method": monte_carlo.get("method"),
        "seed": monte_carlo.get("seed"),
        "trades": monte_carlo.get("trades"),
        "probability_of_loss": metric_text("win_rate", monte_carlo.get("probability_of_loss")),
        "percentiles": [
            {
                "label": f"{key[1:]}th",
                "total_return": metric_text("total_return", returns.get(key)),
                "return_css": metric_class("total_return", returns.get(key)),
                "max_drawdown": metric_text("max_drawdown", drawdowns.get(key)),
            }
            for key in keys
        ],
        "return_histogram": histogram_svg(monte_carlo.get("return_histogram") or {}, "total_return"),
        "drawdown_histogram": histogram_svg(monte_carlo.get("drawdown_histogram") or {}, "max_drawdown"),
    }


def chart_data(
    row: Backtest, results: Mapping[str, Any], trades: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """What the page's charts draw (passed with json_script): curves, the period, trades as markers."""
    walk = results.get("walk_forward") or {}
    return {
        "id": str(row.pk),
        "status": row.status,
        "timeframe": row.timeframe,
        "symbols": row.symbols,
        "start": row.start.isoformat(),
        "end": row.end.isoformat(),
        "starting_cash": float(row.starting_cash),
        "equity_curve": results.get("equity_curve"),
        "walk_forward_curve": walk.get("equity_curve"),
        "trades": chart_trades(trades),
        "trades_total": len(trades),
    }


# --- two runs ---------------------------------------------------------------------------------------------


def compared_settings(
    first: Backtest, second: Backtest, differences: Mapping[str, Any]
) -> list[dict[str, Any]]:
    def texts(row: Backtest) -> dict[str, str]:
        commission, slippage = costs_text(row)
        parameters = parameters_text(row.parameters)
        best = (row.results or {}).get("parameters")
        if row.kind in (BacktestKind.GRID, BacktestKind.RANDOM) and best:
            parameters = f"{parameters_text(best)} (the best found)"
        return {
            "strategy": row.strategy,
            "parameters": parameters,
            "symbols": ", ".join(row.symbols),
            "timeframe": row.timeframe,
            "period": period_text(row),
            "starting_cash": money_text(row.starting_cash),
            "commission": commission,
            "slippage": slippage,
            "kind": KIND_LABELS.get(row.kind, row.kind),
            "code_version": row.code_version or "—",
            "data_hash": row.data_hash or "—",
        }

    labels = {
        "strategy": "Strategy",
        "parameters": "Parameters",
        "symbols": "Symbols",
        "timeframe": "Timeframe",
        "period": "Period",
        "starting_cash": "Starting cash",
        "commission": "Commission",
        "slippage": "Slippage",
        "kind": "Kind",
        "code_version": "Code version",
        "data_hash": "Data hash",
    }
    grouped = {
        "period": ("start", "end"),
        "commission": ("commission_model", "commission_rate"),
        "slippage": ("slippage_model", "slippage_amount"),
    }
    a, b = texts(first), texts(second)
    return [
        {
            "label": label,
            "a": a[name],
            "b": b[name],
            "different": any(key in differences for key in grouped.get(name, (name,))) or a[name] != b[name],
            "mono": name in ("code_version", "data_hash"),
        }
        for name, label in labels.items()
    ]


def compared_metric(item: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the comparison: both values as shown, b - a, and the better side when the values
    differ as shown (a difference in the tenth decimal is no better for anyone)."""
    name = item["name"]
    a, b = metric_text(name, item["a"]), metric_text(name, item["b"])
    return {
        "label": metric_label(name, metrics),
        "a": a,
        "b": b,
        "delta": "" if item["delta"] is None else metric_text(name, item["delta"]),
        "better": reports.better(name, item["a"], item["b"]) if a != b else None,
        "different": a != b,
    }


def run_curve(row: Backtest) -> dict[str, Any] | None:
    return (row.results or {}).get("equity_curve")


COMPARE_HIDDEN = ("periods_per_year", "risk_free_rate", "var_confidence")  # the same for every run


def comparison_context(
    comparison: services.Comparison, catalog: Mapping[str, type[Strategy]]
) -> dict[str, Any]:
    """Two runs side by side: titles, the settings (differences marked), every metric people read (the
    better value marked) and both equity curves."""
    first, second = comparison.first, comparison.second
    return {
        "first": first,
        "second": second,
        "first_title": run_title(first, catalog),
        "second_title": run_title(second, catalog),
        "settings": compared_settings(first, second, comparison.differences),
        "metrics": [
            compared_metric(item, first.results["metrics"])
            for item in comparison.metrics
            if item["name"] in METRIC_FORMATS and item["name"] not in COMPARE_HIDDEN
        ],
        "chart": {
            "a": {"label": "A", "curve": run_curve(first)},
            "b": {"label": "B", "curve": run_curve(second)},
        },
    }
