"""The "bar closed" hook: code that wants to hear when a bar is stored registers a handler here.

Two kinds of handler, so each runs exactly once per bar:

- **live** (``on_bar_closed(fn)``): called in the process that stored the bar (the feed), right after
  the commit, in the order registered. Keep them quick and in-memory (publishing, caches, in-process
  strategy runners); a slow one delays the next bars.
- **durable** (``on_bar_closed(fn, durable=True)``): called on a Celery worker by the
  ``marketdata.bar_closed`` task, which the feed enqueues after commit. Use these for anything that
  writes rows (orders evaluating resting orders, strategies ticking, anomaly checks). A task may be
  redelivered (``acks_late``), so a durable handler must be idempotent: key its effects on
  ``BarClosed.key`` (instrument, timeframe, open time). The usual shape is a handler that enqueues the
  app's own task on its own queue.

A second, lighter hook, ``on_quotes(fn)``, hands each batch of quotes the live feed stored to live
handlers (in the feed process, after the quotes are in Redis): the paper broker uses it to wake the
evaluation of resting orders for symbols that have any.

Register at import time (``AppConfig.ready``) so the feed and every worker see the same handlers. A
handler that raises is logged and the other handlers still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from marketdata.domain import Bar, Quote

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BarClosed:
    """A bar that has been committed to the database (one instrument, one timeframe)."""

    instrument_id: int
    bar: Bar

    @property
    def key(self) -> str:
        """Idempotency key: ``"<instrument_id>:<timeframe>:<open_time ISO>"``."""
        return f"{self.instrument_id}:{self.bar.timeframe.value}:{self.bar.open_time.isoformat()}"


BarClosedHandler = Callable[[BarClosed], object]

_live: list[BarClosedHandler] = []
_durable: list[BarClosedHandler] = []


def on_bar_closed(handler: BarClosedHandler, *, durable: bool = False) -> BarClosedHandler:
    """Register ``handler`` (live by default, see the module docstring); registering twice is a no-op.
    Returns the handler, so it also works as a decorator."""
    handlers = _durable if durable else _live
    if handler not in handlers:
        handlers.append(handler)
    return handler


def remove_bar_closed_handler(handler: BarClosedHandler) -> None:
    for handlers in (_live, _durable):
        if handler in handlers:
            handlers.remove(handler)


QuotesHandler = Callable[[list[Quote]], object]
_quote_handlers: list[QuotesHandler] = []


def on_quotes(handler: QuotesHandler) -> QuotesHandler:
    """Register a live handler for each stored batch of quotes (registering twice is a no-op)."""
    if handler not in _quote_handlers:
        _quote_handlers.append(handler)
    return handler


def dispatch_quotes(quotes: list[Quote]) -> int:
    """Call the quote handlers with one batch; returns how many completed without error."""
    completed = 0
    for handler in _quote_handlers:
        try:
            handler(quotes)
        except Exception:  # another app's bug must not stop the feed (logged with its traceback)
            logger.exception("quotes handler %r failed", handler)
        else:
            completed += 1
    return completed


def dispatch_bar_closed(event: BarClosed, *, durable: bool = False) -> int:
    """Call the live (or durable) handlers with ``event``; returns how many completed without error."""
    completed = 0
    for handler in list(_durable if durable else _live):
        try:
            handler(event)
        # a handler is another app's code: its bug must not stop the feed or starve the other handlers
        except Exception:
            logger.exception("bar-closed handler %r failed for %s", handler, event.key)
        else:
            completed += 1
    return completed
