"""The one websocket endpoint ``/ws/``: authenticate, join the user's group, forward stream events.

Apps add subscribable streams (``quotes.<SYMBOL>``...) by registering an authoriser in
``STREAM_AUTHORISERS``; the consumer itself holds no business rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tradeapp.core.realtime import user_group

CLOSE_UNAUTHENTICATED = 4401
MAX_SUBSCRIPTIONS = 200

# stream prefix -> async fn(user, stream) returning (canonical group name, None) when allowed, or
# (None, a sentence saying why not). The consumer joins the canonical name, so "quotes.aapl" and
# "quotes.AAPL" end up in the one group the publisher writes to.
StreamAuthoriser = Callable[[Any, str], Awaitable[tuple[str | None, str | None]]]
STREAM_AUTHORISERS: dict[str, StreamAuthoriser] = {}


def register_stream(prefix: str, authoriser: StreamAuthoriser) -> None:
    STREAM_AUTHORISERS[prefix] = authoriser


class StreamConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)  # before accept: the handshake gets 403
            return
        self.user = user
        self.subscriptions: set[str] = set()
        self.own_group = user_group(user.pk)
        await self.channel_layer.group_add(self.own_group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "welcome", "user": user.pk, "streams": [self.own_group]})

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "own_group"):
            return
        for group in (self.own_group, *self.subscriptions):
            await self.channel_layer.group_discard(group, self.channel_name)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # receive_json answers with a protocol error instead of dropping the socket

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self._error("malformed_message", "Send a JSON object with an 'action'.")
            return
        action = content.get("action")
        if action == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        elif action in ("subscribe", "unsubscribe"):
            await self._change_subscriptions(action, content.get("streams"))
        else:
            await self._error(
                "unknown_action", f"Unknown action {action!r}; use ping, subscribe or unsubscribe."
            )

    async def _change_subscriptions(self, action: str, streams: Any) -> None:
        if not isinstance(streams, list) or not all(isinstance(s, str) for s in streams) or not streams:
            await self._error("invalid_streams", "'streams' must be a non-empty list of names.", "streams")
            return
        accepted: list[str] = []
        for requested in streams:
            stream, problem = await self._authorise(requested)
            if stream is None:
                if action == "subscribe":
                    await self._error(
                        "invalid_stream", problem or "Not allowed.", "streams", stream=requested
                    )
                continue
            if action == "unsubscribe":
                if stream in self.subscriptions:
                    self.subscriptions.discard(stream)
                    await self.channel_layer.group_discard(stream, self.channel_name)
                accepted.append(stream)
                continue
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                await self._error(
                    "too_many_subscriptions", f"At most {MAX_SUBSCRIPTIONS} streams.", "streams"
                )
                break
            self.subscriptions.add(stream)
            await self.channel_layer.group_add(stream, self.channel_name)
            accepted.append(stream)
        await self.send_json({"type": f"{action}d", "streams": accepted})

    async def _authorise(self, stream: str) -> tuple[str | None, str | None]:
        prefix, _, rest = stream.partition(".")
        authoriser = STREAM_AUTHORISERS.get(prefix)
        if authoriser is None or not rest:
            return None, f"Unknown stream {stream[:80]!r}."
        return await authoriser(self.user, stream)

    async def _error(self, code: str, message: str, field: str | None = None, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "field": field, **extra})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels wraps every dispatch in aclose_old_connections(), a hop through the single
        # thread-sensitive executor thread to tidy database connections. Forwarding a stream event
        # touches no database, and under a busy feed that hop queued events behind each other (p99
        # 185 -> 75 ms with 100 clients, docs/benchmarks.md), so events skip it.
        if message.get("type") == "stream.event":
            await self.stream_event(message)
        else:
            await super().dispatch(message)

    async def stream_event(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "event",
                "stream": message["stream"],
                "event": message["event"],
                "seq": message["seq"],
                "data": message["data"],
            }
        )
