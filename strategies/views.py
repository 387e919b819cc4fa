"""Strategy pages: the library of strategies, configurations and deployments. Thin: one service call
decides; a DomainError becomes a message next to its field.

Every POST answers by the pages' one protocol (``tradeapp.core.pages``): a plain form gets a message
and a redirect, ``fetch`` gets JSON (``{"message", "url", "deployment" | "config"}`` on success, the
error with its 4xx otherwise), as the trading pages do."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import TradingAccount
from accounts.selectors import account_of, accounts_of, default_account
from strategies import sdk, selectors, services
from strategies.api.serializers import DeploymentSerializer, StrategyConfigSerializer
from strategies.forms import ConfigForm, DeployForm, StopForm, plain_value
from strategies.models import StrategyConfig, StrategyDefinition, StrategyDeployment
from tradeapp.core.errors import DomainError, NotFound
from tradeapp.core.formatting import money, pnl_class, signed_money
from tradeapp.core.pages import done, failed, invalid, safe_next, wants_json

SIGNALS_SHOWN = 50
EVENTS_SHOWN = 30
LOG_LINES_SHOWN = 20


# --- helpers ------------------------------------------------------------------------------------------


def deployment_body(deployment: StrategyDeployment) -> dict[str, Any]:
    """What a fetch answer carries about the deployment it changed: the deployment, the status the
    page shows and its page."""
    return {
        "deployment": DeploymentSerializer(deployment).data,
        "display_status": selectors.display_status(deployment),
        "url": reverse("strategies:deployment_detail", args=[deployment.pk]),
    }


def config_body(config: StrategyConfig) -> dict[str, Any]:
    return {"config": StrategyConfigSerializer(config).data}


def error_status(error: DomainError) -> int:
    """A form's status for a service refusal: an unknown choice is bad input (400), not a missing page."""
    return 400 if isinstance(error, NotFound) else error.status


def parameter_summary(parameters: dict[str, Any]) -> str:
    """``fast 5 · slow 20 · average sma · allow short off``: a configuration's values on one line."""
    return " · ".join(f"{name.replace('_', ' ')} {plain_value(value)}" for name, value in parameters.items())


