"""Liveness (/healthz: the process answers) and readiness (/readyz: every dependency answers)."""

from __future__ import annotations

import time
from collections.abc import Callable

from celery import current_app
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tradeapp.core.realtime import redis_client

CELERY_PING_TIMEOUT = 1.0


def check_database() -> str | None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def check_migrations() -> str | None:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return f"{len(pending)} migrations not applied" if pending else None


def check_redis() -> str | None:
    redis_client().ping()
    return None


def check_celery() -> str | None:
    replies = current_app.control.ping(timeout=CELERY_PING_TIMEOUT)
    return None if replies else "no Celery worker answered a ping"


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": check_database,
    "migrations": check_migrations,
    "redis": check_redis,
    "celery": check_celery,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            problem = check()
        except Exception as error:  # noqa: BLE001 - a probe reports any failure of a dependency
            problem = f"{type(error).__name__}: {error}"
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        results[name] = {"ok": problem is None, "ms": elapsed_ms, **({"error": problem} if problem else {})}
    ready = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": results}, status=200 if ready else 503
    )
