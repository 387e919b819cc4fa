"""Backtest pages: the runs, the form, a run's results, two runs compared. Thin: the form checks shape,
one service call decides; a DomainError becomes a message next to its field.

Every POST works as a plain HTML form (redirect with a message). The same URL answers JSON to
``fetch`` (``Accept: application/json``): ``{"message", "backtest", "url"}`` on success, ``{"message",
"code", "errors": {field: [..]}}`` with a 4xx otherwise. What a page shows of a run's results is laid
out here (labels, formats, table rows); what the numbers mean comes from ``backtests.reports``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backtests import reports, selectors, services
from backtests.api.serializers import BacktestSerializer
from backtests.forms import (
    COMMISSION_CHOICES,
    KIND_CHOICES,
    OBJECTIVE_LABELS,
    SLIPPAGE_CHOICES,
    BacktestForm,
    add_backtest_error,
    default_initial,
    initial_from_run,
    parameter_initial,
)
from backtests.models import Backtest, BacktestKind, BacktestStatus
from portfolio.metric_format import METRIC_FORMATS, metric_class, metric_label, metric_text
from strategies.sdk import Strategy
from strategies.selectors import config_of
from tradeapp.core import clock
from tradeapp.core.errors import DomainError, NotFound
from tradeapp.core.pages import invalid_form, safe_next, wants_json

LIST_PAGE_SIZE = 25
TRADES_PAGE_SIZE = 50
CHART_TRADES = 1000  # trades drawn as markers on the price chart (the table has them all)
OPTIMISATION_ROWS = 20  # rows of a search shown before "show all"
SEARCH_FIGURES = (("total_return", "Return"), ("sharpe", "Sharpe"), ("max_drawdown", "Max DD"))
HISTOGRAM_HEIGHT = 100  # the SVG histograms' drawing height (viewBox units)
KIND_LABELS = dict(KIND_CHOICES)
COMMISSION_LABELS = dict(COMMISSION_CHOICES)
SLIPPAGE_LABELS = dict(SLIPPAGE_CHOICES)
# form fields a query (or the strategy switch without JavaScript) may fill in
PREFILL_FIELDS = (
    "name",
    "strategy",
    "symbols",
    "timeframe",
    "start",
    "end",
    "starting_cash",
    "commission_model",
    "commission_rate",
    "commission_minimum",
    "slippage_model",
    "slippage_amount",
    "warmup_bars",
    "kind",
)


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


# --- helpers ------------------------------------------------------------------------------------------


# --- the runs -------------------------------------------------------------------------------------------


@login_required
@require_GET
def backtest_list(request: HttpRequest) -> HttpResponse:
    catalog = selectors.strategy_catalog()
    page = Paginator(selectors.backtests_of(request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    runs = [
        {
            "row": row,
            "title": run_title(row, catalog),
            "strategy": strategy_title(row.strategy, catalog),
            "period": period_text(row),
            "kind": KIND_LABELS.get(row.kind, row.kind),
            "figures": headline_cells(getattr(row, "metrics", None)),
            "comparable": row.status == BacktestStatus.COMPLETED and bool(getattr(row, "metrics", None)),
        }
        for row in page.object_list
    ]
    return render(request, "backtests/list.html", {"page": page, "runs": runs})


# --- the form -------------------------------------------------------------------------------------------


def _strategy_entry(catalog: Mapping[str, type[Strategy]], key: str) -> dict[str, str] | None:
    """The strategy's title, one-line summary and the rest of its description (its docstring)."""
    klass = catalog.get(key)
    if klass is None:
        return None
    return {
        "title": klass.title or klass.__name__,
        "summary": str(klass.schema()["summary"]),
        "details": inspect.cleandoc(klass.__doc__ or "").partition("\n")[2].strip(),
    }


def _form_context(form: BacktestForm, catalog: Mapping[str, type[Strategy]]) -> dict[str, Any]:
    # htmx: a new strategy fetches this page for it and swaps in its description, parameters and values
    # to try (without JavaScript, the form's "Show this strategy's parameters" button does the same)
    form.fields["strategy"].widget.attrs.update(
        {
            "hx-get": reverse("backtests:new"),
            "hx-trigger": "change",
            "hx-target": "#strategy-parts",
            "hx-select": "#strategy-parts",
            "hx-select-oob": "#space-parts",
            "hx-swap": "outerHTML",
            "hx-sync": "this:replace",
        }
    )
    return {
        "form": form,
        "strategy_entry": _strategy_entry(catalog, form.strategy_key),
        "data_fields": form.fields_named("timeframe", "start", "end", "warmup_bars"),
        "cash_fields": form.fields_named("starting_cash"),
    }


