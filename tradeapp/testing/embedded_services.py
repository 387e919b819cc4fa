"""pytest plugin (loaded with ``-p`` from pyproject): the test run gets real PostgreSQL and Redis.

With DATABASE_URL and REDIS_URL set (CI's external-URL pass, docker) it uses those. Without them it
starts embedded servers under ``var/test-services`` before pytest-django reads the settings, and stops
them when the run ends. xdist workers inherit the controller's environment and start nothing.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from tradeapp.embedded import EmbeddedServices, needs_embedded, var_dir

_services: EmbeddedServices | None = None


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    global _services  # noqa: PLW0603 - one set of servers per test run
    os.environ.setdefault("TRADEAPP_ENV", "test")
    if needs_embedded() and "PYTEST_XDIST_WORKER" not in os.environ:
        _services = EmbeddedServices(var_dir() / "test-services", persistent=False)
        started = _services.start()
        for key, value in started.items():
            os.environ.setdefault(key, value)
        os.environ["TRADEAPP_EMBEDDED_TEST_SERVICES"] = "1"
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
        _services.stop()
