"""The test polling helpers: return as soon as the condition holds, fail with what was last seen."""

from __future__ import annotations

import itertools
import time

import pytest

from tradeapp.testing.wait import holds_for, wait_until


def test_wait_until_returns_the_first_truthy_value_without_waiting_out_the_timeout():
    calls = itertools.count()
    started = time.monotonic()

    value = wait_until(lambda: next(calls) >= 3 and "ready", timeout=10, interval=0.01)

    assert value == "ready"
    assert time.monotonic() - started < 1


def test_wait_until_fails_after_the_timeout_naming_the_message_and_the_last_value():
    with pytest.raises(AssertionError, match=r"within 0.1 s: order filled \(last value: ''\)"):
        wait_until(lambda: "", timeout=0.1, interval=0.01, message="order filled")


def test_wait_until_reads_a_callable_message_only_on_failure():
    seen: list[str] = []

    def message() -> str:
        seen.append("read")
        return "status was new"

    wait_until(lambda: True, timeout=0.1, message=message)
    with pytest.raises(AssertionError, match="status was new"):
        wait_until(lambda: False, timeout=0.05, interval=0.01, message=message)

    assert seen == ["read"]


def test_holds_for_passes_when_the_condition_stays_true_for_the_window():
    started = time.monotonic()

    holds_for(lambda: True, seconds=0.1, interval=0.01)

    assert time.monotonic() - started >= 0.1


def test_holds_for_fails_as_soon_as_the_condition_breaks():
    calls = itertools.count()
    started = time.monotonic()

    with pytest.raises(AssertionError, match="one snapshot"):
        holds_for(lambda: next(calls) < 2, seconds=10, interval=0.01, message="one snapshot")

    assert time.monotonic() - started < 1
