"""The symbol alias rule ("BTC/USD" is "BTC-USD" in URLs and stream names) has one home,
``marketdata.symbols``: its outputs for a table of symbols, and every place that spells or reads a
symbol (stream names, lookups, search, pages, websocket authorisers) agreeing with it."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from marketdata import consumers, selectors, streams, symbols
from marketdata.providers.simulator import UNIVERSE
from marketdata.tests.factories import InstrumentFactory

# symbol, its URL spelling, what the URL spelling may mean (exact first), its quote stream
TABLE = [
    ("AAPL", "AAPL", ["AAPL"], "quotes.AAPL"),
    ("BRK.B", "BRK.B", ["BRK.B"], "quotes.BRK.B"),
    ("BTC/USD", "BTC-USD", ["BTC-USD", "BTC/USD"], "quotes.BTC-USD"),
    ("EUR/USD", "EUR-USD", ["EUR-USD", "EUR/USD"], "quotes.EUR-USD"),
    ("DOGE/USD", "DOGE-USD", ["DOGE-USD", "DOGE/USD"], "quotes.DOGE-USD"),
    ("ODD SYM", "ODD SYM", ["ODD SYM"], "quotes.ODD_SYM"),
]
SYMBOLS = [row[0] for row in TABLE]


@pytest.mark.parametrize(("symbol", "url", "candidates", "stream"), TABLE)
def test_the_alias_rule_spells_each_symbol_once(symbol, url, candidates, stream):
    assert symbols.url_symbol(symbol) == url
    assert symbols.symbol_candidates(url) == candidates
    assert symbols.symbol_candidates(url.lower()) == candidates
    assert streams.quote_stream(symbol) == stream
    assert streams.bar_stream(symbol, "1h") == f"bars.{stream.partition('.')[2]}.1h"


def test_candidates_refuse_what_names_nothing():
    assert symbols.symbol_candidates("") == []
    assert symbols.symbol_candidates("   ") == []
    assert symbols.symbol_candidates(None) == []
    assert symbols.symbol_candidates("X" * (symbols.MAX_SYMBOL_LENGTH + 1)) == []


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./ ", min_size=1, max_size=32))
def test_a_url_spelling_always_leads_back_to_its_symbol(symbol):
    if not symbol.strip():
        return
    url = symbols.url_symbol(symbol)

    assert "/" not in url
    assert symbol.strip() in symbols.symbol_candidates(url)
    assert streams.quote_stream(symbol) == streams.quote_stream(url)  # "/" and "-" share a stream


@pytest.mark.parametrize("item", UNIVERSE, ids=lambda item: item.spec.symbol)
def test_every_simulated_symbol_round_trips(item):
    symbol = item.spec.symbol

    assert symbols.symbol_candidates(symbols.url_symbol(symbol))[-1] == symbol
    assert streams.stream_symbol(symbol) == symbols.url_symbol(symbol)


def test_the_consumers_and_the_feed_use_the_same_stream_names():
    assert consumers.quote_stream is streams.quote_stream
    assert consumers.bar_stream is streams.bar_stream
    assert selectors.symbol_candidates is symbols.symbol_candidates


@pytest.fixture
def listed(db):
    return {
        symbol: InstrumentFactory(symbol=symbol, asset_class="crypto" if "/" in symbol else "stock")
        for symbol in SYMBOLS
    }


@pytest.mark.django_db
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_lookups_search_and_stream_authorisers_accept_the_url_spelling(listed, symbol):
    url = symbols.url_symbol(symbol)

    assert selectors.instrument_by_symbol(url) == listed[symbol]
    assert selectors.instrument_by_symbol(url.lower()) == listed[symbol]
    assert selectors.instruments_by_symbols([url]) == ({url: listed[symbol]}, [])
    assert listed[symbol] in selectors.search_instruments(url)
    stream = streams.quote_stream(symbol)
    assert consumers.canonical_quote_stream(f"quotes.{url.lower()}") == stream


@pytest.mark.django_db
@pytest.mark.parametrize("symbol", ["AAPL", "BTC/USD", "EUR/USD"])
def test_the_symbol_page_links_and_streams_with_the_one_spelling(client, user, listed, symbol):
    client.force_login(user)

    response = client.get(f"/markets/{symbols.url_symbol(symbol)}/")

    assert response.status_code == 200
    assert response.context["url_symbol"] == symbols.url_symbol(symbol)
    assert response.context["stream"] == streams.quote_stream(symbol)
