"""The strategies REST API: configurations CRUD, deployments (create, list, detail with P&L and signals,
pause, resume, stop), signals; errors as 4xx JSON naming the field; everything owner-scoped (404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import AccountKind
from accounts.tests.factories import TradingAccountFactory
from marketdata.hooks import BarClosed
from marketdata.services import upsert_bars
from strategies import services
from strategies.tests.conftest import START, hour_bar
from tradeapp.core.clock import frozen_clock

pytestmark = pytest.mark.django_db

CONFIGS = "/api/v1/strategies/configs"
DEPLOYMENTS = "/api/v1/strategies/deployments"
SIGNALS = "/api/v1/strategies/signals"


@pytest.fixture
def other_client(other_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=other_user)
    return client


def test_configurations_crud(auth_client):
    created = auth_client.post(
        CONFIGS,
        {"name": "Fast cross", "strategy": "moving_average_crossover", "parameters": {"fast": 5}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    config = created.json()
    assert (config["strategy"], config["parameters"]["fast"], config["parameters"]["slow"]) == (
        "moving_average_crossover",
        5,
        20,
    )
    url = f"{CONFIGS}/{config['id']}"

    listed = auth_client.get(CONFIGS).json()
    patched = auth_client.patch(url, {"parameters": {"slow": 30}, "name": "Slower"}, format="json")
    fetched = auth_client.get(url).json()
    deleted = auth_client.delete(url)

    assert [row["id"] for row in listed] == [config["id"]]
    assert patched.status_code == 200
    assert fetched["name"] == "Slower"
    assert (fetched["parameters"]["fast"], fetched["parameters"]["slow"]) == (5, 30)
    assert deleted.status_code == 204
    assert auth_client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"name": "x", "strategy": "moving_average_crossover", "parameters": {"fast": 50}},
            400,
            "invalid_parameter",
            "parameters.fast",
        ),
        (
            {"name": "x", "strategy": "moving_average_crossover", "parameters": {"slow": 0}},
            400,
            "parameter_out_of_range",
            "parameters.slow",
        ),
        ({"name": "x", "strategy": "nope"}, 404, "not_found", "strategy"),
        ({"name": "x", "strategy": "momentum", "colour": "red"}, 400, "unknown_field", "colour"),
        ({"strategy": "momentum"}, 400, "required", "name"),
    ],
)
def test_bad_configurations_answer_4xx_naming_the_field(auth_client, body, status, code, field):
    response = auth_client.post(CONFIGS, body, format="json")

    assert response.status_code == status
    assert (response.json()["code"], response.json()["field"]) == (code, field)


def test_another_users_configuration_is_not_found(auth_client, other_client):
    config = auth_client.post(CONFIGS, {"name": "Mine", "strategy": "momentum"}, format="json").json()
    url = f"{CONFIGS}/{config['id']}"

    assert other_client.get(url).status_code == 404
    assert other_client.patch(url, {"name": "Theirs"}, format="json").status_code == 404
    assert other_client.delete(url).status_code == 404
    assert other_client.get(CONFIGS).json() == []
    assert auth_client.get(f"{CONFIGS}/not-a-uuid").status_code == 404


def test_deploy_from_a_configuration_and_manage_it(auth_client, user, btc, set_price):
    config = auth_client.post(
        CONFIGS, {"name": "Cross", "strategy": "moving_average_crossover"}, format="json"
    ).json()
    with frozen_clock(START):
        created = auth_client.post(
            DEPLOYMENTS, {"config_id": config["id"], "symbols": ["BTC-USD"], "timeframe": "1h"}, format="json"
        )
    assert created.status_code == 201, created.json()
    deployment = created.json()
    assert (deployment["name"], deployment["symbols"], deployment["status"], deployment["strategy"]) == (
        "Cross",
        ["BTC/USD"],
        "running",
        "moving_average_crossover",
    )
    assert deployment["account_id"] == str(user.trading_accounts.get().pk)
    url = f"{DEPLOYMENTS}/{deployment['id']}"

    paused = auth_client.post(f"{url}/pause")
    resumed = auth_client.post(f"{url}/resume")
    stopped = auth_client.post(f"{url}/stop", {"close_positions": False}, format="json")
    stopped_again = auth_client.post(f"{url}/stop")
    listed = auth_client.get(DEPLOYMENTS, {"status": "stopped"}).json()

    assert [r.json()["status"] for r in (paused, resumed, stopped)] == ["paused", "running", "stopped"]
    assert stopped_again.status_code == 409
    assert (stopped_again.json()["code"], stopped_again.json()["field"]) == ("invalid_transition", "status")
    assert [row["id"] for row in listed] == [deployment["id"]]
    assert auth_client.get(DEPLOYMENTS, {"status": "running"}).json() == []


def test_deployment_detail_has_pnl_metrics_and_recent_signals(auth_client, user, btc, set_price):
    services.register_definition(key="every", path="strategies.tests.sample_strategies:BuyEveryBar")
    with frozen_clock(START) as clock:
        created = auth_client.post(
            DEPLOYMENTS,
            {"strategy": "every", "parameters": {"quantity": "1"}, "symbols": ["BTC/USD"], "timeframe": "1h"},
            format="json",
        ).json()
        for index, price in enumerate(["100.00", "110.00"]):
            clock.set(START + timedelta(hours=index + 1))
            bar = hour_bar("BTC/USD", index, price)
            upsert_bars(instrument=btc, bars=[bar])
            set_price("BTC/USD", price, bar.close_time)
            services.tick_deployment(deployment_id=created["id"], bar_key=BarClosed(btc.pk, bar).key)

        detail = auth_client.get(f"{DEPLOYMENTS}/{created['id']}").json()
        signals = auth_client.get(SIGNALS, {"deployment_id": created["id"]}).json()

    performance = detail["performance"]
    assert (performance["orders"], performance["fills"], performance["unrealized_pnl"]) == (2, 2, "10")
    assert performance["positions"][0]["quantity"] == "2"
    assert performance["metrics"]["periods"] == 1
    assert [s["bar_time"] for s in detail["recent_signals"]] == [
        "2026-03-02T01:00:00Z",
        "2026-03-02T00:00:00Z",
    ]
    assert detail["recent_signals"][0]["stop_loss"] == "99"
    assert [e["code"] for e in detail["recent_events"]][-1] == "start"
    assert len(detail["log"]) == 1  # the first fill, heard on the second tick
    assert [s["direction"] for s in signals["results"]] == ["buy", "buy"]


def test_bad_deployments_answer_4xx_naming_the_field(auth_client, user, other_user, btc):
    live = TradingAccountFactory(owner=user, name="Live", kind=AccountKind.LIVE)
    foreign = other_user.trading_accounts.get()
    base = {"strategy": "momentum", "symbols": ["BTC/USD"], "timeframe": "1h"}
    cases = [
        ({**base, "account_id": str(foreign.pk)}, 404, "not_found", "account_id"),
        ({**base, "account_id": str(live.pk)}, 400, "not_paper_account", "account_id"),
        ({**base, "symbols": []}, 400, "min_length", "symbols"),
        ({**base, "symbols": ["NOPE"]}, 400, "unknown_symbol", "symbols"),
        ({**base, "timeframe": "2h"}, 400, "invalid_choice", "timeframe"),
        ({**base, "parameters": {"rsi_window": 0}}, 400, "parameter_out_of_range", "parameters.rsi_window"),
        ({"symbols": ["BTC/USD"], "timeframe": "1h"}, 400, "required", "strategy"),
        ({**base, "config_id": "8d4f9a3e-7f43-4a55-9d5c-1d8e2b7c0a11"}, 400, "required", "strategy"),
    ]

    for body, status, code, field in cases:
        response = auth_client.post(DEPLOYMENTS, body, format="json")
        assert (response.status_code, response.json()["code"], response.json()["field"]) == (
            status,
            code,
            field,
        ), body


def test_another_users_deployments_and_signals_are_not_found(auth_client, other_client, btc):
    with frozen_clock(START):
        deployment = auth_client.post(
            DEPLOYMENTS, {"strategy": "momentum", "symbols": ["BTC/USD"], "timeframe": "1h"}, format="json"
        ).json()
    url = f"{DEPLOYMENTS}/{deployment['id']}"

    assert other_client.get(url).status_code == 404
    for action in ("pause", "resume", "stop"):
        response = other_client.post(f"{url}/{action}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert other_client.get(DEPLOYMENTS).json() == []
    assert other_client.get(SIGNALS, {"deployment_id": deployment["id"]}).json()["results"] == []
    assert auth_client.get(url).json()["status"] == "running"


def test_the_api_needs_a_login(api_client):
    for url in (CONFIGS, DEPLOYMENTS, SIGNALS):
        response = api_client.get(url)
        assert response.status_code in (401, 403)
        assert response.json()["code"] in ("not_authenticated", "authentication_failed")
