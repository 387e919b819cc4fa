"""Shared test fixtures. Services (PostgreSQL, Redis) come from tradeapp.testing.embedded_services."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


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
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
        # the thread is up before its remote-control consumer is (slower over AMQP): wait for a ping
        deadline = time.monotonic() + 20
        while not app.control.ping(timeout=0.5) and time.monotonic() < deadline:
            pass
        yield worker
