"""Celery tasks of the trading core (queue ``orders``): thin, idempotent wrappers around
``orders.services``. Every effect is keyed so redelivery (``acks_late``) is harmless: evaluation
re-reads the order rows under lock, a reported fill is unique per (order, sequence), a reported
status that no longer applies changes nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from celery import shared_task

from orders import services
from orders.selectors import symbols_with_triggers
from orders.states import OrderStatus, Reason
from tradeapp.core.realtime import redis_client

PENDING_KEY = "tradeapp:orders:evaluate:{symbol}"
PENDING_SECONDS = 5  # at most one queued evaluation per symbol; a lost task frees the slot after this


@shared_task(name="orders.evaluate_symbol", ignore_result=True, acks_late=True)
def evaluate_symbol(symbol: str) -> int:
    """Match the symbol's resting orders and position exits against its latest quote."""
    redis_client().delete(PENDING_KEY.format(symbol=symbol))
    return services.evaluate_symbol(symbol)


def request_evaluation(symbols: list[str]) -> int:
    """Enqueue one evaluation per symbol unless one is already waiting. Returns how many were sent."""
    client = redis_client()
    sent = 0
    for symbol in symbols:
        if client.set(PENDING_KEY.format(symbol=symbol), "1", nx=True, ex=PENDING_SECONDS):
            evaluate_symbol.delay(symbol)
            sent += 1
    return sent


@shared_task(name="orders.expire_orders", ignore_result=True, acks_late=True)
def expire_orders() -> int:
    """Expire DAY orders at the session close (and any order past its expiry)."""
    return services.expire_orders()


@shared_task(name="orders.record_fill", ignore_result=True, acks_late=True)
def record_fill(report: dict[str, Any]) -> bool:
    """A venue's fill report (live brokers): applied exactly once however often it is delivered.
    ``report``: order_id, sequence, and quantity/price/commission as decimal strings, executed_at ISO."""
    return services.record_fill(
        services.ReportedFill(
            order_id=str(report["order_id"]),
            sequence=int(report["sequence"]),
            quantity=Decimal(report["quantity"]),
            price=Decimal(report["price"]),
            commission=Decimal(report["commission"]),
            executed_at=datetime.fromisoformat(report["executed_at"]),
        )
    )


@shared_task(name="orders.record_status", ignore_result=True, acks_late=True)
def record_status(report: dict[str, Any]) -> bool:
    """A venue's status report (live brokers): a repeat or a report overtaken by later events changes
    nothing. ``report``: order_id, status (accepted, rejected, canceled, expired), optional reason
    (an ``orders.states.Reason`` value) and message."""
    reason = report.get("reason")
    return services.record_status(
        services.ReportedStatus(
            order_id=str(report["order_id"]),
            status=OrderStatus(report["status"]),
            reason=Reason(reason) if reason else None,
            message=str(report.get("message", ""))[:300],
        )
    )


def on_quotes(quotes: list[Any]) -> None:
    """marketdata quote hook (in the feed): wake evaluation for symbols with resting orders or exits."""
    symbols = symbols_with_triggers([quote.symbol for quote in quotes])
    if symbols:
        request_evaluation(symbols)


@shared_task(name="orders.run_algos", ignore_result=True, acks_late=True)
def run_algos() -> int:
    """Send the due slices of working TWAP/VWAP orders (beat, every few seconds)."""
    return services.run_algos()