def _initial(request: HttpRequest, catalog: Mapping[str, type[Strategy]]) -> dict[str, Any]:
    """The form's first values: defaults, then ``?config=`` (a strategy configuration of yours) or
    ``?from=`` (a run of yours to run again), then any field given in the query. 404 for anyone else's."""
    initial = default_initial(clock.now().date())
    if request.GET.get("config"):
        config = config_of(request.user, request.GET["config"])
        initial.update(
            strategy=config.definition.key, name=config.name, **parameter_initial(config.parameters)
        )
    if request.GET.get("from"):
        initial.update(
            initial_from_run(selectors.backtest_of(request.user, request.GET["from"], field="from"))
        )
    initial.update({name: request.GET[name] for name in PREFILL_FIELDS if request.GET.get(name)})
    if not initial.get("strategy") and catalog:
        initial["strategy"] = next(iter(catalog))
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def new_backtest(request: HttpRequest) -> HttpResponse:
    """GET: the form (prefilled by ``?config=`` or ``?from=``; ``?strategy=`` switches the strategy,
    which is how the page re-renders the parameter fields). POST: create the run, then its page; with
    ``action=strategy`` (the switch without JavaScript) only the form for the chosen strategy."""
    catalog = selectors.strategy_catalog()
    if request.method == "GET":
        initial = _initial(request, catalog)
        form = BacktestForm(initial=initial, catalog=catalog, strategy_key=str(initial.get("strategy", "")))
        return render(request, "backtests/new.html", _form_context(form, catalog))

    if request.POST.get("action") == "strategy":  # the strategy switch without JavaScript: just re-render
        initial = default_initial(clock.now().date())
        initial.update({name: request.POST[name] for name in PREFILL_FIELDS if request.POST.get(name)})
        form = BacktestForm(initial=initial, catalog=catalog, strategy_key=request.POST.get("strategy", ""))
        return render(request, "backtests/new.html", _form_context(form, catalog))
    form = BacktestForm(request.POST, catalog=catalog, strategy_key=request.POST.get("strategy", ""))
    status = 400
    if form.is_valid():
        try:
            row = services.create_backtest(owner=request.user, request=form.to_request())
        except DomainError as error:
            add_backtest_error(form, error)
            status = error.status
        else:
            url = reverse("backtests:detail", args=[row.pk])
            message = f"Backtest queued: {run_title(row, catalog)}."
            if wants_json(request):
                return JsonResponse(
                    {"message": message, "backtest": BacktestSerializer(row).data, "url": url}, status=201
                )
            messages.success(request, message)
            return redirect(url)
    if wants_json(request):
        return invalid_form(form, status=status, default="Check the backtest's settings.")
    return render(request, "backtests/new.html", _form_context(form, catalog), status=status)


# --- one run --------------------------------------------------------------------------------------------


def _trade_rows(trades: Sequence[Mapping[str, Any]], first_number: int) -> list[dict[str, Any]]:
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


def _chart_trades(trades: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keys = ("symbol", "direction", "quantity", "entry_time", "exit_time", "entry_price", "exit_price", "pnl")
    return [{key: trade[key] for key in keys} for trade in trades[:CHART_TRADES]]


def heatmap_context(request: HttpRequest, optimisation: Mapping[str, Any]) -> dict[str, Any] | None:
    """The heatmap of a search over the axes chosen by ``?x=&y=`` (default: the two parameters that
    vary most), with the best objective over the other parameters."""
    rows = list(optimisation.get("rows") or [])
    varying = reports.varying_parameters(rows)
    if len(varying) < 2:
        return None
    x = request.GET.get("x") if request.GET.get("x") in varying else varying[0]
    y = (
        request.GET.get("y")
        if request.GET.get("y") in varying
        else next(name for name in varying if name != x)
    )
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


def optimisation_context(request: HttpRequest, optimisation: Mapping[str, Any]) -> dict[str, Any]:
    rows = list(optimisation.get("rows") or [])
    varying = reports.varying_parameters(rows)
    objective = str(optimisation.get("objective", ""))
    show_all = request.GET.get("rows") == "all"
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
        "heatmap": heatmap_context(request, optimisation),
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
        "trades": _chart_trades(trades),
        "trades_total": len(trades),
    }


