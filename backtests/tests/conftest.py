"""Backtest fixtures: the test strategies registered, progress and stop checks without throttling, what
the service enqueues and the events a run publishes, captured."""

from __future__ import annotations

from typing import Any

import pytest

from backtests import queue
from backtests.services import events as run_events, progress
from backtests.tests.strategies import (
    EXPLODING,
    EXPLODING_PATH,
    ONE_SYMBOL,
    ONE_SYMBOL_PATH,
    SELF_CANCELING,
    SELF_CANCELING_PATH,
)


@pytest.fixture
def registered(db):
    """The test strategies registered through the strategies app, as an admin registers one."""
    from strategies.services import register_definition

    register_definition(key=EXPLODING, path=EXPLODING_PATH, name="Exploding (test)")
    register_definition(key=SELF_CANCELING, path=SELF_CANCELING_PATH, name="Self-canceling (test)")
    register_definition(key=ONE_SYMBOL, path=ONE_SYMBOL_PATH, name="One symbol (test)")


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_INTERVAL", 0.0)
    monkeypatch.setattr(progress, "STOP_CHECK_INTERVAL", 0.0)


@pytest.fixture
def enqueued(monkeypatch) -> list[str]:
    """Ids the service enqueues after a commit (nothing reaches the broker)."""
    sent: list[str] = []
    monkeypatch.setattr(queue, "enqueue_run", sent.append)
    return sent


@pytest.fixture
def events(monkeypatch, enqueued) -> list[tuple[str, str, dict[str, Any]]]:
    """(stream, event, data) of every publish, in order (after-commit callbacks run when the test
    leaves ``django_capture_on_commit_callbacks(execute=True)``)."""
    sent: list[tuple[str, str, dict[str, Any]]] = []
    monkeypatch.setattr(run_events, "publish", lambda stream, event, data: sent.append((stream, event, data)))
    return sent
