"""Polling for tests: wait for a condition instead of sleeping a fixed time.

A fixed sleep is either too long (every run pays it) or too short (a busy machine fails it). Polling
returns as soon as the condition holds and still waits long enough when the machine is slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_INTERVAL_SECONDS = 0.05


def _describe(predicate: Callable[[], object], message: str | Callable[[], str]) -> str:
    text = message() if callable(message) else message
    return text or getattr(predicate, "__name__", repr(predicate))


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    message: str | Callable[[], str] = "",
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    Raises AssertionError after ``timeout`` seconds, naming ``message`` (a string, or a callable read
    only on failure, so it can show the latest state) and the predicate's last value. The predicate is
    always called at least once, and once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"not true within {timeout:g} s: {_describe(predicate, message)} (last value: {value!r})"
            )
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def holds_for(
    predicate: Callable[[], object],
    *,
    seconds: float,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    message: str | Callable[[], str] = "",
) -> None:
    """Check that ``predicate`` stays truthy for ``seconds``; fail as soon as it does not.

    For "nothing more happens" assertions (no second snapshot, no duplicate fill): no poll can prove an
    absence sooner, so the window is the caller's stated bound, and a violation fails at once.
    """
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if not value:
            raise AssertionError(f"stopped being true: {_describe(predicate, message)} (value: {value!r})")
        if time.monotonic() >= deadline:
            return
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
