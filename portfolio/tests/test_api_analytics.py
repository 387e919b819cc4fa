"""The equity curve and analytics REST endpoints: every range, a bad range answered 400 naming the
field, another user's account a 404, and both in the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import TradingAccount
from accounts.tests.factories import UserFactory
from orders.tests.factories import place
from portfolio.models import EquitySnapshot
from tradeapp.core import clock

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def traded(account, btc, quote):
    """The account opened two days ago, a snapshot a day ago, then bought and half sold 2 BTC."""
    TradingAccount.objects.filter(pk=account.pk).update(created_at=clock.now() - timedelta(days=2))
    account.refresh_from_db()
    EquitySnapshot.objects.create(
        account=account,
        taken_at=clock.now() - timedelta(hours=30),
        cash=D(100_000),
        positions_value=D(0),
        equity=D(100_000),
        reason="daily",
    )
    quote("BTC/USD", bid="100.00", ask="100.00")
    place(account, quantity="2")
    quote("BTC/USD", bid="110.00", ask="110.00")
    place(account, side="sell", quantity="1")
    return account


@pytest.mark.parametrize(
    ("query", "expected", "bucket"),
    [("1D", "1D", 60), ("1w", "1W", 600), ("1M", "1M", 3600), ("3M", "3M", 10800), ("1Y", "1Y", 43200)],
)
def test_each_range_of_the_equity_curve(auth_client, traded, query, expected, bucket):
    response = auth_client.get("/api/v1/accounts/default/equity", {"range": query})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["range"], body["bucket_seconds"], body["currency"]) == (expected, bucket, "USD")
    assert body["account_id"] == str(traded.pk)
    assert body["points"][-1]["equity"] == body["end_equity"] == "100020.00"  # 1 BTC at 110 + cash
    assert body["start_equity"] == "100000.00"
    assert (body["change"], body["change_pct"]) == ("20.00", "0.02")
    assert body["points"][-1]["time"] == body["end"]
    times = [point["time"] for point in body["points"]]
    assert times == sorted(times)
    assert len(set(times)) == len(times)


def test_the_default_range_is_a_month_and_all_starts_at_the_opening(auth_client, traded):
    month = auth_client.get(f"/api/v1/accounts/{traded.pk}/equity").json()
    every = auth_client.get(f"/api/v1/accounts/{traded.pk}/equity?range=ALL").json()

    assert month["range"] == "1M"
    assert every["range"] == "ALL"
    assert every["points"][0] == {"time": every["start"], "equity": "100000.00"}
    assert every["start"] == traded.created_at.isoformat().replace("+00:00", "Z")
    assert every["points"][1]["time"] < every["end"]  # the daily snapshot in between


@pytest.mark.parametrize("bad", ["5Y", "", "1d;drop"])
def test_a_bad_range_is_400_naming_the_field(auth_client, account, bad):
    response = auth_client.get("/api/v1/accounts/default/equity", {"range": bad})

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid_choice", "range")


def test_an_unknown_query_field_is_refused(auth_client, account):
    response = auth_client.get("/api/v1/accounts/default/equity", {"rnage": "1D"})

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("unknown_field", "rnage")


@pytest.mark.parametrize("path", ["equity", "equity?range=1D", "analytics"])
def test_another_users_account_is_not_found(auth_client, account, path):
    foreign = UserFactory().trading_accounts.get()

    response = auth_client.get(f"/api/v1/accounts/{foreign.pk}/{path}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["equity", "analytics"])
def test_anonymous_clients_are_refused(api_client, account, path):
    assert api_client.get(f"/api/v1/accounts/{account.pk}/{path}").status_code in (401, 403)


def test_the_analytics_of_an_account(token_client, traded):
    response = token_client.get("/api/v1/accounts/default/analytics")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["account_id"] == str(traded.pk)
    assert body["day"] == {
        "start_equity": "100000.00",
        "equity": "100020.00",
        "pnl": "20.00",
        "pnl_pct": "0.02",
        "realized": "10.00",
        "unrealized_change": "10.00",
    }
    allocation = body["allocation"]
    assert [(row["key"], row["side"], row["value"], row["pct"]) for row in allocation["by_symbol"]] == [
        ("BTC/USD", "long", "110.00", "0.11"),
        ("cash", "cash", "99910.00", "99.89"),
    ]
    assert [row["key"] for row in allocation["by_asset_class"]] == ["crypto", "cash"]
    assert allocation["gross_exposure_pct"] == "0.11"
    metrics = body["metrics"]
    assert metrics["period"] == "1h"
    assert metrics["trades"] == 0  # half sold: the trip is still open
    assert metrics["total_return"] == pytest.approx(0.0002)
    assert metrics["annualized_return"] is None
    assert body["realized_pnl"] == "10.00"
    assert body["realized_by_symbol"] == [
        {
            "key": "BTC/USD",
            "label": "BTC/USD",
            "realized_pnl": "10.00",
            "commission": "0.00",
            "fills": 2,
            "trades": 0,
            "wins": 0,
            "symbols": ["BTC/USD"],
        }
    ]
    assert [(row["key"], row["label"], row["fills"]) for row in body["realized_by_strategy"]] == [
        ("", "Manual", 2)
    ]


def test_both_endpoints_are_in_the_schema(auth_client):
    schema = auth_client.get("/api/schema/", {"format": "json"}).json()

    equity = schema["paths"]["/api/v1/accounts/{account_id}/equity"]["get"]
    assert {p["name"] for p in equity["parameters"]} == {"account_id", "range"}
    range_parameter = next(p for p in equity["parameters"] if p["name"] == "range")
    assert range_parameter["schema"]["enum"] == ["1D", "1W", "1M", "3M", "1Y", "ALL"]
    analytics = schema["paths"]["/api/v1/accounts/{account_id}/analytics"]["get"]
    reference = analytics["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    assert {"day", "allocation", "metrics", "realized_by_symbol", "realized_by_strategy"} <= set(
        component["properties"]
    )
