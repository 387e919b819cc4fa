"""GET /instruments, /instruments/{symbol} and /quotes: search, latest quotes, market status, bad input."""

from datetime import UTC, datetime

import pytest

from marketdata.tests.factories import InstrumentFactory, make_quote
from tradeapp.core.clock import frozen_clock

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
        "AAPL": InstrumentFactory(symbol="AAPL", name="Apple Inc."),
        "MSFT": InstrumentFactory(symbol="MSFT", name="Microsoft Corporation"),
        "SPY": InstrumentFactory(symbol="SPY", name="SPDR S&P 500 ETF Trust", asset_class="etf"),
        "BTC/USD": InstrumentFactory(
            symbol="BTC/USD", name="Bitcoin", asset_class="crypto", venue="SIM-CRYPTO"
        ),
        "EUR/USD": InstrumentFactory(
            symbol="EUR/USD", name="Euro / US Dollar", asset_class="forex", venue="SIM-FX", tradable=False
        ),
        "OLD": InstrumentFactory(symbol="OLD", name="Delisted Corp.", active=False),
    }


def symbols_of(response):
    assert response.status_code == 200, response.content
    return [row["symbol"] for row in response.json()["results"]]


def test_anonymous_gets_a_json_401(api_client):
    assert_error(api_client.get("/api/v1/instruments"), 401, "not_authenticated")


def test_list_shows_active_instruments_by_symbol_with_quotes(token_client, universe, stored_quotes):
    stored_quotes(make_quote("AAPL", "230.50", prev_close="225"))

    response = token_client.get("/api/v1/instruments")

    body = response.json()
    assert symbols_of(response) == ["AAPL", "BTC/USD", "EUR/USD", "MSFT", "SPY"]
    assert (body["count"], body["next"], body["previous"]) == (5, None, None)
    apple = body["results"][0]
    assert apple["name"] == "Apple Inc."
    assert apple["tick_size"] == "0.0100000000"
    assert apple["quote"]["last"] == "230.50"
    assert apple["quote"]["prev_close"] == "225"
    assert body["results"][1]["quote"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "micro"}, ["MSFT"]),
        ({"q": "btc-usd"}, ["BTC/USD"]),
        ({"q": "usd"}, ["BTC/USD", "EUR/USD"]),
        ({"asset_class": "etf"}, ["SPY"]),
        ({"tradable": "false"}, ["EUR/USD"]),
        ({"tradable": "true", "asset_class": "forex"}, []),
    ],
)
def test_filters(token_client, universe, params, expected):
    assert symbols_of(token_client.get("/api/v1/instruments", params)) == expected


def test_price_filters_use_the_last_price_and_skip_instruments_without_a_quote(
    token_client, universe, stored_quotes
):
    stored_quotes(make_quote("AAPL", "230"), make_quote("MSFT", "420"), make_quote("SPY", "590"))

    between = token_client.get("/api/v1/instruments", {"min_price": "230", "max_price": "500"})
    above = token_client.get("/api/v1/instruments", {"min_price": "400"})

    assert symbols_of(between) == ["AAPL", "MSFT"]
    assert symbols_of(above) == ["MSFT", "SPY"]


def test_top_gainers_and_losers(token_client, universe, stored_quotes):
    stored_quotes(
        make_quote("AAPL", "110", prev_close="100"),  # +10 %
        make_quote("MSFT", "95", prev_close="100"),  # -5 %
        make_quote("SPY", "101", prev_close="100"),  # +1 %
    )

    gainers = symbols_of(token_client.get("/api/v1/instruments", {"order": "-change_pct"}))
    losers = symbols_of(token_client.get("/api/v1/instruments", {"order": "change_pct", "limit": 2}))

    assert gainers == ["AAPL", "SPY", "MSFT", "BTC/USD", "EUR/USD"]  # no change known: last
    assert losers == ["MSFT", "SPY"]


