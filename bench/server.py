"""A real daphne serving tradeapp.asgi on a free 127.0.0.1 port, for the API and websocket benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tradeapp.embedded import BASE_DIR, free_port, wait_for_port

APPLICATION = "tradeapp.asgi:application"


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@contextlib.contextmanager
def daphne(log_dir: Path, *, application: str = APPLICATION, name: str = "daphne") -> Iterator[Server]:
    """Start daphne with this process's environment (the bench database); stop it on exit."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), application],
            cwd=BASE_DIR,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port("127.0.0.1", port, timeout=60)
            yield Server(port=port, pid=process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def daphnes(log_dir: Path, count: int, *, application: str = APPLICATION) -> Iterator[list[Server]]:
    """``count`` daphne processes sharing the Redis channel layer (as several web processes would)."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(daphne(log_dir, application=application, name=f"daphne-{number}"))
            for number in range(count)
        ]
