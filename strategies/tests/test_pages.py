"""Strategy pages through the Django test client: the library, the configuration form built from the
strategy's typed parameters (service errors next to their field, input kept), deploying on a paper
account (a live one refused), the deployments list and one deployment with its P&L, signals, orders
and events, pause / resume / stop; another user's configuration or deployment is a 404. Each POST
works as a plain form (redirect with a message) and answers JSON to fetch. Also the read paths these
pages added (strategy cards, display status, the list's P&L, the equity curve)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import AccountKind
from accounts.tests.factories import TradingAccountFactory
from marketdata.hooks import BarClosed
from marketdata.services import upsert_bars
from orders.models import Order
from strategies import selectors, services
from strategies.models import StrategyConfig, StrategyDefinition, StrategyDeployment
from strategies.sdk import Context, Param, Strategy
from strategies.tests.conftest import START, hour_bar
from tradeapp.core.clock import frozen_clock
from tradeapp.core.errors import DomainError

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}
CROSSOVER = "moving_average_crossover"
EVERY_BAR = "strategies.tests.sample_strategies:BuyEveryBar"


class OneSymbolOnly(Strategy):
    """Trades ``ctx.symbol`` alone.

    Written for one symbol: it declares so, and deployments on several are refused."""

    multi_symbol = False
    size = Param(1, 1, 5, help="Units per trade.")

    def on_bar(self, ctx: Context) -> None:
        ctx.signal("hold", 0.5)


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def crossover_form(**fields: str) -> dict[str, str]:
    data = {
        "name": "Fast cross",
        "strategy": CROSSOVER,
        "param_fast": "5",
        "param_slow": "20",
        "param_average": "ema",
        "param_allocation_percent": "50",
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def field_error(html: str, field: str) -> str:
    """The text of the error list rendered next to form field ``field`` (empty when none)."""
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


def make_config(owner, name="Cross", **parameters):
    return services.create_config(owner=owner, strategy=CROSSOVER, name=name, parameters=parameters)


def deploy(account, **options):
    arguments = {"symbols": ["BTC/USD"], "timeframe": "1h", "strategy": CROSSOVER}
    with frozen_clock(START):
        return services.deploy(owner=account.owner, account=account, **{**arguments, **options})


def tick_bars(deployment, instrument, prices, set_price):
    """Close one hourly bar per price, quote it, tick the deployment on it."""
    with frozen_clock(START) as clock:
        for index, price in enumerate(prices):
            clock.set(START + timedelta(hours=index + 1))
            bar = hour_bar(instrument.symbol, index, price)
            upsert_bars(instrument=instrument, bars=[bar])
            set_price(instrument.symbol, price, bar.close_time)
            services.tick_deployment(deployment_id=deployment.pk, bar_key=BarClosed(instrument.pk, bar).key)
    deployment.refresh_from_db()
    return deployment


@pytest.fixture
def buying(account, btc, set_price):
    """A user-written strategy deployed and ticked over four bars: four buys, signals, a P&L."""
    services.register_definition(key="every", path=EVERY_BAR)
    deployment = deploy(account, strategy="every", parameters={"quantity": "1"})
    return tick_bars(deployment, btc, ["100.00", "110.00", "120.00", "130.00"], set_price)


# --- every page -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/strategies/",
        "/strategies/configs/new/",
        "/strategies/configs/parameters/?strategy=momentum",
        "/strategies/deployments/",
    ],
)
def test_pages_need_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_every_page_renders(signed_in, account, btc):
    config = make_config(account.owner)
    deployment = deploy(account, config_id=config.pk)
    pages = [
        reverse("strategies:library"),
        reverse("strategies:config_new"),
        reverse("strategies:config_new") + "?strategy=donchian_breakout",
        reverse("strategies:parameter_fields") + "?strategy=bollinger_mean_reversion",
        reverse("strategies:config_edit", args=[config.pk]),
        reverse("strategies:deploy", args=[config.pk]),
        reverse("strategies:deployments"),
        reverse("strategies:deployment_detail", args=[deployment.pk]),
    ]

    statuses = [signed_in.get(page).status_code for page in pages]

    assert statuses == [200] * len(pages)


def test_another_users_configuration_and_deployment_are_not_found(signed_in, other_user, btc):
    theirs = other_user.trading_accounts.get()
    config = make_config(other_user)
    deployment = deploy(theirs, config_id=config.pk)
    gets = [
        reverse("strategies:config_edit", args=[config.pk]),
        reverse("strategies:deploy", args=[config.pk]),
        reverse("strategies:deployment_detail", args=[deployment.pk]),
    ]
    posts = [
        reverse("strategies:config_edit", args=[config.pk]),
        reverse("strategies:config_delete", args=[config.pk]),
        reverse("strategies:deploy", args=[config.pk]),
        reverse("strategies:pause", args=[deployment.pk]),
        reverse("strategies:resume", args=[deployment.pk]),
        reverse("strategies:stop", args=[deployment.pk]),
    ]

    statuses = [signed_in.get(url).status_code for url in gets]
    statuses += [signed_in.post(url, {"name": "Mine", "symbols": "BTC/USD"}).status_code for url in posts]

    assert statuses == [404] * (len(gets) + len(posts))
    assert StrategyConfig.objects.filter(pk=config.pk).exists()
    deployment.refresh_from_db()
    assert deployment.status == "running"


# --- the library ----------------------------------------------------------------------------------


def test_the_library_shows_every_enabled_strategy_with_its_parameters(signed_in, user, other_user):
    services.register_definition(key="every", path=EVERY_BAR)
    services.register_definition(key="one_symbol", path="strategies.tests.test_pages:OneSymbolOnly")
    services.ensure_builtin_definitions()
    StrategyDefinition.objects.filter(key="momentum").update(enabled=False)

    html = signed_in.get(reverse("strategies:library")).content.decode()

    cards = dict(re.findall(r'data-strategy-card="(\w+)">(.*?)</article>', html, re.S))
    assert sorted(cards) == [
        "bollinger_mean_reversion",
        "donchian_breakout",
        "every",
        CROSSOVER,
        "one_symbol",
    ]
    crossover = cards[CROSSOVER]
    assert "Built-in" in crossover
    assert "Multi-symbol" in crossover
    assert "Buy when the fast average crosses above the slow one" in crossover
    assert '<span class="param-name mono">fast</span>' in crossover
    assert "Fast moving-average window, in bars." in crossover
    assert "1 \u2013 200" in crossover
    assert "sma, ema" in crossover
    assert f'href="/strategies/configs/new/?strategy={CROSSOVER}"' in crossover
    assert "Custom" in cards["every"]
    assert "One symbol" in cards["one_symbol"]
    assert "Multi-symbol" not in cards["one_symbol"]


def test_the_library_links_each_strategy_and_configuration_to_the_backtest_form(signed_in, user):
    config = make_config(user)
    backtest = reverse("backtests:new")

    html = signed_in.get(reverse("strategies:library")).content.decode()

    assert f'href="{backtest}?strategy={CROSSOVER}"' in html
    assert f'href="{backtest}?config={config.pk}"' in html


def test_my_configurations_are_listed_with_their_parameters_and_deployments(
    signed_in, account, other_user, btc
):
    mine = make_config(account.owner, name="Cross 5/12", fast=5, slow=12)
    deploy(account, config_id=mine.pk)
    make_config(other_user, name="Not mine")

    html = signed_in.get(reverse("strategies:library")).content.decode()

    row = re.search(rf'<tr data-config-id="{mine.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "Cross 5/12" in row
    assert "Moving-average crossover" in row
    assert "fast 5 · slow 12 · average sma · allow short off · allocation percent 100" in row
    assert re.search(r'data-label="Deployments" class="num"><a [^>]*>1</a>', row)
    assert reverse("strategies:deploy", args=[mine.pk]) in row
    assert reverse("strategies:config_edit", args=[mine.pk]) in row
    assert "Not mine" not in html


# --- configurations -------------------------------------------------------------------------------


def test_the_form_has_one_field_per_typed_parameter_at_its_default(signed_in):
    html = signed_in.get(reverse("strategies:config_new") + f"?strategy={CROSSOVER}").content.decode()

    assert re.search(r'<input type="number" name="param_fast" value="10"[^>]*min="1"[^>]*max="200"', html)
    assert re.search(r'<input type="number" name="param_allocation_percent" value="100"[^>]*step="1"', html)
    assert re.search(r'<select name="param_average"[^>]*>\s*<option value="sma" selected>', html)
    assert re.search(r'<input type="checkbox" name="param_allow_short"', html)
    assert "Fast moving-average window, in bars. (1 to 200; default 10)" in html
    assert f'hx-get="{reverse("strategies:parameter_fields")}"' in html


def test_creating_a_configuration_saves_the_checked_parameters(signed_in, user):
    response = signed_in.post(reverse("strategies:config_new"), crossover_form(param_allow_short="on"))

    assert response.status_code == 302
    assert response["Location"] == reverse("strategies:library") + "#configs"
    config = StrategyConfig.objects.get(owner=user)
    assert (config.name, config.definition.key) == ("Fast cross", CROSSOVER)
    assert config.parameters == {
        "fast": 5,
        "slow": 20,
        "average": "ema",
        "allow_short": True,
        "allocation_percent": 50.0,
    }
    page = signed_in.get(response["Location"]).content.decode()
    assert "Saved Fast cross (Moving-average crossover)." in page


def test_a_parameter_out_of_range_is_shown_next_to_its_field_with_the_input_kept(signed_in, user):
    response = signed_in.post(reverse("strategies:config_new"), crossover_form(param_slow="1000"))

    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "param_slow") == "slow must be at most 400, not 1000."
    assert 'name="param_slow" value="1000"' in html
    assert 'name="name" value="Fast cross"' in html
    assert not StrategyConfig.objects.filter(owner=user).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"param_fast": "30"}, "param_fast", "fast (30) must be shorter than slow (20)."),
        ({"param_fast": "ten"}, "param_fast", "Enter a whole number."),
        (
            {"param_average": "wma"},
            "param_average",
            "Select a valid choice. wma is not one of the available choices.",
        ),
        ({"name": "  "}, "name", "This field is required."),
        (
            {"strategy": "astrology"},
            "strategy",
            "Select a valid choice. astrology is not one of the available choices.",
        ),
    ],
)
def test_bad_input_is_refused_next_to_its_field(signed_in, user, fields, field, message):
    response = signed_in.post(reverse("strategies:config_new"), crossover_form(**fields))

    assert response.status_code == 400
    assert field_error(response.content.decode(), field) == message
    assert not StrategyConfig.objects.exists()


def test_a_duplicate_name_is_refused_next_to_the_name_and_fetch_gets_json(signed_in, user):
    make_config(user, name="Fast cross")

    response = signed_in.post(reverse("strategies:config_new"), crossover_form(), **JSON)

    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "You already have a configuration with that name."
    assert body["errors"] == {"name": ["You already have a configuration with that name."]}
    assert StrategyConfig.objects.filter(owner=user).count() == 1


def test_fetch_gets_the_configuration_as_json(signed_in, user):
    response = signed_in.post(reverse("strategies:config_new"), crossover_form(), **JSON)

    assert response.status_code == 201
    body = response.json()
    assert (body["config"]["name"], body["config"]["parameters"]["fast"]) == ("Fast cross", 5)
    assert body["url"] == reverse("strategies:library") + "#configs"


def test_switching_strategy_swaps_in_its_parameter_fields(signed_in):
    partial = signed_in.get(reverse("strategies:parameter_fields") + "?strategy=momentum")
    unknown = signed_in.get(reverse("strategies:parameter_fields") + "?strategy=astrology")
    # without JavaScript: the form reloads with the chosen strategy, the name kept
    reloaded = signed_in.get(reverse("strategies:config_new") + "?strategy=momentum&name=Mine")

    html = partial.content.decode()
    assert partial.status_code == 200
    assert html.lstrip().startswith(
        '<fieldset class="param-fields" id="parameter-fields" data-strategy="momentum">'
    )
    assert 'name="param_macd_fast" value="12"' in html
    assert "param_fast" not in html
    assert "<html" not in html
    assert unknown.status_code == 404
    page = reloaded.content.decode()
    assert 'name="param_macd_fast"' in page
    assert 'name="name" value="Mine"' in page
    assert re.search(r'<option value="momentum" selected>', page)


def test_editing_a_configuration_keeps_its_strategy_and_replaces_its_parameters(signed_in, user):
    config = make_config(user, name="Cross", fast=5)
    url = reverse("strategies:config_edit", args=[config.pk])

    form = signed_in.get(url).content.decode()
    refused = signed_in.post(url, crossover_form(name="Cross", param_fast="0"))
    saved = signed_in.post(url, crossover_form(name="Cross 7", param_fast="7", strategy="momentum"))

    assert 'name="param_fast" value="5"' in form
    assert re.search(r'<select name="strategy"[^>]*disabled', form)
    assert refused.status_code == 400
    assert field_error(refused.content.decode(), "param_fast") == "fast must be at least 1, not 0."
    assert saved.status_code == 302
    config.refresh_from_db()
    assert (config.name, config.definition.key, config.parameters["fast"]) == ("Cross 7", CROSSOVER, 7)


def test_deleting_a_configuration_leaves_its_deployments_running(signed_in, account, btc):
    config = make_config(account.owner)
    deployment = deploy(account, config_id=config.pk)

    refused_get = signed_in.get(reverse("strategies:config_delete", args=[config.pk]))
    response = signed_in.post(reverse("strategies:config_delete", args=[config.pk]))

    assert refused_get.status_code == 405
    assert response.status_code == 302
    assert not StrategyConfig.objects.filter(pk=config.pk).exists()
    deployment.refresh_from_db()
    assert (deployment.status, deployment.config_id) == ("running", None)


# --- deploying ------------------------------------------------------------------------------------


def test_the_deploy_form_defaults_to_the_current_paper_account(signed_in, account):
    config = make_config(account.owner)
    TradingAccountFactory(owner=account.owner, name="Broker", kind=AccountKind.LIVE)

    html = signed_in.get(reverse("strategies:deploy", args=[config.pk])).content.decode()

    assert re.search(rf'<option value="{account.pk}" selected>{account.name}</option>', html)
    assert "Broker — LIVE" in html
    assert re.search(r'<option value="1h" selected>1h</option>', html)
    assert 'name="warmup_bars" value="500"' in html


def test_deploying_a_configuration_starts_it_on_the_paper_account(signed_in, account, btc, eth):
    config = make_config(account.owner, name="Cross", fast=5)
    url = reverse("strategies:deploy", args=[config.pk])

    response = signed_in.post(
        url, {"account": account.pk, "symbols": "btc-usd, ETH/USD", "timeframe": "5m", "warmup_bars": "50"}
    )

    deployment = StrategyDeployment.objects.get(owner=account.owner)
    assert response.status_code == 302
    assert response["Location"] == reverse("strategies:deployment_detail", args=[deployment.pk])
    assert (deployment.name, deployment.symbols, deployment.timeframe) == (
        "Cross",
        ["BTC/USD", "ETH/USD"],
        "5m",
    )
    assert (deployment.account, deployment.warmup_bars, deployment.parameters["fast"]) == (account, 50, 5)
    page = signed_in.get(response["Location"]).content.decode()
    assert "Deployed Cross on" in page
    assert "It trades from the next closed bar." in page


def test_fetch_deploys_and_gets_the_deployment_as_json(signed_in, account, btc):
    config = make_config(account.owner)

    response = signed_in.post(
        reverse("strategies:deploy", args=[config.pk]),
        {
            "account": account.pk,
            "symbols": "BTC/USD",
            "timeframe": "1h",
            "warmup_bars": "500",
            "name": "Night",
        },
        **JSON,
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["deployment"]["name"], body["deployment"]["status"], body["display_status"]) == (
        "Night",
        "running",
        "running",
    )
    assert body["url"] == reverse("strategies:deployment_detail", args=[body["deployment"]["id"]])


def test_a_live_account_is_refused_with_the_services_reason(signed_in, account, btc):
    config = make_config(account.owner)
    live = TradingAccountFactory(owner=account.owner, name="Broker", kind=AccountKind.LIVE)
    data = {"account": live.pk, "symbols": "BTC/USD", "timeframe": "1h", "warmup_bars": "500"}

    response = signed_in.post(reverse("strategies:deploy", args=[config.pk]), data)
    as_json = signed_in.post(reverse("strategies:deploy", args=[config.pk]), data, **JSON)

    assert response.status_code == 400
    reason = "Strategies run on paper accounts only (live brokers come later)."
    assert field_error(response.content.decode(), "account") == reason
    assert 'name="symbols" value="BTC/USD"' in response.content.decode()
    assert as_json.json()["errors"] == {"account": [reason]}
    assert not StrategyDeployment.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"symbols": "NOPE"}, "symbols", "Unknown symbol"),
        ({"symbols": "BTC/USD btc-usd"}, "symbols", "BTC/USD is listed twice."),
        ({"symbols": " , "}, "symbols", "Enter at least one symbol."),
        ({"timeframe": "3m"}, "timeframe", "Select a valid choice. 3m is not one of the available choices."),
        ({"warmup_bars": "20000"}, "warmup_bars", "Between 0 and 10,000 bars."),
    ],
)
def test_bad_deployments_are_refused_next_to_their_field(signed_in, account, btc, fields, field, message):
    config = make_config(account.owner)
    data = {"account": account.pk, "symbols": "BTC/USD", "timeframe": "1h", "warmup_bars": "500", **fields}

    response = signed_in.post(reverse("strategies:deploy", args=[config.pk]), data)

    assert response.status_code == 400
    assert field_error(response.content.decode(), field).startswith(message)
    assert not StrategyDeployment.objects.exists()


def test_another_users_account_is_not_a_choice(signed_in, account, other_user, btc):
    config = make_config(account.owner)
    theirs = other_user.trading_accounts.get()

    response = signed_in.post(
        reverse("strategies:deploy", args=[config.pk]),
        {"account": theirs.pk, "symbols": "BTC/USD", "timeframe": "1h", "warmup_bars": "500"},
    )

    assert response.status_code == 400
    assert field_error(response.content.decode(), "account").startswith("Select a valid choice.")
    assert not StrategyDeployment.objects.exists()


def test_a_one_symbol_strategy_is_refused_on_several_symbols(account, btc, eth):
    services.register_definition(key="one_symbol", path="strategies.tests.test_pages:OneSymbolOnly")

    with pytest.raises(DomainError) as several:
        deploy(account, strategy="one_symbol", symbols=["BTC/USD", "ETH/USD"])
    one = deploy(account, strategy="one_symbol")

    assert (several.value.code, several.value.field) == ("single_symbol_strategy", "symbols")
    assert one.symbols == ["BTC/USD"]


# --- deployments ----------------------------------------------------------------------------------


def test_the_deployments_list_shows_status_pnl_and_signals(signed_in, account, other_user, btc, buying):
    paused = deploy(account, name="Quiet")
    services.pause_deployment(owner=account.owner, deployment_id=paused.pk)
    deploy(other_user.trading_accounts.get(), name="Someone else's")

    html = signed_in.get(reverse("strategies:deployments")).content.decode()

    row = re.search(
        rf'<tr data-deployment-id="{buying.pk}" data-status="running">(.*?)</tr>', html, re.S
    ).group(1)
    # one unit bought after each bar: 100, 110, 120, 130; marked at the last quote, 130
    assert re.search(r'data-label="Unrealized" class="num pos">\+60\.00<', row)
    assert re.search(r'data-label="Total P&amp;L" class="num total-pnl pos">\+60\.00<', row)
    assert re.search(r'data-label="Signals" class="num">4<', row)
    assert "BTC/USD" in row
    assert "Buy every bar" in row
    assert f'data-deployment-id="{paused.pk}" data-status="paused"' in html
    assert "Someone else&#x27;s" not in html


def test_a_deployment_page_shows_its_performance_signals_orders_and_events(signed_in, buying):
    html = signed_in.get(reverse("strategies:deployment_detail", args=[buying.pk])).content.decode()

    assert re.search(r'data-testid="deployment-status">running<', html)
    assert re.search(r'data-testid="total-pnl">\+60\.00<', html)
    assert re.search(r'data-testid="orders">4 \(0 open\)<', html)
    assert html.count("<tr data-signal-id=") == 4
    assert '<span class="direction direction-buy">BUY</span>' in html
    assert re.search(r'data-label="Confidence" class="num">75%<', html)
    assert re.search(r'data-label="Stop-loss" class="num">117\.00<', html)  # 130 x 0.9
    assert html.count("<tr data-order-id=") == 4
    order = Order.objects.filter(deployment_id=buying.pk).first()
    assert reverse("orders:detail", args=[order.pk]) in html
    assert "Sent 1 order(s), canceled 0." in html
    curve = json.loads(
        re.search(r'<script id="pnl-curve" type="application/json">(.*?)</script>', html).group(1)
    )
    assert [point["value"] for point in curve] == [0.0, 10.0, 30.0, 60.0]


def test_a_failed_deployment_shows_its_error(signed_in, account, btc, set_price):
    services.register_definition(key="exploding", path="strategies.tests.sample_strategies:Exploding")
    broken = tick_bars(deploy(account, strategy="exploding"), btc, ["100.00"], set_price)

    html = signed_in.get(reverse("strategies:deployment_detail", args=[broken.pk])).content.decode()

    assert re.search(r'data-testid="deployment-status">failed<', html)
    assert "The strategy failed and was paused" in html
    assert "Exploding raised RuntimeError: boom" in html
    assert '<tr class="event-error">' in html


def test_pause_resume_and_stop_with_plain_forms(signed_in, account, btc):
    deployment = deploy(account, name="Cross")
    detail = reverse("strategies:deployment_detail", args=[deployment.pk])

    paused = signed_in.post(reverse("strategies:pause", args=[deployment.pk]))
    again = signed_in.post(
        reverse("strategies:resume", args=[deployment.pk]), {"next": "/strategies/deployments/"}
    )
    paused_again = signed_in.post(reverse("strategies:pause", args=[deployment.pk]))
    resumed = signed_in.post(reverse("strategies:resume", args=[deployment.pk]))
    stopped = signed_in.post(reverse("strategies:stop", args=[deployment.pk]))

    locations = [answer["Location"] for answer in (paused, again, paused_again, resumed, stopped)]
    assert locations == [detail, "/strategies/deployments/", detail, detail, detail]
    deployment.refresh_from_db()
    assert deployment.status == "stopped"
    page = signed_in.get(detail).content.decode()
    assert "Stopped Cross for good: its open orders were canceled." in page
    assert re.search(r'data-testid="deployment-status">stopped<', page)


def test_an_impossible_transition_is_a_message_and_a_409_for_fetch(signed_in, account, btc):
    deployment = deploy(account, name="Cross")
    services.pause_deployment(owner=account.owner, deployment_id=deployment.pk)

    response = signed_in.post(reverse("strategies:pause", args=[deployment.pk]))
    as_json = signed_in.post(reverse("strategies:pause", args=[deployment.pk]), **JSON)

    page = signed_in.get(response["Location"]).content.decode()
    assert "The deployment is paused: it cannot pause." in page
    assert as_json.status_code == 409
    assert as_json.json() == {
        "code": "invalid_transition",
        "message": "The deployment is paused: it cannot pause.",
        "field": "status",
    }


def test_fetch_pauses_and_resumes_and_gets_the_status(signed_in, account, btc):
    deployment = deploy(account)

    paused = signed_in.post(reverse("strategies:pause", args=[deployment.pk]), **JSON).json()
    resumed = signed_in.post(reverse("strategies:resume", args=[deployment.pk]), **JSON).json()

    assert (paused["display_status"], paused["deployment"]["status"]) == ("paused", "paused")
    assert paused["message"].endswith("Its open orders keep working.")
    assert resumed["display_status"] == "running"


def test_stop_can_close_the_deployments_positions(signed_in, buying):
    url = reverse("strategies:stop", args=[buying.pk])
    with frozen_clock(START + timedelta(hours=4)):  # the last quote is fresh then: the close fills
        response = signed_in.post(url, {"close_positions": "on"}, **JSON)

    assert response.status_code == 200
    assert response.json()["message"].endswith(
        "its open orders were canceled and its positions closed at market."
    )
    buying.refresh_from_db()
    assert buying.status == "stopped"
    assert selectors.deployment_positions(buying.pk)["BTC/USD"].quantity == 0


# --- read paths the pages added ---------------------------------------------------------------------


def test_a_failed_tick_reads_as_failed_until_paused_again_or_resumed(account, btc, set_price):
    services.register_definition(key="exploding", path="strategies.tests.sample_strategies:Exploding")
    broken = tick_bars(deploy(account, strategy="exploding"), btc, ["100.00"], set_price)
    failed = selectors.display_status(broken)

    with frozen_clock(START + timedelta(hours=5)):
        resumed = services.resume_deployment(owner=account.owner, deployment_id=broken.pk)
        paused = services.pause_deployment(owner=account.owner, deployment_id=broken.pk)

    assert (failed, selectors.display_status(resumed), selectors.display_status(paused)) == (
        "failed",
        "running",
        "paused",
    )


def test_the_lists_pnl_is_the_deployment_pages(account, btc, buying):
    idle = deploy(account, name="Idle")

    summaries = {summary.deployment.pk: summary for summary in selectors.deployment_summaries(account.owner)}
    performance = selectors.deployment_performance(buying)

    mine = summaries[buying.pk]
    assert (mine.realized_pnl, mine.unrealized_pnl, mine.total_pnl, mine.signals) == (
        performance.realized_pnl,
        performance.unrealized_pnl,
        performance.total_pnl,
        4,
    )
    assert (summaries[idle.pk].total_pnl, summaries[idle.pk].signals, summaries[idle.pk].status) == (
        0,
        0,
        "running",
    )


def test_the_equity_curve_is_the_metrics_curve(buying):
    performance = selectors.deployment_performance(buying, now=START + timedelta(hours=5))

    assert [moment for moment, _ in performance.equity_curve] == [
        START + timedelta(hours=h) for h in range(4)
    ]
    assert performance.equity_curve[-1][1] == pytest.approx(performance.metrics.end_equity)
    assert performance.equity_curve[0][1] == pytest.approx(float(buying.starting_equity))


def test_a_strategy_whose_module_is_gone_is_a_card_saying_so(db):
    definition = StrategyDefinition.objects.create(
        key="gone",
        path="strategies.tests.no_such_module:Gone",
        name="Gone",
        description="Was here.\n\nLong ago.",
    )

    card = selectors.strategy_card(definition)

    assert (card.summary, card.details, card.parameters) == ("Was here.", "Long ago.", [])
    assert card.problem.startswith("Cannot import 'strategies.tests.no_such_module'")
