"""Strategy use cases: definitions (built-ins on demand, user modules by import path), configurations
checked against the strategy's parameter schema, deployments on owned paper accounts, the deployment
state machine, stop cancelling the deployment's orders, and its own P&L and metrics."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import AccountKind
from accounts.tests.factories import TradingAccountFactory
from marketdata.hooks import BarClosed
from marketdata.services import upsert_bars
from orders.models import Order
from strategies import selectors, services
from strategies.builtins import BUILTINS
from strategies.models import DeploymentEvent, StrategyDefinition
from strategies.tests.conftest import START, hour_bar
from tradeapp.core.clock import frozen_clock
from tradeapp.core.errors import Conflict, DomainError, NotFound

pytestmark = pytest.mark.django_db


def test_the_built_in_strategies_are_registered_on_demand_once(db):
    created = services.ensure_builtin_definitions()
    again = services.ensure_builtin_definitions()

    assert (created, again) == (len(BUILTINS), 0)
    crossover = StrategyDefinition.objects.get(key="moving_average_crossover")
    assert (crossover.path, crossover.builtin, crossover.enabled) == (
        "strategies.builtins.moving_average_crossover:MovingAverageCrossover",
        True,
        True,
    )


def test_a_user_module_is_registered_by_its_import_path(db):
    definition = services.register_definition(
        key="buy_every_bar", path="strategies.tests.sample_strategies:BuyEveryBar"
    )

    assert (definition.name, definition.builtin) == ("Buy every bar", False)
    assert selectors.definition_by_key("buy_every_bar") == definition


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("strategies.tests.sample_strategies:NotAStrategy", "unknown_strategy"),
        ("strategies.tests.no_such_module:Thing", "unknown_strategy"),
        ("no colon here", "unknown_strategy"),
    ],
)
def test_a_path_that_is_not_a_strategy_is_refused(db, path, code):
    with pytest.raises(DomainError) as error:
        services.register_definition(key="bad", path=path)

    assert (error.value.code, error.value.field) == (code, "path")


def test_a_configuration_stores_every_parameter_checked_by_the_strategy(user):
    config = services.create_config(
        owner=user, strategy="moving_average_crossover", name="Fast", parameters={"fast": "5", "slow": 12}
    )

    assert config.parameters == {
        "fast": 5,
        "slow": 12,
        "average": "sma",
        "allow_short": False,
        "allocation_percent": 100.0,
    }


@pytest.mark.parametrize(
    ("parameters", "code", "field"),
    [
        ({"fast": 30, "slow": 20}, "invalid_parameter", "parameters.fast"),
        ({"slow": 1000}, "parameter_out_of_range", "parameters.slow"),
        ({"speed": 3}, "unknown_parameter", "parameters.speed"),
        ({"average": "wma"}, "invalid_parameter", "parameters.average"),
    ],
)
def test_parameters_outside_the_schema_are_refused_naming_the_field(user, parameters, code, field):
    with pytest.raises(DomainError) as error:
        services.create_config(
            owner=user, strategy="moving_average_crossover", name="Bad", parameters=parameters
        )

    assert (error.value.code, error.value.field) == (code, field)


def test_configuration_names_are_unique_per_owner_and_unknown_strategies_refused(user, other_user):
    services.create_config(owner=user, strategy="momentum", name="Mine")
    services.create_config(owner=other_user, strategy="momentum", name="Mine")

    with pytest.raises(DomainError) as duplicate:
        services.create_config(owner=user, strategy="momentum", name="Mine")
    with pytest.raises(NotFound) as unknown:
        services.create_config(owner=user, strategy="astrology", name="Stars")

    assert (duplicate.value.code, duplicate.value.field) == ("duplicate_name", "name")
    assert unknown.value.field == "strategy"


def test_updating_a_configuration_merges_parameters_and_leaves_deployments_alone(account, btc):
    config = services.create_config(
        owner=account.owner, strategy="moving_average_crossover", name="Cross", parameters={"fast": 5}
    )
    with frozen_clock(START):
        deployment = services.deploy(
            owner=account.owner, account=account, symbols=["BTC/USD"], timeframe="1h", config_id=config.pk
        )

    updated = services.update_config(owner=account.owner, config_id=config.pk, parameters={"slow": 50})

    assert (updated.parameters["fast"], updated.parameters["slow"]) == (5, 50)
    deployment.refresh_from_db()
    assert (deployment.parameters["fast"], deployment.parameters["slow"]) == (5, 20)
    assert deployment.name == "Cross"


def test_a_deployment_needs_an_owned_paper_account_and_known_symbols(account, other_user, btc):
    live = TradingAccountFactory(owner=account.owner, name="Live", kind=AccountKind.LIVE)
    foreign = other_user.trading_accounts.get()

    def deploy(target, **overrides):
        arguments = {"symbols": ["BTC/USD"], "timeframe": "1h", "strategy": "moving_average_crossover"}
        return services.deploy(owner=account.owner, account=target, **{**arguments, **overrides})

    with pytest.raises(NotFound) as not_mine:
        deploy(foreign)
    with pytest.raises(DomainError) as not_paper:
        deploy(live)
    with pytest.raises(DomainError) as unknown_symbol:
        deploy(account, symbols=["NOPE"])
    with pytest.raises(DomainError) as twice:
        deploy(account, symbols=["BTC/USD", "btc-usd"])
    with pytest.raises(DomainError) as timeframe:
        deploy(account, timeframe="3m")

    assert not_mine.value.field == "account_id"
    assert (not_paper.value.code, not_paper.value.field) == ("not_paper_account", "account_id")
    assert (unknown_symbol.value.code, unknown_symbol.value.field) == ("unknown_symbol", "symbols")
    assert twice.value.code == "duplicate_symbol"
    assert timeframe.value.field == "timeframe"


def test_a_deployment_anchors_its_history_and_skips_bars_already_closed(account, btc):
    upsert_bars(instrument=btc, bars=[hour_bar("BTC/USD", index, "100.00") for index in range(10)])
    with frozen_clock(START + timedelta(hours=10)):
        deployment = services.deploy(
            owner=account.owner,
            account=account,
            symbols=["btc-usd"],
            timeframe="1h",
            strategy="moving_average_crossover",
            warmup_bars=4,
        )

    assert deployment.symbols == ["BTC/USD"]
    assert deployment.history_start == START + timedelta(hours=6)
    assert deployment.last_bar_times == {"BTC/USD": (START + timedelta(hours=9)).isoformat()}
    assert deployment.starting_equity == Decimal("100000.00")
    assert deployment.status == "running"
    assert DeploymentEvent.objects.get(deployment=deployment).code == "start"


def test_the_deployment_state_machine(account, btc):
    with frozen_clock(START):
        deployment = services.deploy(
            owner=account.owner, account=account, symbols=["BTC/USD"], timeframe="1h", strategy="momentum"
        )
        owner = account.owner

        paused = services.pause_deployment(owner=owner, deployment_id=deployment.pk)
        with pytest.raises(Conflict) as twice:
            services.pause_deployment(owner=owner, deployment_id=deployment.pk)
        resumed = services.resume_deployment(owner=owner, deployment_id=deployment.pk)
        stopped = services.stop_deployment(owner=owner, deployment_id=deployment.pk)
        with pytest.raises(Conflict) as after_stop:
            services.resume_deployment(owner=owner, deployment_id=deployment.pk)

    assert (paused.status, resumed.status, stopped.status) == ("paused", "running", "stopped")
    assert stopped.stopped_at == START
    assert (twice.value.code, after_stop.value.code) == ("invalid_transition", "invalid_transition")
    assert [e.code for e in DeploymentEvent.objects.filter(deployment=deployment).order_by("id")] == [
        "start",
        "pause",
        "resume",
        "stop",
    ]


def test_another_users_deployment_is_not_found(account, other_user, btc):
    with frozen_clock(START):
        deployment = services.deploy(
            owner=account.owner, account=account, symbols=["BTC/USD"], timeframe="1h", strategy="momentum"
        )

    with pytest.raises(NotFound):
        services.pause_deployment(owner=other_user, deployment_id=deployment.pk)
    with pytest.raises(NotFound):
        services.stop_deployment(owner=other_user, deployment_id=deployment.pk)


def tick_bars(deployment, instrument, prices, set_price, clock):
    for index, price in enumerate(prices):
        clock.set(START + timedelta(hours=index + 1))
        bar = hour_bar(instrument.symbol, index, price)
        upsert_bars(instrument=instrument, bars=[bar])
        set_price(instrument.symbol, price, bar.close_time)
        services.tick_deployment(deployment_id=deployment.pk, bar_key=BarClosed(instrument.pk, bar).key)


def test_stop_cancels_the_deployments_open_orders_and_can_flatten_its_position(account, btc, set_price):
    services.register_definition(key="resting", path="strategies.tests.sample_strategies:RestingThenCancel")
    services.register_definition(key="every", path="strategies.tests.sample_strategies:BuyEveryBar")
    manual = None
    with frozen_clock(START) as clock:
        resting = services.deploy(
            owner=account.owner, account=account, symbols=["BTC/USD"], timeframe="1h", strategy="resting"
        )
        buying = services.deploy(
            owner=account.owner, account=account, symbols=["BTC/USD"], timeframe="1h", strategy="every"
        )
        tick_bars(resting, btc, ["20000.00"], set_price, clock)
        services.tick_deployment(
            deployment_id=buying.pk, bar_key=BarClosed(btc.pk, hour_bar("BTC/USD", 0, "20000.00")).key
        )
        from orders.tests.factories import place

        manual = place(account, order_type="limit", quantity="0.01", limit_price="15000.00")

        services.stop_deployment(owner=account.owner, deployment_id=resting.pk)
        services.stop_deployment(owner=account.owner, deployment_id=buying.pk, close_positions=True)

    assert Order.objects.get(deployment_id=resting.pk).status == "canceled"
    manual.refresh_from_db()
    assert manual.status == "accepted"  # not the deployment's: untouched
    closing = Order.objects.filter(deployment_id=buying.pk).order_by("created_at")
    assert [(o.side, o.quantity, o.status) for o in closing] == [
        ("buy", Decimal("0.01"), "filled"),
        ("sell", Decimal("0.01"), "filled"),
    ]
    assert selectors.deployment_positions(buying.pk)["BTC/USD"].quantity == 0


def test_a_deployments_own_pnl_and_metrics(account, btc, set_price):
    services.register_definition(key="every", path="strategies.tests.sample_strategies:BuyEveryBar")
    with frozen_clock(START) as clock:
        deployment = services.deploy(
            owner=account.owner,
            account=account,
            symbols=["BTC/USD"],
            timeframe="1h",
            strategy="every",
            parameters={"quantity": "1"},
        )
        tick_bars(deployment, btc, ["100.00", "110.00", "120.00", "130.00"], set_price, clock)
        deployment.refresh_from_db()

        performance = selectors.deployment_performance(deployment)

    # one unit bought after each bar at its close (the quote then): 100, 110, 120, 130; marked at 130
    assert (performance.orders, performance.fills, performance.open_orders) == (4, 4, 0)
    assert performance.realized_pnl == 0
    assert performance.unrealized_pnl == Decimal(60)
    [position] = performance.positions
    assert (position.quantity, position.average_cost) == (Decimal(4), Decimal(115))
    assert performance.metrics is not None
    assert performance.metrics.periods == 3
    assert performance.metrics.end_equity == pytest.approx(100_060.0)
    # three returns of a few hours: no annualised ratios yet (portfolio.analytics.reliable)
    assert (performance.metrics.sharpe, performance.metrics.annualized_return) == (None, None)


def test_admins_register_a_user_written_strategy_in_the_admin(admin_client):
    url = "/admin/strategies/strategydefinition/add/"
    form = {"key": "every", "name": "Every bar", "description": "", "enabled": "on"}

    refused = admin_client.post(url, {**form, "path": "strategies.tests.sample_strategies:NotAStrategy"})
    saved = admin_client.post(url, {**form, "path": "strategies.tests.sample_strategies:BuyEveryBar"})
    listed = admin_client.get("/admin/strategies/strategydefinition/")

    assert refused.status_code == 200
    assert "is not a Strategy subclass" in refused.content.decode()
    assert saved.status_code == 302
    assert StrategyDefinition.objects.get(key="every").name == "Every bar"
    assert "moving_average_crossover" in listed.content.decode()  # built-ins appear on demand
