"""Portfolio fixtures: latest quotes in the real Redis (none before and after each test), Celery run
in-process when a test asks (``eager``), and no snapshot request left pending in Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from orders.tests.factories import quote_at


@pytest.fixture
def quote(market) -> Callable[..., object]:
    """``quote("BTC/USD", bid="100", ask="100.10")`` stores a fresh quote as the latest."""
    from marketdata.quotes import store_quotes

    def store(symbol: str, *, bid: str, ask: str, last: str | None = None, **extra: object) -> object:
        made = quote_at(symbol, bid=bid, ask=ask, last=last, **extra)
        store_quotes([made])
        return made

    return store


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks sent with delay/apply_async run at once, in this process (countdowns are ignored)."""
    from tradeapp.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def no_pending_snapshot(request) -> Iterator[None]:
    """Forget the snapshot request the test's account left in Redis."""
    account = request.getfixturevalue("account") if "account" in request.fixturenames else None
    yield
    if account is not None:
        from portfolio.tasks import SNAPSHOT_PENDING_KEY
        from tradeapp.core.realtime import redis_client

        redis_client().delete(SNAPSHOT_PENDING_KEY.format(account=account.pk))
