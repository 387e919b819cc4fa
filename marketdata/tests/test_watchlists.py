"""Watchlists: owner-scoped CRUD through the API, the rules in the services, nothing half-written."""

import pytest

from marketdata import services
from marketdata.models import Watchlist, WatchlistItem
from marketdata.tests.factories import InstrumentFactory, WatchlistFactory, make_quote
from tradeapp.core.errors import DomainError

pytestmark = pytest.mark.django_db


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]
    return body


@pytest.fixture
def universe():
    return {
        symbol: InstrumentFactory(symbol=symbol, asset_class=kind)
        for symbol, kind in [("AAPL", "stock"), ("MSFT", "stock"), ("SPY", "etf"), ("BTC/USD", "crypto")]
    }


def listed(watchlist):
    return list(
        WatchlistItem.objects.filter(watchlist=watchlist)
        .order_by("position")
        .values_list("instrument__symbol", flat=True)
    )


def test_create_with_symbols_and_read_back_with_quotes(token_client, user, universe, stored_quotes):
    stored_quotes(make_quote("AAPL", "230"))

    created = token_client.post(
        "/api/v1/watchlists", {"name": " Tech ", "symbols": ["aapl", "BTC-USD"]}, format="json"
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Tech"
    assert [item["symbol"] for item in body["items"]] == ["AAPL", "BTC/USD"]
    assert body["items"][0]["quote"]["last"] == "230"
    assert body["items"][1]["quote"] is None
    assert token_client.get("/api/v1/watchlists").json() == [body]
    assert token_client.get(f"/api/v1/watchlists/{body['id']}").json() == body


def test_add_remove_and_reorder_items(token_client, user, universe):
    watchlist = WatchlistFactory(owner=user)
    url = f"/api/v1/watchlists/{watchlist.pk}/items"

    for symbol in ("MSFT", "aapl", "btc-usd", "SPY"):
        assert token_client.post(url, {"symbol": symbol}, format="json").status_code == 201
    removed = token_client.delete(f"{url}/BTC/USD")
    reordered = token_client.put(url, {"symbols": ["spy", "AAPL", "MSFT"]}, format="json")

    assert removed.status_code == 204
    assert reordered.status_code == 200, reordered.content
    assert [item["symbol"] for item in reordered.json()["items"]] == ["SPY", "AAPL", "MSFT"]
    assert listed(watchlist) == ["SPY", "AAPL", "MSFT"]


def test_remove_by_dash_alias(token_client, user, universe):
    watchlist = services.create_watchlist(owner=user, name="Crypto", symbols=["BTC/USD"])

    response = token_client.delete(f"/api/v1/watchlists/{watchlist.pk}/items/btc-usd")

    assert response.status_code == 204
    assert listed(watchlist) == []


def test_rename_and_delete(token_client, user, universe):
    watchlist = services.create_watchlist(owner=user, name="Old", symbols=["AAPL"])

    renamed = token_client.patch(f"/api/v1/watchlists/{watchlist.pk}", {"name": "New"}, format="json")
    deleted = token_client.delete(f"/api/v1/watchlists/{watchlist.pk}")

    assert renamed.json()["name"] == "New"
    assert deleted.status_code == 204
    assert not Watchlist.objects.filter(pk=watchlist.pk).exists()
    assert not WatchlistItem.objects.filter(watchlist_id=watchlist.pk).exists()


def test_a_duplicate_symbol_is_409_already_listed(token_client, user, universe):
    watchlist = services.create_watchlist(owner=user, name="Tech", symbols=["AAPL"])

    body = assert_error(
        token_client.post(f"/api/v1/watchlists/{watchlist.pk}/items", {"symbol": "aapl"}, format="json"),
        409,
        "already_listed",
        "symbol",
    )

    assert "AAPL" in body["message"]
    assert listed(watchlist) == ["AAPL"]


def test_unknown_or_inactive_symbol_is_404_on_symbol(token_client, user, universe):
    InstrumentFactory(symbol="OLD", active=False)
    watchlist = WatchlistFactory(owner=user)
    url = f"/api/v1/watchlists/{watchlist.pk}/items"

    assert_error(token_client.post(url, {"symbol": "XYZ"}, format="json"), 404, "not_found", "symbol")
    assert_error(token_client.post(url, {"symbol": "OLD"}, format="json"), 404, "not_found", "symbol")
    assert_error(token_client.delete(f"{url}/XYZ"), 404, "not_found", "symbol")
    assert_error(token_client.delete(f"{url}/MSFT"), 404, "not_found", "symbol")  # known, not listed
    assert listed(watchlist) == []


def test_create_with_an_unknown_or_repeated_symbol_writes_nothing(token_client, user, universe):
    unknown = token_client.post(
        "/api/v1/watchlists", {"name": "A", "symbols": ["AAPL", "NOPE"]}, format="json"
    )
    repeated = token_client.post(
        "/api/v1/watchlists", {"name": "B", "symbols": ["AAPL", "aapl"]}, format="json"
    )

    assert_error(unknown, 404, "not_found", "symbols")
    assert_error(repeated, 409, "already_listed", "symbols")
    assert not Watchlist.objects.filter(owner=user).exists()


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"name": ""}, "invalid_name", "name"),
        ({"name": "   "}, "invalid_name", "name"),
        ({"name": "x" * 81}, "invalid_name", "name"),
        ({}, "required", "name"),
        ({"name": "A", "colour": "red"}, "unknown_field", "colour"),
        ({"name": "A", "symbols": "AAPL"}, "not_a_list", "symbols"),
    ],
)
def test_bad_create_input_is_400(token_client, user, payload, code, field):
    assert_error(token_client.post("/api/v1/watchlists", payload, format="json"), 400, code, field)
    assert not Watchlist.objects.filter(owner=user).exists()


