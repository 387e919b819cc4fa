"""Shared test fixtures. Services (PostgreSQL, Redis) come from tradeapp.testing.embedded_services."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory

DATABASE_FIXTURES = {"db", "transactional_db", "django_db_setup"}
NOT_UNIT_MARKERS = ("slow", "browser", "services")


def is_unit_test(item: pytest.Item) -> bool:
    """A test that needs no database: no ``django_db`` mark, no database fixture anywhere among its
    fixtures, and none of the slow/browser/services markers (a test that starts processes is ``slow``)."""
    if item.get_closest_marker("django_db") is not None:
        return False
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return False
    return not any(item.get_closest_marker(name) for name in NOT_UNIT_MARKERS)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the unit tests by rule rather than by hand, so a new test lands in the right lane."""
    for item in items:
        if is_unit_test(item):
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


def clear_latest_quotes() -> None:
    """Remove every latest quote from Redis (one shared with a running platform may hold real ones)."""
    from marketdata.quotes import QUOTE_KEY
    from tradeapp.core.realtime import redis_client

    client = redis_client()
    stale = list(client.scan_iter(match=QUOTE_KEY.format(symbol="*"), count=1000))
    if stale:
        client.delete(*stale)


@pytest.fixture
def market(db):
    """A market without latest quotes before and after the test."""
    clear_latest_quotes()
    yield
    clear_latest_quotes()


def _crypto(symbol: str, lot: str, **extra: object):
    from decimal import Decimal

    from marketdata.tests.factories import InstrumentFactory

    return InstrumentFactory(
        symbol=symbol,
        name=f"{symbol} (simulated)",
        asset_class="crypto",
        venue="SIM-CRYPTO",
        tick_size=Decimal("0.01"),
        lot_size=Decimal(lot),
        min_quantity=Decimal(lot),
        fractionable=True,
        shortable=False,
        **extra,
    )


@pytest.fixture
def btc(market):
    """BTC/USD: crypto trades 24/7, so trading tests do not depend on the weekday."""
    return _crypto("BTC/USD", "0.0001")


@pytest.fixture
def eth(market):
    return _crypto("ETH/USD", "0.001")


@pytest.fixture
def account(user):
    """The user's funded paper account."""
    return user.trading_accounts.get()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def token_client(user) -> APIClient:
    from accounts.services import create_api_token

    _, key = create_api_token(owner=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def celery_worker_thread(settings):
    """A real Celery worker (in a thread) consuming from the configured broker (Redis or RabbitMQ).

    Over AMQP the worker thread needs ~10 s to notice shutdown, hence the generous timeout."""
    from celery.contrib.testing.worker import start_worker

    from tradeapp.celery import app

    app.conf.task_always_eager = False
    # start from an empty broker: tasks that earlier tests enqueued after their commits (snapshot
    # requests, evaluations) stay queued on a shared RabbitMQ and would come first, with their rows gone
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
        # the thread is up before its remote-control consumer is (slower over AMQP): wait for a ping
        deadline = time.monotonic() + 20
        while not app.control.ping(timeout=0.5) and time.monotonic() < deadline:
            pass
        yield worker
    # (after the worker has stopped) connections the worker and the pings used stay pooled; a later
    # fork (the browser tests' live server) would try to close them in the child and hang
    from tradeapp.testing.celery import reset_connection_pools

    reset_connection_pools()