@login_required
@require_GET
def backtest_detail(request: HttpRequest, backtest_id: str) -> HttpResponse:
    row = selectors.backtest_of(request.user, backtest_id, trades=True)
    catalog = selectors.strategy_catalog()
    results = (row.results or {}) if row.status == BacktestStatus.COMPLETED else {}
    optimisation = results.get("optimisation")
    if request.headers.get("HX-Target") == "heatmap-grid" and optimisation:
        return render(
            request,
            "backtests/includes/heatmap.html",
            {"heatmap": heatmap_context(request, optimisation), "row": row},
        )
    trades = row.trades or []
    trades_page = Paginator(trades, TRADES_PAGE_SIZE).get_page(request.GET.get("trades_page"))
    walk = results.get("walk_forward")
    objective = str((row.kind_settings or {}).get("objective", ""))
    context = {
        "row": row,
        "title": run_title(row, catalog),
        "strategy": strategy_title(row.strategy, catalog),
        "kind": KIND_LABELS.get(row.kind, row.kind),
        "period": period_text(row),
        "settings": settings_rows(row, catalog),
        "provenance": provenance_rows(row),
        "results": results,
        "cards": metric_cards(results.get("metrics")),
        "best_parameters": parameters_text(results.get("parameters")) if optimisation else "",
        "optimisation": optimisation_context(request, optimisation) if optimisation else None,
        "walk_forward": walk_forward_context(walk, objective, searched_parameters(row)) if walk else None,
        "monte_carlo": monte_carlo_context(results["monte_carlo"]) if results.get("monte_carlo") else None,
        "trades_page": trades_page,
        "trade_rows": _trade_rows(trades_page.object_list, trades_page.start_index()),
        "trades_info": results.get("trades") or {},
        "open_trades": results.get("open_trades") or [],
        "chart": chart_data(row, results, trades),
        "chart_trades_capped": len(trades) > CHART_TRADES,
        "chart_trades_limit": CHART_TRADES,
        "csv_url": reverse("api:backtest-trades", args=[row.pk]) + "?export=csv",
    }
    return render(request, "backtests/detail.html", context)


@login_required
@require_POST
def cancel_backtest(request: HttpRequest, backtest_id: str) -> HttpResponse:
    back = safe_next(request, reverse("backtests:detail", args=[backtest_id]))
    try:
        row = services.cancel_backtest(owner=request.user, backtest_id=backtest_id)
    except NotFound:
        raise
    except DomainError as error:
        if wants_json(request):
            return JsonResponse(error.as_dict(), status=error.status)
        messages.error(request, error.message)
        return redirect(back)
    message = "Backtest canceled."
    if wants_json(request):
        return JsonResponse({"message": message, "backtest": BacktestSerializer(row).data})
    messages.success(request, message)
    return redirect(back)


# --- two runs -------------------------------------------------------------------------------------------


def _compared_settings(
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


def _curve(row: Backtest) -> dict[str, Any] | None:
    return (row.results or {}).get("equity_curve")


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """``?a=&b=``: two completed runs side by side. The list's checkboxes send ``?run=&run=``."""
    chosen = request.GET.getlist("run")
    if not (request.GET.get("a") and request.GET.get("b")):
        if len(chosen) == 2:
            return redirect(f"{reverse('backtests:compare')}?a={chosen[0]}&b={chosen[1]}")
        messages.error(request, "Select two completed runs to compare.")
        return redirect("backtests:list")
    try:
        comparison = services.compare_backtests(
            owner=request.user, first_id=request.GET["a"], second_id=request.GET["b"]
        )
    except NotFound:
        raise
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("backtests:list")
    catalog = selectors.strategy_catalog()
    first, second = comparison.first, comparison.second
    hidden = ("periods_per_year", "risk_free_rate", "var_confidence")
    metrics = [
        compared_metric(item, first.results["metrics"])
        for item in comparison.metrics
        if item["name"] in METRIC_FORMATS and item["name"] not in hidden
    ]
    context = {
        "first": first,
        "second": second,
        "first_title": run_title(first, catalog),
        "second_title": run_title(second, catalog),
        "settings": _compared_settings(first, second, comparison.differences),
        "metrics": metrics,
        "chart": {
            "a": {"label": "A", "curve": _curve(first)},
            "b": {"label": "B", "curve": _curve(second)},
        },
    }
    return render(request, "backtests/compare.html", context)
