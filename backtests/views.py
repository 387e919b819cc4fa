"""Backtest pages: the runs, the form, a run's results, two runs compared. Thin: the form checks shape,
one service call decides; a DomainError becomes a message next to its field.

Every POST answers by the pages' one protocol (``tradeapp.core.pages``): a plain form gets a message
and a redirect, ``fetch`` gets JSON (``{"message", "backtest", "url"}`` on success, the error with its
4xx otherwise). What a page shows of a run's results is laid out by ``backtests.presentation``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backtests import presentation, selectors, services
from backtests.api.serializers import BacktestSerializer
from backtests.forms import (
    BacktestForm,
    add_backtest_error,
    default_initial,
    initial_from_run,
    parameter_initial,
)
from backtests.models import BacktestStatus
from strategies.sdk import Strategy
from strategies.selectors import config_of
from tradeapp.core import clock
from tradeapp.core.errors import DomainError, NotFound
from tradeapp.core.pages import done, failed, invalid, safe_next, wants_json

LIST_PAGE_SIZE = 25
TRADES_PAGE_SIZE = 50
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


# --- the runs -------------------------------------------------------------------------------------------


@login_required
@require_GET
def backtest_list(request: HttpRequest) -> HttpResponse:
    catalog = selectors.strategy_catalog()
    page = Paginator(selectors.backtests_of(request.user), LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    runs = [
        {
            "row": row,
            "title": presentation.run_title(row, catalog),
            "strategy": presentation.strategy_title(row.strategy, catalog),
            "period": presentation.period_text(row),
            "kind": presentation.KIND_LABELS.get(row.kind, row.kind),
            "figures": presentation.headline_cells(getattr(row, "metrics", None)),
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
            message = f"Backtest queued: {presentation.run_title(row, catalog)}."
            return done(request, message, to=url, status=201, backtest=BacktestSerializer(row).data, url=url)
    if wants_json(request):
        return invalid(form, status=status, default="Check the backtest's settings.")
    return render(request, "backtests/new.html", _form_context(form, catalog), status=status)


# --- one run --------------------------------------------------------------------------------------------


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
            {"heatmap": presentation.heatmap_context(request.GET, optimisation), "row": row},
        )
    trades = row.trades or []
    trades_page = Paginator(trades, TRADES_PAGE_SIZE).get_page(request.GET.get("trades_page"))
    walk = results.get("walk_forward")
    objective = str((row.kind_settings or {}).get("objective", ""))
    context = {
        "row": row,
        "title": presentation.run_title(row, catalog),
        "strategy": presentation.strategy_title(row.strategy, catalog),
        "kind": presentation.KIND_LABELS.get(row.kind, row.kind),
        "period": presentation.period_text(row),
        "settings": presentation.settings_rows(row, catalog),
        "provenance": presentation.provenance_rows(row),
        "results": results,
        "cards": presentation.metric_cards(results.get("metrics")),
        "best_parameters": presentation.parameters_text(results.get("parameters")) if optimisation else "",
        "optimisation": presentation.optimisation_context(request.GET, optimisation)
        if optimisation
        else None,
        "walk_forward": (
            presentation.walk_forward_context(walk, objective, presentation.searched_parameters(row))
            if walk
            else None
        ),
        "monte_carlo": presentation.monte_carlo_context(results["monte_carlo"])
        if results.get("monte_carlo")
        else None,
        "trades_page": trades_page,
        "trade_rows": presentation.trade_rows(trades_page.object_list, trades_page.start_index()),
        "trades_info": results.get("trades") or {},
        "open_trades": results.get("open_trades") or [],
        "chart": presentation.chart_data(row, results, trades),
        "chart_trades_capped": len(trades) > presentation.CHART_TRADES,
        "chart_trades_limit": presentation.CHART_TRADES,
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
        return failed(request, error, to=back)
    return done(request, "Backtest canceled.", to=back, backtest=BacktestSerializer(row).data)


# --- two runs -------------------------------------------------------------------------------------------


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
    context = presentation.comparison_context(comparison, selectors.strategy_catalog())
    return render(request, "backtests/compare.html", context)
