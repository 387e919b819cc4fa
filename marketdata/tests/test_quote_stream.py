"""Websocket quote streams through the real ASGI stack and Redis channel layer: who may subscribe, and
that a quote published on quote_stream(symbol) reaches the subscriber."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from marketdata.consumers import quote_stream
from marketdata.tests.factories import InstrumentFactory
from tradeapp.asgi import application
from tradeapp.core import realtime

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


@pytest.mark.parametrize(
    ("symbol", "stream"),
    [
        ("AAPL", "quotes.AAPL"),
        ("BTC/USD", "quotes.BTC-USD"),
        ("BRK.B", "quotes.BRK.B"),
        ("ODD SYM", "quotes.ODD_SYM"),
    ],
)
def test_quote_stream_names_are_valid_group_names(symbol, stream):
    assert quote_stream(symbol) == stream


@pytest.fixture
def instruments(db):
    InstrumentFactory(symbol="AAPL")
    InstrumentFactory(symbol="BTC/USD", asset_class="crypto", venue="SIM-CRYPTO")
    InstrumentFactory(symbol="OLD", active=False)


async def connected(user):
    from accounts.services import create_api_token

    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")
    communicator = WebsocketCommunicator(application, f"/ws/?token={key}")
    is_connected, _ = await communicator.connect(timeout=5)
    assert is_connected
    await communicator.receive_json_from(timeout=5)  # welcome
    return communicator


async def subscribe(communicator, *streams):
    await communicator.send_json_to({"action": "subscribe", "streams": list(streams)})
    replies = []
    while True:
        reply = await communicator.receive_json_from(timeout=5)
        replies.append(reply)
        if reply["type"] == "subscribed":
            return replies


async def test_subscribing_to_known_symbols_and_receiving_a_quote(user, instruments):
    communicator = await connected(user)

    replies = await subscribe(communicator, "quotes.AAPL", quote_stream("BTC/USD"))
    seq = await realtime.apublish(quote_stream("BTC/USD"), "quote", {"symbol": "BTC/USD", "last": "95000"})
    event = await communicator.receive_json_from(timeout=5)

    assert replies == [{"type": "subscribed", "streams": ["quotes.AAPL", "quotes.BTC-USD"]}]
    assert (event["stream"], event["event"], event["seq"]) == ("quotes.BTC-USD", "quote", seq)
    assert event["data"] == {"symbol": "BTC/USD", "last": "95000"}
    await communicator.disconnect()


async def test_unknown_and_delisted_symbols_are_refused(user, instruments):
    communicator = await connected(user)

    replies = await subscribe(communicator, "quotes.NOPE", "quotes.OLD", "quotes.", "quotes.AAPL")

    errors = [reply for reply in replies if reply["type"] == "error"]
    assert [(e["code"], e["field"], e["stream"]) for e in errors] == [
        ("invalid_stream", "streams", "quotes.NOPE"),
        ("invalid_stream", "streams", "quotes.OLD"),
        ("invalid_stream", "streams", "quotes."),
    ]
    assert "Unknown symbol 'NOPE'" in errors[0]["message"]
    assert replies[-1] == {"type": "subscribed", "streams": ["quotes.AAPL"]}
    await communicator.disconnect()


async def test_other_spellings_join_the_canonical_stream(user, instruments):
    communicator = await connected(user)

    replies = await subscribe(communicator, "quotes.aapl", "quotes.BTC/USD", "quotes.btc-usd")
    seq = await realtime.apublish(quote_stream("BTC/USD"), "quote", {"symbol": "BTC/USD"})

    assert replies[-1] == {
        "type": "subscribed",
        "streams": ["quotes.AAPL", "quotes.BTC-USD", "quotes.BTC-USD"],
    }
    event = await communicator.receive_json_from(timeout=5)
    assert (event["stream"], event["seq"]) == ("quotes.BTC-USD", seq)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_bar_streams_are_authorised_like_quote_streams(user, instruments):
    from marketdata.streams import bar_stream

    communicator = await connected(user)

    replies = await subscribe(
        communicator, "bars.btc-usd.1m", "bars.AAPL.1h", "bars.AAPL.2m", "bars.NOPE.1m", "bars.AAPL"
    )
    seq = await realtime.apublish(bar_stream("BTC/USD", "1m"), "bar", {"symbol": "BTC/USD"})
    event = await communicator.receive_json_from(timeout=5)

    errors = [(reply["stream"], reply["message"]) for reply in replies if reply["type"] == "error"]
    assert [stream for stream, _ in errors] == ["bars.AAPL.2m", "bars.NOPE.1m", "bars.AAPL"]
    assert "Unknown timeframe '2m'" in errors[0][1]
    assert "Unknown symbol 'NOPE'" in errors[1][1]
    assert replies[-1] == {"type": "subscribed", "streams": ["bars.BTC-USD.1m", "bars.AAPL.1h"]}
    assert (event["stream"], event["event"], event["seq"]) == ("bars.BTC-USD.1m", "bar", seq)
    await communicator.disconnect()
