"""The /ws/ endpoint through the real ASGI stack and the real Redis channel layer."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from tradeapp.asgi import application
from tradeapp.core import realtime

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


def session_cookie_for(user) -> tuple[bytes, bytes]:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return b"cookie", f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def connect(headers=(), path="/ws/"):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_anonymous_is_rejected():
    communicator, connected, _ = await connect([ORIGIN])

    assert not connected
    await communicator.disconnect()


async def test_session_user_joins_own_group(user):
    cookie = await sync_to_async(session_cookie_for)(user)
    communicator, connected, _ = await connect([ORIGIN, cookie])

    assert connected
    welcome = await communicator.receive_json_from(timeout=5)
    assert welcome == {"type": "welcome", "user": user.pk, "streams": [f"user.{user.pk}"]}
    await communicator.disconnect()


async def test_foreign_origin_is_rejected_even_with_a_valid_session(user):
    cookie = await sync_to_async(session_cookie_for)(user)
    communicator, connected, _ = await connect([(b"origin", b"https://evil.example"), cookie])

    assert not connected
    await communicator.disconnect()


async def test_cookie_without_origin_is_ignored_but_a_token_works(user):
    from accounts.services import create_api_token

    cookie = await sync_to_async(session_cookie_for)(user)
    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")

    by_cookie, cookie_connected, _ = await connect([cookie])
    by_token, token_connected, _ = await connect([(b"authorization", f"Token {key}".encode())])
    by_query, query_connected, _ = await connect(path=f"/ws/?token={key}")
    bad, bad_connected, _ = await connect(path="/ws/?token=ta_wrong")

    assert (cookie_connected, token_connected, query_connected, bad_connected) == (False, True, True, False)
    for communicator in (by_cookie, by_token, by_query, bad):
        await communicator.disconnect()


async def test_protocol_errors_are_messages_not_disconnects(user):
    from accounts.services import create_api_token

    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")
    communicator, _, _ = await connect(path=f"/ws/?token={key}")
    await communicator.receive_json_from()

    await communicator.send_to(text_data="not json at all")
    await communicator.send_json_to({"action": "dance"})
    await communicator.send_json_to({"action": "subscribe", "streams": "quotes.AAPL"})
    await communicator.send_json_to({"action": "subscribe", "streams": ["user.999999"]})
    await communicator.send_json_to({"action": "ping", "id": 7})

    replies = [await communicator.receive_json_from(timeout=5) for _ in range(6)]
    assert [r.get("code") for r in replies[:4]] == [
        "malformed_message",
        "unknown_action",
        "invalid_streams",
        "invalid_stream",
    ]
    assert replies[4] == {"type": "subscribed", "streams": []}
    assert replies[5] == {"type": "pong", "id": 7}
    await communicator.disconnect()


async def test_events_carry_increasing_sequence_numbers(user):
    from accounts.services import create_api_token

    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")
    communicator, _, _ = await connect(path=f"/ws/?token={key}")
    await communicator.receive_json_from()

    first = await realtime.apublish(realtime.user_group(user.pk), "note", {"n": 1})
    second = await realtime.apublish(realtime.user_group(user.pk), "note", {"n": 2})

    messages = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [m["seq"] for m in messages] == [first, second] == [first, first + 1]
    assert [m["data"] for m in messages] == [{"n": 1}, {"n": 2}]
    await communicator.disconnect()


async def test_message_from_a_celery_task_reaches_the_connected_client(user, celery_worker_thread):
    from accounts.services import create_api_token
    from tradeapp.core.tasks import publish_event

    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")
    communicator, connected, _ = await connect(path=f"/ws/?token={key}")
    assert connected
    await communicator.receive_json_from()

    await sync_to_async(publish_event.delay)(f"user.{user.pk}", "fill", {"symbol": "AAPL", "qty": "3"})

    message = await communicator.receive_json_from(timeout=15)
    assert message["type"] == "event"
    assert (message["event"], message["data"]) == ("fill", {"symbol": "AAPL", "qty": "3"})
    await communicator.disconnect()


async def test_other_users_events_never_arrive(user, other_user):
    from accounts.services import create_api_token

    _, key = await sync_to_async(create_api_token)(owner=user, name="ws")
    communicator, _, _ = await connect(path=f"/ws/?token={key}")
    await communicator.receive_json_from()

    await realtime.apublish(realtime.user_group(other_user.pk), "fill", {"secret": True})

    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
