"""Publish one event to each of many streams in two Redis round trips: the live feed's fan-out.

``channels_redis``'s ``group_send`` costs four round trips and ~0.4 ms of Python per group. The feed
sends a quote to each of 50 groups four times a second, which made publishing its main cost and added
up to ~40 ms to each tick's latency (docs/benchmarks.md). ``publish_events`` does the same work for all
streams at once: one pipeline takes the sequence numbers (``tradeapp.core.realtime``'s keys) and drops
expired members and reads the members of every group; one Lua script then delivers one message per
channel key with ``group_send``'s capacity and expiry rules, scored in order so receivers get them in the
order given.

It relies on channels_redis's key layout and serialisation (``_group_key``,
``_map_channel_keys_to_connection``) of the pinned 4.3 release; with another layer, or several Redis
hosts, it falls back to ``next_sequence`` + ``group_send`` per stream. ``test_feed.py`` receives the
result through the real layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from tradeapp.core.realtime import SEQUENCE_KEY, build_message, redis_client

logger = logging.getLogger(__name__)

Publication = tuple[str, str, dict[str, Any]]  # (stream, event, data)

_ORDER_STEP = 1e-6  # seconds between the scores of consecutive messages (doubles resolve ~0.3 us now)

# KEYS: channel keys; ARGV: n messages, n capacities, n scores, then expiry. Like group_send's script,
# plus the expired-message sweep it does in a separate pipeline.
_DELIVER = """
local n = #KEYS
local expiry = tonumber(ARGV[3 * n + 1])
local oldest = tonumber(ARGV[2 * n + 1]) - expiry
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, oldest)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], ARGV[2 * n + i], ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


def batched(layer: Any) -> bool:
    """Whether ``layer`` is a single-host channels_redis layer this module knows the internals of."""
    try:
        from channels_redis.core import RedisChannelLayer
    except ImportError:  # pragma: no cover - channels_redis is a requirement
        return False
    return (
        isinstance(layer, RedisChannelLayer)
        and layer.ring_size == 1
        and hasattr(layer, "_map_channel_keys_to_connection")
        and hasattr(layer, "_group_key")
    )


async def publish_events(layer: Any, publications: Sequence[Publication]) -> int:
    """Send each ``(stream, event, data)`` to its group with the stream's next sequence number (the
    same messages as ``tradeapp.core.realtime.publish``). Returns how many were sent."""
    if not publications:
        return 0
    if not batched(layer):
        return await _one_by_one(layer, publications)
    connection = layer.connection(0)
    now = time.time()
    pipe = connection.pipeline(transaction=False)
    for stream, _, _ in publications:
        group_key = layer._group_key(stream)
        pipe.incr(SEQUENCE_KEY.format(stream=stream))
        pipe.zremrangebyscore(group_key, min=0, max=int(now) - layer.group_expiry)
        pipe.zrange(group_key, 0, -1)
    replies = await pipe.execute()
    keys: list[bytes | str] = []
    payloads: list[bytes] = []
    capacities: list[int] = []
    for index, (stream, event, data) in enumerate(publications):
        seq, _, members = replies[3 * index : 3 * index + 3]
        if not members:
            continue
        message = build_message(stream, event, data, int(seq))
        channels = [member.decode("utf8") for member in members]
        _, key_messages, key_capacities = layer._map_channel_keys_to_connection(channels, message)
        for key, payload in key_messages.items():
            keys.append(key)
            payloads.append(payload)
            capacities.append(key_capacities[key])
    if keys:
        scores = [now + position * _ORDER_STEP for position in range(len(keys))]
        dropped = await connection.eval(
            _DELIVER, len(keys), *keys, *payloads, *capacities, *scores, layer.expiry
        )
        if dropped:
            logger.info("fan-out: %s channel(s) over capacity, messages dropped", dropped)
    return len(publications)


async def _one_by_one(layer: Any, publications: Sequence[Publication]) -> int:
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
