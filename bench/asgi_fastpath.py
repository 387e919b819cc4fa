"""EXPERIMENT, not production code: tradeapp.asgi with one change to StreamConsumer, to measure it.

channels 4.3 wraps every consumer dispatch in ``aclose_old_connections()``, a hop through the one
thread-sensitive executor thread, although forwarding a stream event touches no database. Here
``stream.event`` messages skip that hop. Run with ``python -m bench --only feed --consumer-fastpath``.
"""

from __future__ import annotations

from typing import Any

from tradeapp.asgi import application
from tradeapp.core.consumers import StreamConsumer

_dispatch = StreamConsumer.dispatch


async def _dispatch_without_db_hop(self: StreamConsumer, message: dict[str, Any]) -> None:
    if message.get("type") == "stream.event":
        await self.stream_event(message)
    else:
        await _dispatch(self, message)


StreamConsumer.dispatch = _dispatch_without_db_hop  # type: ignore[method-assign]

__all__ = ["application"]
