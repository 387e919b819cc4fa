"""The orders, positions and account REST API: token auth, 4xx with a code and a field for every bad
input (nothing written), another user's objects invisible, cursor pages and CSV."""

import pytest

from accounts.tests.factories import UserFactory
from orders.models import Order
from orders.tests.factories import place
from portfolio.models import CashEntry

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/accounts/default/orders"


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field), body
    assert body["message"]
    return body


@pytest.fixture
def market(btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    return btc


def submit(client, **payload):
    body = {"symbol": "BTC-USD", "side": "buy", "type": "market", "quantity": "1", "time_in_force": "gtc"}
    body.update(payload)
    return client.post(ORDERS, {k: v for k, v in body.items() if v is not None}, format="json")


def test_submit_a_market_order_and_get_it_back_filled(token_client, market):
    response = submit(token_client, quantity="2.5", client_order_id="abc-1")

    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["status"], order["filled_quantity"], order["average_fill_price"]) == (
        "filled",
        "2.5",
        "100.1",
    )
    detail = token_client.get(f"{ORDERS}/{order['id']}").json()
    assert [e["status"] for e in detail["events"]] == ["new", "accepted", "filled"]
    assert detail["fills"][0]["price"] == "100.1"
    by_client = token_client.get(f"{ORDERS}/by-client-id/abc-1").json()
    assert by_client["id"] == order["id"]


def test_the_same_client_order_id_returns_the_first_order(token_client, market):
    first = submit(token_client, client_order_id="same")
    again = submit(token_client, client_order_id="same", quantity="5")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


def test_positions_summary_activities(token_client, market, account):
    submit(token_client, quantity="3")

    positions = token_client.get("/api/v1/accounts/default/positions").json()
    summary = token_client.get(f"/api/v1/accounts/{account.pk}/summary").json()
    activities = token_client.get("/api/v1/accounts/default/activities").json()

    assert [(p["symbol"], p["quantity"], p["average_cost"]) for p in positions] == [("BTC/USD", "3", "100.1")]
    assert summary["cash"] == "99699.70"
    assert summary["buying_power"] == "99699.70"
    assert {row["type"] for row in activities} == {"fill", "cash"}
    exits = token_client.put(
        "/api/v1/accounts/default/positions/BTC-USD/exits",
        {"stop_loss_price": "90.00", "take_profit_price": "120.00"},
        format="json",
    )
    assert exits.json()["stop_loss_price"] == "90"
    closed = token_client.delete("/api/v1/accounts/default/positions/BTC-USD")
    assert (closed.json()["side"], closed.json()["status"]) == ("sell", "filled")


def test_list_filters_cursor_pages_and_csv(token_client, market, account):
    for _ in range(3):
        place(account, quantity="1")
    place(account, side="sell", quantity="1")

    page = token_client.get(ORDERS, {"limit": 2, "side": "buy"}).json()
    rest = token_client.get(page["next"]).json()
    csv = token_client.get(ORDERS, {"export": "csv"})

    assert len(page["results"]) == 2
    assert len(rest["results"]) == 1
    assert {o["side"] for o in page["results"] + rest["results"]} == {"buy"}
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.getvalue().decode().count("\n") == 5  # header + 4 orders


