"""Platform-level tasks (no business rules)."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from tradeapp.core import clock
from tradeapp.core.realtime import publish

HEARTBEAT_KEY = "core:beat:last"


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Written by beat every minute so /readyz can tell that the scheduler and a worker are alive."""
    stamp = clock.now().isoformat()
    cache.set(HEARTBEAT_KEY, stamp, timeout=None)
    return stamp


@shared_task(name="core.publish_event", ignore_result=True)
def publish_event(stream: str, event: str, data: dict[str, object]) -> int:
    """Push an event to a websocket stream from a worker (for callers outside a web process)."""
    return publish(stream, event, data)