def parameter_rows(parameters: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A strategy's parameters (``Param.describe()``) as the library's table shows them."""
    rows = []
    for spec in parameters:
        low, high, step = spec["minimum"], spec["maximum"], spec["step"]
        if spec["choices"]:
            limits, step = ", ".join(plain_value(choice) for choice in spec["choices"]), None
        elif spec["type"] == "bool":
            limits, step = "on / off", None
        elif low is not None and high is not None:
            limits = f"{plain_value(low)} \u2013 {plain_value(high)}"
        elif low is not None or high is not None:
            limits = f"\u2265 {plain_value(low)}" if low is not None else f"\u2264 {plain_value(high)}"
        else:
            limits = "any"
        rows.append(
            {
                "name": spec["name"],
                "help": spec["help"],
                "type": "choice" if spec["choices"] else spec["type"],
                "default": plain_value(spec["default"]),
                "range": limits,
                "step": "" if step is None else plain_value(step),
            }
        )
    return rows


def _percent(fraction: float | None, *, signed: bool = False, places: int = 2) -> str:
    if fraction is None:
        return "—"
    return f"{fraction * 100:{'+' if signed and fraction else ''}.{places}f}%"


def _sign(value: float | None) -> str:
    return "" if not value else ("pos" if value > 0 else "neg")


def performance_figures(performance: selectors.DeploymentPerformance) -> list[dict[str, str]]:
    """The detail page's figure cards: label, value as shown, its colour class and a test id."""
    metrics = performance.metrics
    total_return = metrics.total_return if metrics else None
    sharpe = metrics.sharpe if metrics else None
    drawdown = metrics.max_drawdown if metrics else None
    win_rate = metrics.win_rate if metrics else None

    def money_figure(label: str, value: Decimal, testid: str) -> dict[str, str]:
        return {"label": label, "value": signed_money(value), "sign": pnl_class(value), "testid": testid}

    return [
        money_figure("Total P&L", performance.total_pnl, "total-pnl"),
        money_figure("Realized P&L", performance.realized_pnl, "realized-pnl"),
        money_figure("Unrealized P&L", performance.unrealized_pnl, "unrealized-pnl"),
        {
            "label": "Return",
            "value": _percent(total_return, signed=True),
            "sign": _sign(total_return),
            "testid": "return",
        },
        {
            "label": "Sharpe",
            "value": "—" if sharpe is None else f"{sharpe:.2f}",
            "sign": "",
            "testid": "sharpe",
        },
        {
            "label": "Max drawdown",
            "value": _percent(drawdown),
            "sign": "neg" if drawdown else "",
            "testid": "max-drawdown",
        },
        {"label": "Win rate", "value": _percent(win_rate, places=0), "sign": "", "testid": "win-rate"},
        {"label": "Trades", "value": str(performance.trades), "sign": "", "testid": "trades"},
        {
            "label": "Orders",
            "value": f"{performance.orders} ({performance.open_orders} open)",
            "sign": "",
            "testid": "orders",
        },
        {"label": "Commission", "value": money(performance.commission), "sign": "", "testid": "commission"},
    ]


def _specs(definition: StrategyDefinition | None) -> dict[str, sdk.Param[Any]]:
    """The definition's typed parameters (none when its class cannot be loaded: the service says why)."""
    if definition is None:
        return {}
    try:
        return services.strategy_class(definition.path).parameter_specs()
    except DomainError:
        return {}


def _chosen(definitions: list[StrategyDefinition], key: object) -> StrategyDefinition | None:
    """The definition with this key, else the first one (the form's default strategy)."""
    return next((one for one in definitions if one.key == key), definitions[0] if definitions else None)


def _config_context(form: ConfigForm, definition: StrategyDefinition | None, **extra: Any) -> dict[str, Any]:
    card = selectors.strategy_card(definition) if definition is not None else None
    return {"form": form, "definition": definition, "card": card, **extra}


def _library_url() -> str:
    return reverse("strategies:library") + "#configs"


# --- the library --------------------------------------------------------------------------------------


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    services.ensure_builtin_definitions()
    configs = [
        {"config": config, "summary": parameter_summary(config.parameters)}
        for config in selectors.configs_with_deployment_counts(request.user)
    ]
    cards = [{"card": card, "rows": parameter_rows(card.parameters)} for card in selectors.strategy_cards()]
    context = {"cards": cards, "configs": configs}
    return render(request, "strategies/library.html", context)


# --- configurations -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def config_new(request: HttpRequest) -> HttpResponse:
    """GET ``?strategy=<key>``: the form with that strategy's parameters at their defaults (``name``
    kept, for the no-JavaScript strategy switch). POST: create the configuration."""
    services.ensure_builtin_definitions()
    definitions = list(selectors.definitions())
    source = request.POST if request.method == "POST" else request.GET
    definition = _chosen(definitions, source.get("strategy"))
    specs = _specs(definition)
    switch_url = reverse("strategies:parameter_fields")
    if request.method == "GET":
        initial = {"name": source.get("name", ""), "strategy": definition.key if definition else ""}
        form = ConfigForm(definitions=definitions, specs=specs, initial=initial, switch_url=switch_url)
        return render(request, "strategies/config_form.html", _config_context(form, definition))

    form = ConfigForm(request.POST, definitions=definitions, specs=specs, switch_url=switch_url)
    status = 400
    if form.is_valid():
        try:
            config = services.create_config(
                owner=request.user,
                strategy=form.cleaned_data["strategy"],
                name=form.cleaned_data["name"],
                parameters=form.parameters(),
            )
        except DomainError as error:
            form.add_service_error(error)
            status = error_status(error)
        else:
            message = f"Saved {config.name} ({config.definition.name}). Deploy it or backtest it below."
            to = _library_url()
            return done(request, message, to=to, status=201, url=to, **config_body(config))
    if wants_json(request):
        return invalid(form, status=status)
    return render(request, "strategies/config_form.html", _config_context(form, definition), status=status)


@login_required
@require_GET
def parameter_fields(request: HttpRequest) -> HttpResponse:
    """The parameter fields of ``?strategy=<key>`` at their defaults: what the configuration form swaps
    in (htmx) when the strategy changes. An unknown or disabled strategy is a 404."""
    services.ensure_builtin_definitions()
    definition = selectors.definition_by_key(request.GET.get("strategy"))
    form = ConfigForm(definitions=[definition], specs=_specs(definition))
    return render(request, "strategies/includes/parameter_fields.html", _config_context(form, definition))


@login_required
@require_http_methods(["GET", "POST"])
def config_edit(request: HttpRequest, config_id: object) -> HttpResponse:
    config = selectors.config_of(request.user, config_id)
    definition = config.definition
    arguments: dict[str, Any] = {
        "definitions": [definition],
        "specs": _specs(definition),
        "values": config.parameters,
        "editing": True,
        "initial": {"name": config.name, "strategy": definition.key},
    }
    if request.method == "GET":
        form = ConfigForm(**arguments)
        context = _config_context(form, definition, config=config)
        return render(request, "strategies/config_form.html", context)

    form = ConfigForm(request.POST, **arguments)
    status = 400
    if form.is_valid():
        try:
            config = services.update_config(
                owner=request.user,
                config_id=config.pk,
                name=form.cleaned_data["name"],
                parameters=form.parameters(),
            )
        except DomainError as error:
            form.add_service_error(error)
            status = error_status(error)
        else:
            to = _library_url()
            return done(request, f"Saved {config.name}.", to=to, url=to, **config_body(config))
    if wants_json(request):
        return invalid(form, status=status)
    context = _config_context(form, definition, config=config)
    return render(request, "strategies/config_form.html", context, status=status)


@login_required
@require_POST
def config_delete(request: HttpRequest, config_id: object) -> HttpResponse:
    config = selectors.config_of(request.user, config_id)  # another user's: 404
    services.delete_config(owner=request.user, config_id=config.pk)
    message = f"Deleted {config.name}. Deployments made from it keep running with their own copy."
    to = safe_next(request, _library_url())
    return done(request, message, to=to, url=to)


# --- deployments --------------------------------------------------------------------------------------


def _default_account(request: HttpRequest, accounts: list[TradingAccount]) -> TradingAccount | None:
    """The form's first choice: the current account when it is a paper one, else the account
    ``default`` stands for (the oldest paper one), else the first."""
    current = getattr(request, "account", None)
    if current is not None and current.is_paper:
        return current  # type: ignore[no-any-return]
    try:
        return default_account(request.user)  # type: ignore[arg-type]
    except NotFound:
        return accounts[0] if accounts else None


@login_required
@require_http_methods(["GET", "POST"])
def deploy(request: HttpRequest, config_id: object) -> HttpResponse:
    config = selectors.config_of(request.user, config_id)
    accounts = list(accounts_of(request.user))  # type: ignore[arg-type]
    default = _default_account(request, accounts)
    initial = {"account": str(default.pk) if default else "", "name": ""}
    form = DeployForm(request.POST if request.method == "POST" else None, accounts=accounts, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                deployment = services.deploy(
                    owner=request.user,
                    account=account_of(request.user, form.cleaned_data["account"]),  # type: ignore[arg-type]
                    symbols=form.symbol_list(),
                    timeframe=form.cleaned_data["timeframe"],
                    config_id=config.pk,
                    name=form.cleaned_data["name"] or None,
                    warmup_bars=form.cleaned_data["warmup_bars"],
                )
            except DomainError as error:
                form.add_service_error(error)
                status = error_status(error)
            else:
                message = (
                    f"Deployed {deployment.name} on {deployment.account.name}: "
                    f"{', '.join(deployment.symbols)} {deployment.timeframe}. "
                    "It trades from the next closed bar."
                )
                to = reverse("strategies:deployment_detail", args=[deployment.pk])
                return done(request, message, to=to, status=201, **deployment_body(deployment))
        if wants_json(request):
            return invalid(form, status=status)
    context = {"config": config, "summary": parameter_summary(config.parameters), "form": form}
    return render(request, "strategies/deploy.html", context, status=status)


@login_required
@require_GET
def deployments(request: HttpRequest) -> HttpResponse:
    context = {
        "rows": selectors.deployment_summaries(request.user),
        "stop_dialog_form": StopForm(auto_id="stop-dialog-%s"),
    }
    return render(request, "strategies/deployments.html", context)


@login_required
@require_GET
def deployment_detail(request: HttpRequest, deployment_id: object) -> HttpResponse:
    deployment = selectors.deployment_of(request.user, deployment_id)
    performance = selectors.deployment_performance(deployment)
    start = float(deployment.starting_equity)
    curve = [
        {"time": int(moment.timestamp()), "value": round(equity - start, 2)}
        for moment, equity in performance.equity_curve
    ]
    log = list((deployment.state or {}).get("log", []))[-LOG_LINES_SHOWN:]
    context = {
        "deployment": deployment,
        "status": selectors.display_status(deployment),
        "performance": performance,
        "figures": performance_figures(performance),
        "curve": curve,
        "orders": selectors.deployment_orders(deployment),
        "signals": list(selectors.signals_of(request.user, deployment_id=deployment.pk)[:SIGNALS_SHOWN]),
        "events": selectors.recent_events(deployment, EVENTS_SHOWN),
        "log": list(reversed(log)),
        "stop_form": StopForm(auto_id="stop-%s"),
        "stop_dialog_form": StopForm(auto_id="stop-dialog-%s"),
    }
    return render(request, "strategies/deployment_detail.html", context)


def _detail_url(deployment_id: object) -> str:
    return reverse("strategies:deployment_detail", args=[deployment_id])


def _switch(
    request: HttpRequest,
    deployment_id: object,
    change: Callable[..., StrategyDeployment],
    message: Callable[[StrategyDeployment], str],
) -> HttpResponse:
    """Pause or resume: the service decides; a refused change is a message (or a 409 for fetch)."""
    back = safe_next(request, _detail_url(deployment_id))
    try:
        deployment = change(owner=request.user, deployment_id=deployment_id)
    except NotFound:
        raise
    except DomainError as error:
        return failed(request, error, to=back)
    return done(request, message(deployment), to=back, **deployment_body(deployment))


@login_required
@require_POST
def deployment_pause(request: HttpRequest, deployment_id: object) -> HttpResponse:
    return _switch(
        request,
        deployment_id,
        services.pause_deployment,
        lambda deployment: f"Paused {deployment.name}. Its open orders keep working.",
    )


@login_required
@require_POST
def deployment_resume(request: HttpRequest, deployment_id: object) -> HttpResponse:
    return _switch(
        request,
        deployment_id,
        services.resume_deployment,
        lambda deployment: f"Resumed {deployment.name}: it trades from the next closed bar.",
    )


@login_required
@require_POST
def deployment_stop(request: HttpRequest, deployment_id: object) -> HttpResponse:
    back = safe_next(request, _detail_url(deployment_id))
    form = StopForm(request.POST)
    close_positions = form.is_valid() and form.cleaned_data["close_positions"]
    try:
        deployment = services.stop_deployment(
            owner=request.user, deployment_id=deployment_id, close_positions=close_positions
        )
    except NotFound:
        raise
    except DomainError as error:
        return failed(request, error, to=back)
    closed = " and its positions closed at market" if close_positions else ""
    message = f"Stopped {deployment.name} for good: its open orders were canceled{closed}."
    return done(request, message, to=back, **deployment_body(deployment))