def test_cancel_modify_and_cancel_all(token_client, market):
    order = submit(token_client, type="limit", limit_price="90.00").json()

    modified = token_client.patch(f"{ORDERS}/{order['id']}", {"limit_price": "91.00"}, format="json").json()
    canceled = token_client.delete(f"{ORDERS}/{modified['id']}").json()
    submit(token_client, type="limit", limit_price="80.00")
    all_canceled = token_client.delete(ORDERS).json()

    assert (modified["limit_price"], modified["replaces_id"]) == ("91", order["id"])
    assert canceled["status"] == "canceled"
    assert [o["status"] for o in all_canceled] == ["canceled"]


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"quantity": "0"}, 400, "invalid_quantity", "quantity"),
        ({"quantity": "-1"}, 400, "invalid_quantity", "quantity"),
        ({"quantity": "0.00001"}, 400, "off_lot_size", "quantity"),
        ({"type": "limit", "limit_price": "99.999"}, 400, "off_tick_size", "limit_price"),
        ({"type": "limit"}, 400, "missing_limit_price", "limit_price"),
        (
            {"type": "stop_limit", "stop_price": "105.00", "limit_price": "104.00"},
            400,
            "inconsistent_prices",
            "limit_price",
        ),
        ({"symbol": "NOPE"}, 404, "not_found", "symbol"),
        ({"side": "hold"}, 400, "invalid_choice", "side"),
        ({"quantity": "abc"}, 400, "invalid", "quantity"),
        ({"limit_prce": "1"}, 400, "unknown_field", "limit_prce"),
        ({"quantity": "5000"}, 422, "insufficient_buying_power", "quantity"),
        ({"side": "sell"}, 422, "short_selling_not_allowed", None),
        ({"order_class": "bracket"}, 400, "invalid_order_class", "take_profit"),
        (
            {"quantity": None, "notional": "50", "type": "limit", "limit_price": "99.00"},
            400,
            "invalid_notional",
            "notional",
        ),
    ],
)
def test_bad_orders_get_a_clear_4xx_and_write_nothing(token_client, market, payload, status, code, field):
    before = (Order.objects.count(), CashEntry.objects.count())

    response = submit(token_client, **payload)

    assert_error(response, status, code, field)
    assert (Order.objects.count(), CashEntry.objects.count()) == before


def test_a_closed_market_refuses_an_ioc_order(token_client, quote):
    from datetime import UTC, datetime

    from marketdata.tests.factories import InstrumentFactory
    from tradeapp.core.clock import frozen_clock

    InstrumentFactory(symbol="AAPL")
    saturday = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    with frozen_clock(saturday):
        quote("AAPL", bid="230.00", ask="230.05", at=saturday)
        response = submit(token_client, symbol="AAPL", time_in_force="ioc")
        day_order = submit(
            token_client, symbol="AAPL", time_in_force="day", type="limit", limit_price="200.00"
        )

    assert_error(response, 400, "market_closed", "time_in_force")
    assert (day_order.status_code, day_order.json()["status"]) == (201, "accepted")
    assert day_order.json()["expires_at"] == "2026-11-23T21:00:00Z"  # Monday's close


def test_replacing_a_filled_order_is_a_conflict(token_client, market):
    order = submit(token_client).json()

    response = token_client.patch(f"{ORDERS}/{order['id']}", {"quantity": "2"}, format="json")

    assert_error(response, 409, "order_not_open", "order_id")


def test_another_users_orders_and_positions_are_404(token_client, market, account):
    stranger = UserFactory()
    theirs = place(stranger.trading_accounts.get(), quantity="1")
    their_account = stranger.trading_accounts.get().pk

    assert_error(token_client.get(f"{ORDERS}/{theirs.pk}"), 404, "not_found", "order_id")
    assert_error(token_client.delete(f"{ORDERS}/{theirs.pk}"), 404, "not_found", "order_id")
    assert_error(
        token_client.patch(f"{ORDERS}/{theirs.pk}", {"quantity": "2"}, format="json"),
        404,
        "not_found",
        "order_id",
    )
    assert token_client.get(f"/api/v1/accounts/{their_account}/orders").status_code == 404
    assert token_client.get(f"/api/v1/accounts/{their_account}/positions").status_code == 404
    assert token_client.get(ORDERS).json()["results"] == []
    assert_error(token_client.get("/api/v1/accounts/default/positions/BTC-USD"), 404, "not_found", "symbol")
    assert Order.objects.get(pk=theirs.pk).status == "filled"


def test_risk_limits_are_editable_within_the_platform_caps(token_client, market):
    url = "/api/v1/accounts/default/risk"

    too_loose = token_client.put(url, {"max_order_notional": "5000000"}, format="json")
    updated = token_client.put(url, {"max_order_notional": "150", "max_open_orders": 3}, format="json")
    refused = submit(token_client, quantity="2")

    assert_error(too_loose, 400, "out_of_bounds", "max_order_notional")
    assert updated.json()["effective"]["max_order_notional"] == "150"
    assert updated.json()["effective"]["max_position_pct"] == "100"  # the cap applies where none is set
    assert_error(refused, 422, "max_order_notional", "quantity")
    assert submit(token_client, quantity="1").status_code == 201
