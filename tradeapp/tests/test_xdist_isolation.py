"""Under xdist each worker gets its own Redis database and channel-layer prefix, so parallel tests
never read each other's quotes, sequence numbers or Celery queues."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tradeapp.testing.embedded_services import _isolate_xdist_worker, _redis_database_of_worker


def test_this_process_uses_the_redis_database_of_its_worker():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    expected = f"/{_redis_database_of_worker(worker)}" if worker else "/0"

    assert settings.REDIS_URL.endswith(expected)
    assert settings.CELERY_BROKER_URL.startswith("amqp") or settings.CELERY_BROKER_URL == settings.REDIS_URL


@pytest.mark.parametrize(("worker", "database"), [("gw0", 1), ("gw1", 2), ("gw13", 14)])
def test_workers_get_databases_after_the_serial_runs_one(worker, database):
    assert _redis_database_of_worker(worker) == database


def test_more_workers_than_spare_databases_is_refused():
    with pytest.raises(pytest.UsageError, match="at most 14 xdist workers"):
        _redis_database_of_worker("gw14")


def test_a_worker_moves_redis_the_broker_on_it_and_the_prefixes(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:secret@127.0.0.1:6400/0")
    for key in ("CELERY_BROKER_URL", "CHANNELS_PREFIX", "CACHE_KEY_PREFIX"):
        monkeypatch.delenv(key, raising=False)  # recorded, so the test restores them

    _isolate_xdist_worker("gw1")

    assert os.environ["REDIS_URL"] == "redis://:secret@127.0.0.1:6400/2"
    assert os.environ["CELERY_BROKER_URL"] == "redis://:secret@127.0.0.1:6400/2"
    assert os.environ["CHANNELS_PREFIX"] == "tradeapp:channels:gw1"
    assert os.environ["CACHE_KEY_PREFIX"] == "tradeapp-gw1"


def test_a_broker_of_its_own_is_left_alone(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6400/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    for key in ("CHANNELS_PREFIX", "CACHE_KEY_PREFIX"):
        monkeypatch.delenv(key, raising=False)  # recorded, so the test restores them

    _isolate_xdist_worker("gw0")

    assert os.environ["CELERY_BROKER_URL"] == "amqp://guest:guest@127.0.0.1:5672//"
