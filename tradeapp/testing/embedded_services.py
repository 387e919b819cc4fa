"""pytest plugin (loaded with ``-p`` from pyproject): the test run gets real PostgreSQL and Redis.

With DATABASE_URL and REDIS_URL set (CI's external-URL pass, docker) it uses those. Without them it
starts embedded servers under ``var/test-services`` before pytest-django reads the settings, and stops
them when the run ends. xdist workers inherit the controller's environment and start nothing.

Under xdist (``-n 2``) every worker gets its own database (pytest-django names it after the worker)
and, here, its own Redis: database number 1 + the worker's index, its own channel-layer and cache
prefixes. Without that, one worker's test clearing or writing quotes, sequence numbers or Celery
queues would change what another worker's test reads. A Celery broker given as its own URL (CI's
RabbitMQ) is shared, so tests marked ``services`` run without ``-n`` there (``make test`` does).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Generator
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import pytest

from tradeapp.embedded import EmbeddedServices, needs_embedded, var_dir

# Redis has databases 0-15: 0 is a run without xdist, 15 the benchmarks' (bench/environment.py).
XDIST_REDIS_DATABASES = range(1, 15)

_services: EmbeddedServices | None = None
_lock_file: IO[str] | None = None


def _services_for_this_run() -> tuple[EmbeddedServices, bool]:
    """The shared cluster under var/test-services (kept between runs: no initdb each time), or, when
    another test run holds it, a throw-away one under var/test-services-<pid>. Returns (services,
    throw_away)."""
    global _lock_file  # noqa: PLW0603 - held for the whole run
    root = var_dir()
    root.mkdir(parents=True, exist_ok=True)
    _lock_file = (root / "test-services.lock").open("w")
    try:
        fcntl.flock(_lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return EmbeddedServices(root / f"test-services-{os.getpid()}", persistent=False), True
    return EmbeddedServices(root / "test-services", persistent=False), False


def _redis_database_of_worker(worker: str) -> int:
    """gw0 -> 1, gw1 -> 2, ...; more workers than spare Redis databases is refused, not shared."""
    index = int(worker.removeprefix("gw"))
    if index >= len(XDIST_REDIS_DATABASES):
        raise pytest.UsageError(
            f"at most {len(XDIST_REDIS_DATABASES)} xdist workers: each needs its own Redis database"
        )
    return XDIST_REDIS_DATABASES[index]


def _isolate_xdist_worker(worker: str) -> None:
    """Point this xdist worker at its own Redis database and prefixes (before settings are read)."""
    redis_url = os.environ["REDIS_URL"]
    worker_url = urlunsplit(urlsplit(redis_url)._replace(path=f"/{_redis_database_of_worker(worker)}"))
    broker_url = os.environ.get("CELERY_BROKER_URL")
    if broker_url is None or broker_url == redis_url:  # the broker is this Redis: follow it
        os.environ["CELERY_BROKER_URL"] = worker_url
    os.environ["REDIS_URL"] = worker_url
    # pub/sub channels are not per database in Redis: the channel layer needs its own prefix
    os.environ["CHANNELS_PREFIX"] = f"tradeapp:channels:{worker}"
    os.environ["CACHE_KEY_PREFIX"] = f"tradeapp-{worker}"


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    global _services
    os.environ.setdefault("TRADEAPP_ENV", "test")
    if needs_embedded() and "PYTEST_XDIST_WORKER" not in os.environ:
        _services, throw_away = _services_for_this_run()
        if throw_away:
            os.environ["TRADEAPP_THROW_AWAY_TEST_SERVICES"] = "1"
        started = _services.start()
        for key, value in started.items():
            os.environ.setdefault(key, value)
        os.environ["TRADEAPP_EMBEDDED_TEST_SERVICES"] = "1"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get("REDIS_URL"):
        _isolate_xdist_worker(worker)
    return (yield)


def pytest_report_header(config: pytest.Config) -> str:
    mode = "embedded" if os.environ.get("TRADEAPP_EMBEDDED_TEST_SERVICES") else "external URLs"
    return (
        f"tradeapp services ({mode}): DATABASE_URL={os.environ.get('DATABASE_URL')} "
        f"REDIS_URL={os.environ.get('REDIS_URL')} "
        f"CELERY_BROKER_URL={os.environ.get('CELERY_BROKER_URL', '(redis)')}"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if _services is not None and "PYTEST_XDIST_WORKER" not in os.environ:
        if os.environ.get("TRADEAPP_THROW_AWAY_TEST_SERVICES"):
            _services.destroy()
        else:
            _services.stop()
