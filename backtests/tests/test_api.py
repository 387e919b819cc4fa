"""The backtests REST API: create (201, enqueued after the commit), list (yours, newest first), detail,
cancel, trades (JSON pages and CSV), compare, the strategy catalog; bad input is a 4xx naming the
field with nothing written; another user's run is a 404."""

from __future__ import annotations

import csv
import io

import pytest

from backtests.models import Backtest
from backtests.tests import factories

pytestmark = pytest.mark.django_db

BACKTESTS = "/api/v1/backtests"


@pytest.fixture
def wave(db):
    return factories.market()


def payload(**overrides):
    body = {
        "strategy": "moving_average_crossover",
        "parameters": {"fast": 10, "slow": 20},
        "symbols": ["WAVE"],
        "timeframe": "1d",
        "start": "2024-01-31T00:00:00Z",
        "end": "2024-10-27T00:00:00Z",
        "starting_cash": "10000",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def assert_error(response, status, code, field):
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field), body
    assert body["message"]
    return body


def test_create_answers_201_and_enqueues_after_the_commit(
    token_client, wave, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client.post(BACKTESTS, payload(name="first try"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["progress"], body["starting_cash"], body["name"]) == (
        "queued",
        0,
        "10000",
        "first try",
    )
    assert body["parameters"]["average"] == "sma"  # defaults filled in
    assert body["start"] == "2024-01-31T00:00:00Z"
    assert enqueued == [body["id"]]


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"strategy": "nope"}, 400, "unknown_strategy", "strategy"),
        ({"parameters": {"fast": 500}}, 400, "parameter_out_of_range", "parameters.fast"),
        ({"parameters": {"fast": 25}}, 400, "invalid_parameter", "parameters.fast"),
        ({"timeframe": "2d"}, 400, "invalid_choice", "timeframe"),
        ({"symbols": []}, 400, "min_length", "symbols"),
        ({"symbols": ["NOPE"]}, 400, "unknown_symbol", "symbols"),
        ({"timeframe": "1h", "end": "2024-03-01T00:00:00Z"}, 400, "no_data", "symbols"),
        ({"start": "2020-01-01T00:00:00Z", "end": "2020-06-01T00:00:00Z"}, 400, "no_data", "start"),
        ({"end": "2024-01-01T00:00:00Z"}, 400, "invalid_range", "start"),
        ({"starting_cash": "-5"}, 400, "invalid_cash", "starting_cash"),
        ({"start": "yesterday"}, 400, "invalid", "start"),
        (
            {"kind": "grid", "kind_settings": {"space": {"fast": [1, 2, 3]}, "maximise": True}},
            400,
            "invalid_setting",
            "kind_settings.maximise",
        ),
        ({"speed": "fast"}, 400, "unknown_field", "speed"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    token_client, wave, overrides, status, code, field
):
    response = token_client.post(BACKTESTS, payload(**overrides), format="json")

    assert_error(response, status, code, field)
    assert Backtest.objects.count() == 0


def test_unauthenticated_requests_are_refused(api_client, wave):
    response = api_client.post(BACKTESTS, payload(), format="json")

    assert response.status_code in (401, 403)


def test_the_list_shows_your_runs_newest_first_with_headline_metrics(token_client, user, other_user, wave):
    done = factories.completed(user)
    queued = factories.create(user)
    factories.create(other_user)

    body = token_client.get(BACKTESTS).json()
    only_done = token_client.get(BACKTESTS, {"status": "completed"}).json()

    assert [row["id"] for row in body["results"]] == [str(queued.pk), str(done.pk)]
    assert body["results"][0]["metrics"] is None
    assert body["results"][1]["metrics"]["trades"] == done.results["metrics"]["trades"]
    assert "results" not in body["results"][1]
    assert [row["id"] for row in only_done["results"]] == [str(done.pk)]
    assert_error(token_client.get(BACKTESTS, {"status": "done"}), 400, "invalid_choice", "status")


def test_the_detail_has_status_progress_and_results(token_client, user, wave):
    row = factories.completed(user)

    body = token_client.get(f"{BACKTESTS}/{row.pk}").json()

    assert (body["status"], body["progress"]) == ("completed", 100)
    assert body["results"]["metrics"]["trades"] == len(row.trades)
    assert body["results"]["equity_curve"]["time"]
    assert body["data_hash"] == row.data_hash
    assert body["data_start"] == "2024-01-01T00:00:00Z"