def test_names_are_unique_per_owner_ignoring_case(token_client, user, other_user):
    services.create_watchlist(owner=user, name="Tech")
    services.create_watchlist(owner=other_user, name="Energy")
    second = services.create_watchlist(owner=user, name="Energy")  # another user's name is free

    assert_error(
        token_client.post("/api/v1/watchlists", {"name": "TECH"}, format="json"),
        400,
        "duplicate_name",
        "name",
    )
    assert_error(
        token_client.patch(f"/api/v1/watchlists/{second.pk}", {"name": "tech"}, format="json"),
        400,
        "duplicate_name",
        "name",
    )
    assert (
        token_client.patch(f"/api/v1/watchlists/{second.pk}", {"name": "ENERGY"}, format="json").status_code
        == 200
    )


def test_at_most_50_lists_per_user(user):
    for number in range(services.MAX_WATCHLISTS_PER_USER):
        services.create_watchlist(owner=user, name=f"List {number}")

    with pytest.raises(DomainError) as error:
        services.create_watchlist(owner=user, name="One too many")

    assert error.value.code == "too_many_watchlists"
    assert Watchlist.objects.filter(owner=user).count() == 50


def test_at_most_200_symbols_per_list(token_client, user):
    instruments = InstrumentFactory.create_batch(services.MAX_SYMBOLS_PER_WATCHLIST + 1)
    symbols = [instrument.symbol for instrument in instruments]
    full = services.create_watchlist(owner=user, name="Full", symbols=symbols[:-1])

    added = token_client.post(f"/api/v1/watchlists/{full.pk}/items", {"symbol": symbols[-1]}, format="json")
    created = token_client.post("/api/v1/watchlists", {"name": "Too big", "symbols": symbols}, format="json")

    assert_error(added, 400, "watchlist_full", "symbol")
    assert_error(created, 400, "watchlist_full", "symbols")
    assert WatchlistItem.objects.filter(watchlist=full).count() == 200


@pytest.mark.parametrize(
    "symbols",
    [["AAPL"], ["AAPL", "MSFT", "SPY"], ["AAPL", "MSFT", "MSFT"], ["AAPL", "NOPE"], []],
)
def test_reorder_must_name_every_symbol_once(token_client, user, universe, symbols):
    watchlist = services.create_watchlist(owner=user, name="Tech", symbols=["AAPL", "MSFT"])

    response = token_client.put(
        f"/api/v1/watchlists/{watchlist.pk}/items", {"symbols": symbols}, format="json"
    )

    assert_error(response, 400, "invalid_order", "symbols")
    assert listed(watchlist) == ["AAPL", "MSFT"]


def test_another_users_watchlist_is_404_for_every_verb(token_client, other_user, universe):
    foreign = services.create_watchlist(owner=other_user, name="Private", symbols=["AAPL"])
    url = f"/api/v1/watchlists/{foreign.pk}"

    responses = [
        token_client.get(url),
        token_client.patch(url, {"name": "Mine"}, format="json"),
        token_client.delete(url),
        token_client.post(f"{url}/items", {"symbol": "MSFT"}, format="json"),
        token_client.put(f"{url}/items", {"symbols": ["AAPL"]}, format="json"),
        token_client.delete(f"{url}/items/AAPL"),
    ]

    for response in responses:
        assert_error(response, 404, "not_found")
    assert token_client.get("/api/v1/watchlists").json() == []
    foreign.refresh_from_db()
    assert (foreign.name, listed(foreign)) == ("Private", ["AAPL"])


@pytest.mark.parametrize("watchlist_id", ["999999", str(2**70)])
def test_missing_watchlist_is_404(token_client, watchlist_id):
    assert_error(token_client.get(f"/api/v1/watchlists/{watchlist_id}"), 404, "not_found")


def test_anonymous_gets_401(api_client):
    assert_error(api_client.get("/api/v1/watchlists"), 401, "not_authenticated")


def test_default_watchlist_holds_the_default_symbols_that_exist(user, universe):
    InstrumentFactory(symbol="EUR/USD", asset_class="forex", active=False)

    first = services.ensure_default_watchlist(owner=user)
    again = services.ensure_default_watchlist(owner=user)

    assert first == again
    assert first.name == "My watchlist"
    assert listed(first) == ["AAPL", "MSFT", "SPY", "BTC/USD"]
    assert Watchlist.objects.filter(owner=user).count() == 1


def test_default_watchlist_is_not_made_for_a_user_who_has_one(user, universe):
    mine = services.create_watchlist(owner=user, name="Mine")

    assert services.ensure_default_watchlist(owner=user) == mine
    assert Watchlist.objects.filter(owner=user).count() == 1
