"""Celery tasks of strategies (queue ``strategies``): the tick of a deployment on a closed bar, and the
durable bar-closed handler that fans a bar out to the running deployments on its symbol.

Redelivery (``acks_late``) is harmless: ``services.tick_deployment`` skips a bar the deployment has
processed, and a tick's writes commit together with its processed mark."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError, transaction
from redis.exceptions import ConnectionError as RedisConnectionError

from marketdata.hooks import BarClosed
from strategies import selectors, services


@shared_task(
    name="strategies.tick",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError, RedisConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def tick(deployment_id: str, bar_key: str) -> dict[str, Any]:
    """Tick one deployment for one closed bar (``marketdata.hooks.BarClosed.key``)."""
    return services.tick_deployment(deployment_id=deployment_id, bar_key=bar_key).as_dict()


def enqueue_ticks(event: BarClosed) -> int:
    """Durable bar-closed handler (on a worker, once per bar): enqueue a tick for every running
    deployment that trades the bar's symbol on its timeframe, after the commit. Returns how many."""
    deployment_ids = selectors.running_deployment_ids(
        symbol=event.bar.symbol, timeframe=event.bar.timeframe.value
    )
    key = event.key
    for deployment_id in deployment_ids:
        transaction.on_commit(lambda deployment_id=deployment_id: tick.delay(str(deployment_id), key))
    return len(deployment_ids)
