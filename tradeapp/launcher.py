"""The launcher: one command that runs the whole platform, and helpers to run a command beside the
embedded services.

    python -m tradeapp.launcher run [--port 8000]   # what `make run` calls (--no-feed, --no-worker...)
    python -m tradeapp.launcher services            # only the embedded PostgreSQL + Redis
    python -m tradeapp.launcher exec -- CMD ...     # CMD with DATABASE_URL/REDIS_URL set

Without DATABASE_URL/REDIS_URL it starts the embedded servers under var/ and stops them on exit;
with the URLs set it starts nothing of its own. Ctrl-C (SIGINT) or SIGTERM stops every process it
started: the live market-data feed, beat, worker and web first, then the servers. No Django import
here (it runs before settings).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from tradeapp.embedded import BASE_DIR, EmbeddedServices, start_missing, var_dir, wait_for_port

STOP_TIMEOUT_SECONDS = 20.0
MANAGE = str(BASE_DIR / "manage.py")


def say(message: str) -> None:
    print(f"[tradeapp] {message}", flush=True)


@dataclass
class Supervisor:
    """Starts child processes, each in its own session so that Ctrl-C reaches only us, and stops them
    in reverse order of start."""

    env: dict[str, str]
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    stopping: bool = False

    def spawn(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(list(argv), env=self.env, cwd=BASE_DIR, start_new_session=True)
        self.children.append((name, process))
        say(f"started {name} (pid {process.pid})")
        return process

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self) -> None:
        self.stopping = True
        for _name, process in reversed(self.children):
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time; killing it")
                _signal_group(process, signal.SIGKILL)
                process.wait()
            # a child may have left grandchildren (celery's pool): clear its whole group
            _signal_group(process, signal.SIGKILL)
        say("all platform processes stopped")


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


class _Interrupted(Exception):
    pass


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signal.Signals(signum).name)


def _base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.setdefault("DJANGO_SETTINGS_MODULE", "tradeapp.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _start_services() -> tuple[EmbeddedServices | None, dict[str, str]]:
    services, env = start_missing()
    if services is None:
        say("using DATABASE_URL and REDIS_URL from the environment; starting no servers")
    else:
        for key, value in env.items():
            say(f"embedded {key}={value} (data in {services.root})")
    return services, env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, MANAGE, *args], env=env, cwd=BASE_DIR, check=True)


def run_platform(host: str, port: int, with_worker: bool, with_beat: bool, with_feed: bool = True) -> int:
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    services: EmbeddedServices | None = None
    supervisor: Supervisor | None = None
    exit_code = 0
    try:
        services, extra = _start_services()
        env = _base_env(extra)
        _manage(env, "migrate", "--noinput", "-v", "1")
        _manage(env, "ensure_demo_user")
        supervisor = Supervisor(env)
        supervisor.spawn("web", [sys.executable, MANAGE, "web", "--bind", host, "--port", str(port)])
        if with_worker:
            supervisor.spawn("worker", [sys.executable, MANAGE, "worker"])
        if with_beat:
            supervisor.spawn("beat", [sys.executable, MANAGE, "beat"])
        if with_feed:
            # streams simulated quotes at once; missing history is loaded meanwhile by the worker
            # (without a worker, by a thread of the feed process)
            backfill = "enqueue" if with_worker else "background"
            supervisor.spawn("feed", [sys.executable, MANAGE, "feed", "--backfill", backfill])
        wait_for_port(host, port)
        say(
            f"tradeapp is up: http://{host}:{port}/  (API docs: /api/docs/, admin: /admin/). Ctrl-C stops it."
        )
        while True:
            exited = supervisor.first_exited()
            if exited is not None:
                say(f"{exited[0]} exited with code {exited[1]}; stopping the platform")
                exit_code = 1
                break
            time.sleep(0.5)
    except _Interrupted as interrupt:
        say(f"received {interrupt}; stopping")
    except subprocess.CalledProcessError as error:
        say(f"setup step failed: {' '.join(map(str, error.cmd[1:]))}")
        exit_code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop_all()
        if services is not None:
            services.stop()
            say("embedded services stopped")
    return exit_code


def run_services() -> int:
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    services = None
    try:
        services, env = _start_services()
        for key, value in env.items():
            print(f"export {key}={value}", flush=True)
        while True:
            time.sleep(3600)
    except _Interrupted:
        pass
    finally:
        if services is not None:
            services.stop()
    return 0


def run_command(command: Sequence[str]) -> int:
    """Run ``command`` with the services' URLs in its environment; stop what we started after it."""
    if not command:
        say("exec needs a command after --")
        return 2
    services = None
    try:
        services, extra = start_missing()
        return subprocess.call(list(command), env=_base_env(extra))
    except KeyboardInterrupt:
        return 130
    finally:
        if services is not None:
            services.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tradeapp.launcher",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run web + worker + beat + feed (and the embedded services if needed)")
    run.add_argument("--host", default=os.environ.get("WEB_BIND", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    run.add_argument("--no-worker", action="store_true")
    run.add_argument("--no-beat", action="store_true")
    run.add_argument("--no-feed", action="store_true", help="no live market-data feed")
    sub.add_parser("services", help="run only the embedded PostgreSQL and Redis until Ctrl-C")
    exec_parser = sub.add_parser("exec", help="run a command with the services' URLs set")
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    Path(var_dir()).mkdir(parents=True, exist_ok=True)
    if args.action == "run":
        return run_platform(args.host, args.port, not args.no_worker, not args.no_beat, not args.no_feed)
    if args.action == "services":
        return run_services()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return run_command(command)


if __name__ == "__main__":
    sys.exit(main())
