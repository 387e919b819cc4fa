"""The benchmark's own services: a fresh database next to DATABASE_URL's and Redis database 15.

Call ``prepare()`` before anything imports Django settings; ``cleanup()`` drops the database again.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

BENCH_DATABASE = "tradeapp_bench"
BENCH_REDIS_DB = 15


@dataclass(frozen=True)
class BenchEnvironment:
    database_url: str
    admin_url: str
    redis_url: str

    def child_env(self, **extra: str) -> dict[str, str]:
        """The environment for a process of the benchmark (daphne, the feed)."""
        return {**os.environ, **extra}


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def prepare() -> BenchEnvironment:
    """Create the bench database (dropping a leftover one), point this process at it, set up Django and
    migrate. Needs DATABASE_URL and REDIS_URL (``make bench`` starts the embedded services)."""
    import psycopg
    import redis

    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("DATABASE_URL and REDIS_URL are not set: run `make bench` (it starts the embedded services)")
    admin_url = _with_path(os.environ["DATABASE_URL"], "/postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    database_url = _with_path(os.environ["DATABASE_URL"], f"/{BENCH_DATABASE}")
    redis_url = _with_path(os.environ["REDIS_URL"], f"/{BENCH_REDIS_DB}")
    redis.Redis.from_url(redis_url).flushdb()
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        CHANNELS_PREFIX="tradeapp-bench",
        CACHE_KEY_PREFIX="tradeapp-bench",
        TRADEAPP_ENV="development",
        DJANGO_DEBUG="false",  # no query log, no browsable API: measure what production runs
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        DJANGO_SETTINGS_MODULE="tradeapp.settings",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return BenchEnvironment(database_url=database_url, admin_url=admin_url, redis_url=redis_url)


def cleanup(environment: BenchEnvironment) -> None:
    import psycopg
    import redis
    from django.db import connections

    connections.close_all()
    with psycopg.connect(environment.admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    redis.Redis.from_url(environment.redis_url).flushdb()


def api_token(name: str) -> str:
    """A fresh API token of the bench user (created on first use)."""
    import secrets

    from accounts.models import User
    from accounts.services import create_api_token, register_user

    user = User.objects.filter(username="bench").first() or register_user(
        username="bench", email="bench@example.com", password=secrets.token_urlsafe(24)
    )
    return create_api_token(owner=user, name=name)[1]


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import redis

    redis_version = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["redis_version"]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres,
        "redis": redis_version,
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }
