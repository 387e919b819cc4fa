"""EXPERIMENT settings: tradeapp.settings with channels_redis's pub/sub layer instead of the list-based
core layer (``python -m bench --only feed --layer pubsub``). Pub/sub pushes each group message to the
subscribed web processes; the core layer makes every web process pop messages one round trip each."""

from tradeapp.settings import *  # noqa: F403
from tradeapp.settings import REDIS_URL, env

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL}],
            "prefix": env.str("CHANNELS_PREFIX", default="tradeapp:channels"),
        },
    }
}
