"""Order updates and fills reach the owner's websocket (stream user.<id>) after the commit, with
increasing sequence numbers; nobody else's socket hears them."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.services import create_api_token
from accounts.tests.factories import UserFactory
from orders.tests.factories import place
from tradeapp.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


async def connect(user):
    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")
    communicator = WebsocketCommunicator(application, f"/ws/?token={key}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.receive_json_from(timeout=5)  # welcome
    return communicator


async def test_a_fill_is_pushed_to_the_owner_only(user, account, btc, quote):
    await sync_to_async(quote)("BTC/USD", bid="100.00", ask="100.10")
    stranger = await sync_to_async(UserFactory)()
    mine, theirs = await connect(user), await connect(stranger)

    order = await sync_to_async(place)(account, quantity="2")
    first = await mine.receive_json_from(timeout=5)
    second = await mine.receive_json_from(timeout=5)

    assert (first["stream"], first["event"]) == (f"user.{user.pk}", "order")
    assert (first["data"]["id"], first["data"]["status"]) == (str(order.pk), "filled")
    assert (second["event"], second["data"]["quantity"], second["data"]["price"]) == ("fill", "2", "100.1")
    assert second["seq"] == first["seq"] + 1
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()
