"""Celery helpers for tests."""

from __future__ import annotations


def reset_connection_pools() -> None:
    """Close every pooled broker connection of this process and start with fresh pools.

    kombu closes the pools it finds in a forked child; a Redis channel left waiting in BRPOP (by an
    in-thread test worker) makes that close block for ever, so the browser tests' forked live server
    never serves. Empty pools make the child's clean-up a no-op. The app builds new pools on demand."""
    from kombu import pools

    from tradeapp.celery import app

    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    control = app.__dict__.get("control")
    if control is not None:  # remote control (ping) caches the producer pool it was given
        control.mailbox.__dict__.pop("producer_pool", None)
