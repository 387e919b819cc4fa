"""The launcher, as a newcomer uses it: it starts everything, the site answers, Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tradeapp.embedded import free_port
from tradeapp.testing.wait import wait_until

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own local server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 180) -> dict:
    last: list[object] = [None]

    def ready() -> dict | None:
        assert process.poll() is None, f"launcher exited early with {process.returncode}"
        try:
            status, body = get_json(url)
        except (OSError, ValueError) as error:
            last[0] = error
            return None
        last[0] = body
        return body if status == 200 else None

    return wait_until(ready, timeout=timeout, interval=0.2, message=lambda: f"{url} not ready: {last[0]}")


def start_launcher(env: dict[str, str], port: int, *extra: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tradeapp.launcher", "run", "--port", str(port), *extra],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def stop_and_collect(process: subprocess.Popen) -> list[psutil.Process]:
    """SIGINT the launcher (what Ctrl-C does); return the processes it had started, with their
    command lines read beforehand as ``proc.info_cmdline``."""
    started = psutil.Process(process.pid).children(recursive=True)
    for proc in started:
        proc.info_cmdline = " ".join(proc.cmdline())
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=90) == 0
    return started


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def platform_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(TRADEAPP_ENV="development", TRADEAPP_VAR_DIR=str(var_dir), LOG_LEVEL="WARNING")
    env.pop("TRADEAPP_EMBEDDED_TEST_SERVICES", None)
    env.update(overrides)
    return env


def test_embedded_run_starts_everything_and_ctrl_c_stops_everything(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    log = tmp_path / "launcher.log"
    process = start_launcher(platform_env(var_dir), port, log=log)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        health = get_json(f"http://127.0.0.1:{port}/healthz")
        postgres_pid = int((var_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        redis_pid = int((var_dir / "redis" / "redis.pid").read_text().partition(":")[0])
        started = stop_and_collect(process)
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()

    assert all(check["ok"] for check in ready["checks"].values())
    assert health == (200, {"status": "ok"})
    assert "Demo user created -> username: demo  password: " in output
    commands = " | ".join(p.info_cmdline for p in started)
    for role in ("daphne", "worker", "beat"):
        assert role in commands, commands
    assert not [p for p in started if alive(p)], output
    assert not psutil.pid_exists(postgres_pid) or not alive(psutil.Process(postgres_pid))
    assert not psutil.pid_exists(redis_pid) or not alive(psutil.Process(redis_pid))
    assert not (var_dir / "run" / "embedded.env").exists()

    # a second run reuses the data: no second demo user, nothing re-initialised (web alone shows it;
    # a feed would only load history in the background meanwhile)
    port = free_port()
    log2 = tmp_path / "launcher2.log"
    again = start_launcher(platform_env(var_dir), port, "--no-worker", "--no-beat", "--no-feed", log=log2)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz", again)
        stop_and_collect(again)
    finally:
        if again.poll() is None:
            again.kill()
    assert "Demo user 'demo' exists" in log2.read_text()


def this_runs_database_url() -> str:
    """The URL of this test run's database: migrated already, and emptied after a transactional test."""
    from django.db import connection

    db = connection.settings_dict
    credentials = f"{db['USER']}:{db['PASSWORD']}" if db["PASSWORD"] else db["USER"]
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_with_urls_set_it_starts_no_servers_of_its_own(tmp_path):
    """Uses the servers this test run has (embedded or CI's). The database is the run's test database,
    which is migrated already: migrating a fresh one took most of this test's minute, and the embedded
    run above already proves migrating from scratch."""
    var_dir = tmp_path / "var"
    urls = {k: os.environ[k] for k in ("REDIS_URL", "CELERY_BROKER_URL") if k in os.environ}
    urls["DATABASE_URL"] = this_runs_database_url()
    port = free_port()
    log = tmp_path / "launcher.log"
    process = start_launcher(platform_env(var_dir, **urls), port, "--no-beat", "--no-feed", log=log)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        started = stop_and_collect(process)
    finally:
        if process.poll() is None:
            process.kill()

    assert ready["status"] == "ready"
    assert not (var_dir / "postgres").exists()
    assert not (var_dir / "redis").exists()
    assert "starting no servers" in log.read_text()
    assert not [p for p in started if alive(p)]