def test_another_users_run_is_not_found(token_client, other_user, wave):
    theirs = factories.completed(other_user)

    for response in (
        token_client.get(f"{BACKTESTS}/{theirs.pk}"),
        token_client.get(f"{BACKTESTS}/{theirs.pk}/trades"),
        token_client.post(f"{BACKTESTS}/{theirs.pk}/cancel"),
        token_client.get(f"{BACKTESTS}/not-a-uuid"),
    ):
        assert_error(response, 404, "not_found", "backtest_id")
    assert Backtest.objects.get(pk=theirs.pk).status == "completed"


def test_cancel_a_queued_run_then_a_finished_one_is_a_conflict(token_client, user, wave):
    row = factories.create(user)

    canceled = token_client.post(f"{BACKTESTS}/{row.pk}/cancel")
    factories.completed(user)
    done = Backtest.objects.filter(status="completed").get()

    assert canceled.status_code == 200
    assert (canceled.json()["status"], canceled.json()["error_message"]) == (
        "canceled",
        "Cancelled at your request.",
    )
    assert_error(token_client.post(f"{BACKTESTS}/{done.pk}/cancel"), 409, "already_finished", "backtest_id")


def test_trades_come_in_pages_and_as_csv(token_client, user, wave):
    row = factories.completed(user)
    count = len(row.trades)

    first = token_client.get(f"{BACKTESTS}/{row.pk}/trades", {"limit": 3}).json()
    rest = token_client.get(first["next"]).json()
    exported = token_client.get(f"{BACKTESTS}/{row.pk}/trades", {"export": "csv"})

    assert (first["count"], first["truncated"], len(first["results"])) == (count, False, 3)
    assert first["results"] == row.trades[:3]
    assert rest["results"] == row.trades[3:203]
    assert exported["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert len(lines) == count
    assert (lines[0]["entry_time"], lines[0]["pnl"]) == (row.trades[0]["entry_time"], row.trades[0]["pnl"])
    assert_error(
        token_client.get(f"{BACKTESTS}/{row.pk}/trades", {"export": "xls"}), 400, "invalid_choice", "export"
    )


def test_compare_two_runs(token_client, user, wave):
    first = factories.completed(user)
    second = factories.completed(user, parameters={"fast": 5, "slow": 20})

    body = token_client.get(f"{BACKTESTS}/compare", {"a": str(first.pk), "b": str(second.pk)}).json()

    assert (body["a"]["id"], body["b"]["id"]) == (str(first.pk), str(second.pk))
    sharpe = next(item for item in body["metrics"] if item["name"] == "sharpe")
    assert sharpe["delta"] == pytest.approx(sharpe["b"] - sharpe["a"])
    assert body["differences"]["parameters"]["b"]["fast"] == 5
    assert_error(token_client.get(f"{BACKTESTS}/compare", {"a": str(first.pk)}), 400, "required", "b")


def test_the_catalog_lists_runnable_strategies_with_their_parameter_fields(token_client, registered):
    from strategies.builtins import Momentum
    from strategies.sdk import strategy_path
    from strategies.services import register_definition

    register_definition(key="momentum", path=strategy_path(Momentum), enabled=False)  # an admin's choice

    catalog = {item["key"]: item for item in token_client.get("/api/v1/strategies/catalog").json()}

    crossover = catalog["moving_average_crossover"]
    assert crossover["name"] == "strategies.builtins.moving_average_crossover:MovingAverageCrossover"
    fast = next(field for field in crossover["parameters"] if field["name"] == "fast")
    assert (fast["type"], fast["default"], fast["minimum"], fast["maximum"]) == ("int", 10, 1, 200)
    assert {"bollinger_mean_reversion", "donchian_breakout", "exploding", "self_canceling"} <= set(catalog)
    assert catalog["exploding"]["name"] == "backtests.tests.strategies:Exploding"
    assert "momentum" not in catalog


def test_the_endpoints_are_in_the_openapi_schema(auth_client):
    schema = auth_client.get("/api/schema/", {"format": "json"}).json()

    assert {
        "/api/v1/backtests",
        "/api/v1/backtests/{backtest_id}",
        "/api/v1/backtests/{backtest_id}/cancel",
        "/api/v1/backtests/{backtest_id}/trades",
        "/api/v1/backtests/compare",
        "/api/v1/strategies/catalog",
    } <= set(schema["paths"])
