"""Publish one event to each of many streams: the live feed's fan-out.

The feed sends a quote to each of 50 streams several times a second. ``publish_events`` takes every
stream's next sequence number in one Redis round trip (``tradeapp.core.realtime``'s keys, so the
numbers continue those of ``realtime.publish``) and then sends the messages concurrently. With the
pub/sub channel layer (settings.CHANNEL_LAYERS) a group send is a single PUBLISH, so a tick of 50
streams costs ~51 round trips on one connection and no per-group bookkeeping. ``test_feed.py``
receives the result through the real layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from tradeapp.core.realtime import SEQUENCE_KEY, build_message, redis_client

Publication = tuple[str, str, dict[str, Any]]  # (stream, event, data)


async def publish_events(layer: Any, publications: Sequence[Publication]) -> int:
    """Send each ``(stream, event, data)`` to its group with the stream's next sequence number (the
    same messages as ``tradeapp.core.realtime.publish``). Returns how many were sent."""
    if not publications:
        return 0
    pipe = redis_client().pipeline(transaction=False)
    for stream, _, _ in publications:
        pipe.incr(SEQUENCE_KEY.format(stream=stream))
    sequences = pipe.execute()
    await asyncio.gather(
        *(
            layer.group_send(stream, build_message(stream, event, data, int(seq)))
            for (stream, event, data), seq in zip(publications, sequences, strict=True)
        )
    )
    return len(publications)
