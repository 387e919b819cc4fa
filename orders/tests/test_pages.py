"""Trading pages through the Django test client: every page renders, another user's order is a 404,
form errors (the form's and the services') sit next to their field, and each POST calls its service
(plain HTML: redirect with a message; fetch: JSON)."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from orders.models import Order
from orders.tests.factories import place
from portfolio.models import Position

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def market(btc, quote):
    quote("BTC/USD", bid="50000.00", ask="50010.00")
    return btc


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def ticket(**fields: str) -> dict[str, str]:
    data = {
        "symbol": "BTC/USD",
        "side": "buy",
        "order_type": "market",
        "size_in": "quantity",
        "quantity": "0.5",
        "time_in_force": "gtc",
        "trail_unit": "price",
        "step": "place",
    }
    data.update(fields)
    return data


def field_error(html: str, field: str) -> str:
    """The text of the error list rendered next to ticket field ``field`` (empty when none)."""
    match = re.search(
        rf'<ul class="field-errors" id="(?:ticket|modify|exits)-{field}_error">(.*?)</ul>', html, re.S
    )
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""


# --- pages render ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/orders/", "/orders/positions/", "/orders/new/?symbol=BTC-USD", "/orders/export.csv"]
)
def test_pages_need_login(client, market, path):
    response = client.get(path)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_every_page_renders(signed_in, account, market):
    filled = place(account, quantity="0.5")
    resting = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")
    pages = [
        "/",
        "/orders/",
        "/orders/?status=closed&symbol=BTC-USD&side=buy&since=2020-01-01&until=2099-12-31",
        "/orders/?page=2",
        "/orders/new/?symbol=BTC-USD",
        "/orders/new/?symbol=btc-usd&side=sell",
        f"/orders/{filled.pk}/",
        f"/orders/{resting.pk}/",
        f"/orders/{resting.pk}/modify/",
        "/orders/positions/",
        "/orders/positions/BTC-USD/exits/",
        "/markets/BTC-USD/",
        "/markets/",
    ]

    for path in pages:
        response = signed_in.get(path)
        assert response.status_code == 200, path


def test_the_nav_links_to_orders_and_positions(signed_in, market):
    html = signed_in.get("/").content.decode()

    assert 'href="/orders/"' in html
    assert 'href="/orders/positions/"' in html
    assert 'id="toasts"' in html
    assert "js/orders.js" in html


def test_dashboard_shows_summary_positions_and_open_orders(signed_in, account, market):
    place(account, quantity="0.5")
    place(account, order_type="limit", quantity="0.1", limit_price="49000.00")

    html = signed_in.get("/").content.decode()

    for label in ("Equity", "Buying power", "Day P&amp;L", "Open orders"):
        assert label in html
    assert 'data-testid="cash">74,995.00' in html  # 100,000 - 0.5 x 50,010
    assert 'data-testid="buying-power">70,095.00' in html  # cash less the limit order's 4,900
    assert 'data-testid="open-orders"' in html
    assert 'data-position data-symbol="BTC/USD" data-stream="quotes.BTC-USD" data-quantity="0.5"' in html
    assert "49,000.00" in html  # the open limit order


def test_symbol_page_includes_the_ticket(signed_in, account, market):
    html = signed_in.get("/markets/BTC-USD/").content.decode()

    assert 'action="/orders/new/"' in html
    assert "data-ticket" in html
    assert 'data-ask="50010"' in html
    assert 'data-buying-power="100000"' in html
    assert 'name="client_order_id"' in html
    assert "Review order" in html
    for order_type in ("market", "limit", "stop", "stop_limit", "trailing_stop"):
        assert f'value="{order_type}"' in html


def test_watchlist_rows_have_a_trade_button_and_the_dialog(signed_in, user, market):
    from marketdata.services import create_watchlist

    create_watchlist(owner=user, name="Coins", symbols=["BTC/USD"])
    html = signed_in.get("/markets/").content.decode()

    assert 'aria-label="Trade BTC/USD"' in html
    assert 'id="trade-dialog"' in html
    assert 'href="/orders/new/?symbol=BTC-USD"' in html


def test_another_users_order_is_not_found(client, other_user, account, market):
    order = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")
    client.force_login(other_user)

    assert client.get(f"/orders/{order.pk}/").status_code == 404
    assert client.get(f"/orders/{order.pk}/modify/").status_code == 404
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    assert client.post(f"/orders/{order.pk}/modify/", {"quantity": "0.2"}).status_code == 404
    order.refresh_from_db()
    assert order.status == "accepted"


def test_unknown_order_and_symbol_are_not_found(signed_in, market):
    assert signed_in.get("/orders/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert signed_in.get("/orders/new/?symbol=NOPE").status_code == 404
    assert signed_in.get("/orders/positions/BTC-USD/exits/").status_code == 404  # no position


# --- the ticket: errors next to the field ------------------------------------------------------------


def test_a_limit_order_without_a_price_shows_the_error_next_to_the_price(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(order_type="limit"))

    assert response.status_code == 400
    assert field_error(response.content.decode(), "limit_price") == "Enter a limit price."
    assert not Order.objects.exists()


def test_a_risk_rejection_shows_next_to_the_quantity(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(quantity="5"))  # 250,050 > 100,000

    assert response.status_code == 422
    assert "buying power" in field_error(response.content.decode(), "quantity").lower()
    assert not Order.objects.exists()


def test_a_dollar_amount_rejection_shows_next_to_the_amount(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(size_in="notional", quantity="", notional="500000"))

    assert response.status_code == 422
    assert "buying power" in field_error(response.content.decode(), "notional").lower()


def test_an_off_tick_price_shows_the_services_message_next_to_the_price(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(order_type="limit", limit_price="49000.005"))

    assert response.status_code == 400
    assert "multiple of" in field_error(response.content.decode(), "limit_price")


def test_bracket_leg_errors_show_next_to_their_prices(signed_in, market):
    response = signed_in.post(
        "/orders/new/", ticket(bracket="on", take_profit_price="48000.00", stop_loss_price="52000.00")
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert field_error(html, "take_profit_price") or field_error(html, "stop_loss_price")
    assert not Order.objects.exists()


def test_errors_come_back_as_json_for_fetch(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(quantity="5"), **JSON)

    assert response.status_code == 422
    body = response.json()
    assert body["errors"]["quantity"][0].lower().count("buying power")
    assert body["message"] == body["errors"]["quantity"][0]


def test_a_dollar_amount_is_for_market_orders_only(signed_in, market):
    response = signed_in.post(
        "/orders/new/",
        ticket(order_type="limit", limit_price="49000", size_in="notional", notional="100"),
        **JSON,
    )

    assert response.status_code == 400
    assert response.json()["errors"]["notional"] == ["Dollar amounts are for market orders only."]


# --- the ticket: placing ------------------------------------------------------------------------------


def test_the_review_step_places_nothing(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(step="review"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="ticket-review"' in html
    assert "Buy 0.5 BTC/USD · market · Good till canceled." in html
    assert "25,005.00" in html  # est. cost at the ask
    assert 'name="step" value="place"' in html
    assert not Order.objects.exists()


def test_the_edit_step_shows_the_form_again_with_its_values(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(step="edit", next="/markets/BTC-USD/"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="quantity" value="0.5"' in html
    assert 'name="next" value="/markets/BTC-USD/"' in html
    assert "Review order" in html
    assert not Order.objects.exists()


def test_placing_a_market_order_fills_and_redirects_with_a_message(signed_in, account, market):
    response = signed_in.post("/orders/new/", ticket(next="/markets/BTC-USD/"), follow=True)

    order = Order.objects.get()
    assert (order.status, order.source, order.average_fill_price) == ("filled", "web", Decimal("50010"))
    assert response.redirect_chain[-1][0] == "/markets/BTC-USD/"
    assert "Order filled: buy 0.5 BTC/USD at 50,010.00." in response.content.decode()
    assert Position.objects.get(account=account).quantity == Decimal("0.5")


def test_without_next_the_order_page_follows(signed_in, market):
    response = signed_in.post("/orders/new/", ticket(next="https://evil.example/"))

    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"


def test_the_same_client_order_id_places_one_order(signed_in, market):
    first = signed_in.post("/orders/new/", ticket(client_order_id="abc123"), **JSON)
    second = signed_in.post("/orders/new/", ticket(client_order_id="abc123"), **JSON)

    assert (first.status_code, second.status_code) == (201, 200)
    assert Order.objects.count() == 1
    assert second.json()["order"]["id"] == first.json()["order"]["id"]
    assert second.json()["message"].startswith("Already submitted")


def test_placing_answers_json_for_fetch(signed_in, market):
    response = signed_in.post(
        "/orders/new/", ticket(order_type="limit", limit_price="49000.00", quantity="0.1"), **JSON
    )

    assert response.status_code == 201
    body = response.json()
    assert body["order"]["status"] == "accepted"
    assert body["order"]["type"] == "limit"
    assert body["url"] == f"/orders/{body['order']['id']}/"
    assert body["message"] == "Order placed: limit buy 0.1 BTC/USD @ 49,000.00, GTC."


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"order_type": "stop", "stop_price": "51000.00"}, ("stop", None, Decimal("51000"))),
        (
            {"order_type": "stop_limit", "stop_price": "51000.00", "limit_price": "51100.00"},
            ("stop_limit", Decimal("51100"), Decimal("51000")),
        ),
        ({"order_type": "trailing_stop", "trail": "2", "trail_unit": "percent", "side": "sell"}, None),
    ],
)
def test_every_order_type_reaches_the_service(signed_in, account, market, fields, expected):
    if fields.get("side") == "sell":
        place(account, quantity="0.5")
    response = signed_in.post("/orders/new/", ticket(**fields), **JSON)

    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["order"]["id"])
    if expected:
        assert (order.order_type, order.limit_price, order.stop_price) == expected
    else:
        assert (order.order_type, order.trail_percent) == ("trailing_stop", Decimal("2"))


def test_a_dollar_market_order_is_sized_by_the_service(signed_in, market):
    response = signed_in.post(
        "/orders/new/", ticket(size_in="notional", quantity="", notional="1000"), **JSON
    )

    assert response.status_code == 201
    order = Order.objects.get()
    assert order.notional == Decimal("1000")
    assert order.quantity == Decimal("0.0199")  # floor(1000 / 50,010) to the 0.0001 lot


def test_a_bracket_order_places_its_legs(signed_in, market):
    response = signed_in.post(
        "/orders/new/",
        ticket(bracket="on", take_profit_price="52000.00", stop_loss_price="48000.00"),
        **JSON,
    )

    assert response.status_code == 201
    entry = Order.objects.get(pk=response.json()["order"]["id"])
    assert entry.order_class == "bracket"
    assert sorted(entry.legs.values_list("leg_role", flat=True)) == ["stop_loss", "take_profit"]


# --- orders: cancel, modify, history, CSV ---------------------------------------------------------------


def test_cancel_calls_the_service(signed_in, account, market):
    order = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")

    response = signed_in.post(f"/orders/{order.pk}/cancel/", {"next": "/orders/"})

    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    order.refresh_from_db()
    assert order.status == "canceled"


def test_cancelling_a_filled_order_says_why(signed_in, account, market):
    order = place(account, quantity="0.1")

    response = signed_in.post(f"/orders/{order.pk}/cancel/", **JSON)

    assert response.status_code == 409
    assert response.json()["code"] == "order_not_open"


def test_cancel_all_calls_the_service(signed_in, account, market):
    for limit in ("49000.00", "48000.00"):
        place(account, order_type="limit", quantity="0.1", limit_price=limit)

    response = signed_in.post("/orders/cancel-all/", **JSON)

    assert response.json() == {"message": "Canceled 2 open orders.", "canceled": 2}
    assert set(Order.objects.values_list("status", flat=True)) == {"canceled"}


def test_modify_replaces_the_order(signed_in, account, market):
    order = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")

    response = signed_in.post(f"/orders/{order.pk}/modify/", {"quantity": "0.2", "limit_price": "48500.00"})

    order.refresh_from_db()
    new = Order.objects.get(replaces=order)
    assert order.status == "replaced"
    assert (new.quantity, new.limit_price, new.status) == (Decimal("0.2"), Decimal("48500"), "accepted")
    assert response["Location"] == f"/orders/{new.pk}/"


def test_modify_errors_show_next_to_the_field(signed_in, account, market):
    order = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")

    response = signed_in.post(f"/orders/{order.pk}/modify/", {"quantity": "0.1", "limit_price": "49000.001"})

    assert response.status_code == 400
    assert "multiple of" in field_error(response.content.decode(), "limit_price")
    order.refresh_from_db()
    assert order.status == "accepted"


def test_modify_with_nothing_changed_says_so(signed_in, account, market):
    order = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")

    response = signed_in.post(
        f"/orders/{order.pk}/modify/", {"quantity": "0.1", "limit_price": "49000.00"}, **JSON
    )

    assert response.status_code == 400
    assert response.json()["message"] == "Change at least one value."


def test_history_filters(signed_in, account, market):
    buy = place(account, order_type="limit", quantity="0.1", limit_price="49000.00")
    place(account, quantity="0.5")
    sell = place(account, side="sell", order_type="limit", quantity="0.1", limit_price="55000.00")

    html = signed_in.get("/orders/?side=sell&status=open").content.decode()
    history = html.split('id="order-history"', 1)[1]

    assert f'data-order-id="{sell.pk}"' in history
    assert f'data-order-id="{buy.pk}"' not in history


def test_history_rejects_a_backwards_date_range(signed_in, market):
    html = signed_in.get("/orders/?since=2026-03-10&until=2026-03-01").content.decode()

    assert "The end date is before the start date." in html


def test_csv_export_follows_the_filters(signed_in, account, market):
    place(account, order_type="limit", quantity="0.1", limit_price="49000.00")
    place(account, quantity="0.5")

    response = signed_in.get("/orders/export.csv?status=filled")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["symbol"], row["type"], row["status"]) for row in rows] == [("BTC/USD", "market", "filled")]


def test_order_page_shows_the_audit_trail_and_fills(signed_in, account, market):
    order = place(account, quantity="0.5")

    html = signed_in.get(f"/orders/{order.pk}/").content.decode()

    assert html.count('<td class="cell-title">Event ') == 3  # new, accepted, filled
    assert "Fill 1" in html
    assert "50,010.00" in html


# --- positions ------------------------------------------------------------------------------------------


def test_close_position_calls_the_service(signed_in, account, market):
    place(account, quantity="0.5")

    response = signed_in.post("/orders/positions/BTC-USD/close/", follow=True)

    assert Position.objects.get(account=account).quantity == 0
    assert "Order filled: sell 0.5 BTC/USD at 50,000.00." in response.content.decode()


def test_close_all_positions_calls_the_service(signed_in, account, market, eth, quote):
    quote("ETH/USD", bid="3000.00", ask="3001.00")
    place(account, quantity="0.5")
    place(account, symbol="ETH/USD", quantity="1")

    response = signed_in.post("/orders/positions/close-all/", **JSON)

    assert response.json()["closed"] == 2
    assert set(Position.objects.filter(account=account).values_list("quantity", flat=True)) == {0}


def test_closing_a_position_you_do_not_hold_says_so(signed_in, market):
    response = signed_in.post("/orders/positions/BTC-USD/close/", **JSON)

    assert response.status_code == 404
    assert response.json()["message"] == "No open position in BTC/USD."


def test_position_exits_call_the_service(signed_in, account, market):
    place(account, quantity="0.5")

    response = signed_in.post(
        "/orders/positions/BTC-USD/exits/", {"stop_loss_price": "45000.00", "take_profit_price": "60000.00"}
    )

    assert response.status_code == 302
    position = Position.objects.get(account=account)
    assert (position.stop_loss_price, position.take_profit_price) == (Decimal("45000"), Decimal("60000"))


def test_position_exit_errors_show_next_to_the_field(signed_in, account, market):
    place(account, quantity="0.5")

    response = signed_in.post(
        "/orders/positions/BTC-USD/exits/", {"stop_loss_price": "61000.00", "take_profit_price": "60000.00"}
    )

    assert response.status_code == 400
    assert "below the take-profit" in field_error(response.content.decode(), "stop_loss_price")


def test_positions_page_lists_positions_with_live_data(signed_in, account, market):
    place(account, quantity="0.5")

    html = signed_in.get("/orders/positions/").content.decode()

    assert 'data-stream="quotes.BTC-USD"' in html
    assert 'data-average-cost="50010"' in html
    assert 'action="/orders/positions/BTC-USD/close/"' in html
    assert "data-confirm=" in html
    assert 'id="exits-dialog"' in html