def test_pages_link_to_each_other(token_client, universe):
    first = token_client.get("/api/v1/instruments", {"limit": 2})
    second = token_client.get(first.json()["next"])
    last = token_client.get(second.json()["next"])

    assert [symbols_of(page) for page in (first, second, last)] == [
        ["AAPL", "BTC/USD"],
        ["EUR/USD", "MSFT"],
        ["SPY"],
    ]
    assert last.json()["next"] is None
    assert "offset" not in token_client.get(second.json()["previous"]).request["QUERY_STRING"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "501"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"order": "name"}, "order"),
        ({"asset_class": "bonds"}, "asset_class"),
        ({"min_price": "abc"}, "min_price"),
        ({"min_price": "10", "max_price": "5"}, "min_price"),
        ({"tradeable": "true"}, "tradeable"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_field(token_client, universe, params, field):
    response = token_client.get("/api/v1/instruments", params)

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field


@pytest.mark.parametrize("spelling", ["AAPL", "aapl", " Aapl "])
def test_detail_matches_symbols_case_insensitively(token_client, universe, spelling):
    response = token_client.get(f"/api/v1/instruments/{spelling}")

    assert response.status_code == 200, response.content
    assert response.json()["symbol"] == "AAPL"


@pytest.mark.parametrize("spelling", ["BTC-USD", "btc-usd", "BTC/USD", "BTC%2FUSD"])
def test_detail_takes_the_dash_alias_and_the_slash(token_client, universe, spelling):
    response = token_client.get(f"/api/v1/instruments/{spelling}")

    assert response.status_code == 200, response.content
    assert response.json()["symbol"] == "BTC/USD"


def test_detail_has_quote_and_market_status(token_client, universe, stored_quotes):
    stored_quotes(make_quote("AAPL", "231.25", prev_close="230"))

    with frozen_clock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC)):  # a Monday, NYSE open 14:30-21:00 UTC
        stock = token_client.get("/api/v1/instruments/AAPL").json()
        crypto = token_client.get("/api/v1/instruments/BTC-USD").json()

    assert stock["quote"]["last"] == "231.25"
    assert stock["quote"]["change"] == "1.25"
    assert stock["market"] == {
        "is_open": True,
        "next_open": "2026-03-03T14:30:00Z",
        "next_close": "2026-03-02T21:00:00Z",
    }
    assert crypto["quote"] is None
    assert crypto["market"] == {"is_open": True, "next_open": None, "next_close": None}


def test_unknown_symbol_is_404_naming_the_field(token_client, universe):
    body = assert_error(token_client.get("/api/v1/instruments/XYZ"), 404, "not_found", "symbol")

    assert body["message"] == "Unknown symbol 'XYZ'."


def test_delisted_instrument_is_still_described(token_client, universe):
    response = token_client.get("/api/v1/instruments/old")

    assert response.status_code == 200
    assert response.json()["active"] is False


def test_quotes_in_the_order_asked_with_canonical_symbols(token_client, universe, stored_quotes):
    stored_quotes(make_quote("MSFT", "421"), make_quote("BTC/USD", "95000"))

    response = token_client.get("/api/v1/quotes", {"symbols": "msft, BTC-USD,AAPL,MSFT"})

    assert response.status_code == 200, response.content
    rows = response.json()["quotes"]
    assert [row["symbol"] for row in rows] == ["MSFT", "BTC/USD", "AAPL"]
    assert [row["quote"] and row["quote"]["last"] for row in rows] == ["421", "95000", None]


def test_quotes_of_unknown_symbols_are_404_naming_them(token_client, universe):
    body = assert_error(
        token_client.get("/api/v1/quotes", {"symbols": "AAPL,NOPE,ZZZ"}), 404, "not_found", "symbols"
    )

    assert "NOPE" in body["message"]
    assert "ZZZ" in body["message"]
    assert "AAPL" not in body["message"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "required"),
        ({"symbols": " , "}, "required"),
        ({"symbols": ",".join(f"S{n}" for n in range(201))}, "too_many_symbols"),
    ],
)
def test_quotes_need_one_to_200_symbols(token_client, universe, params, code):
    assert_error(token_client.get("/api/v1/quotes", params), 400, code, "symbols")


def test_openapi_schema_lists_the_market_data_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    assert {
        "/api/v1/instruments",
        "/api/v1/instruments/{symbol}",
        "/api/v1/quotes",
        "/api/v1/bars",
        "/api/v1/watchlists",
        "/api/v1/watchlists/{watchlist_id}",
        "/api/v1/watchlists/{watchlist_id}/items",
        "/api/v1/watchlists/{watchlist_id}/items/{symbol}",
    } <= set(paths)
    bar_parameters = {parameter["name"] for parameter in paths["/api/v1/bars"]["get"]["parameters"]}
    assert bar_parameters == {"symbol", "timeframe", "start", "end", "limit", "cursor"}
