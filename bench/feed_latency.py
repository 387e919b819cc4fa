"""Feed-to-browser latency: the feed process (``bench.feed_process``, i.e. ``run_feed``) streams 50
symbols through the Redis channel layer to a real daphne, and 100 websocket clients (the ``websockets``
library, token auth, ``subscribe``) each following ``per_client`` of the symbols measure, per quote
message, receive time minus the quote's production time (its ``ts``: the simulator yields a quote at
its timestamp; the market clock is shifted into a past session by a known offset, added back here).

Fan-out: 100 clients x ``per_client`` subscriptions over 50 symbols = ``2 * per_client`` subscribers per
symbol, so 200 quotes/s produced become ``400 * per_client`` messages/s delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import heading, percentiles, show
from tradeapp.embedded import BASE_DIR

CLIENTS = 100
SYMBOLS = 50
WARM_UP_SECONDS = 5.0
MEASURE_SECONDS = 25.0


@dataclass
class Client:
    streams: list[str]
    received: list[tuple[float, float]] = field(default_factory=list)  # (receive time, latency)
    gaps: int = 0
    errors: list[str] = field(default_factory=list)
    last_seq: dict[str, int] = field(default_factory=dict)


async def _follow(client: Client, url: str, offset: float, ready: asyncio.Event, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, ping_interval=None, max_queue=None, compression=None) as socket:
        json.loads(await socket.recv())  # welcome
        await socket.send(json.dumps({"action": "subscribe", "streams": client.streams}))
        while True:
            reply = json.loads(await socket.recv())
            if reply.get("type") == "error":
                client.errors.append(reply.get("message", ""))
            if reply.get("type") == "subscribed":
                if sorted(reply["streams"]) != sorted(client.streams):
                    client.errors.append(f"subscribed to {reply['streams']} only")
                break
        ready.set()
        receive = asyncio.ensure_future(_receive(client, socket, offset))
        await stop.wait()
        receive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receive


async def _receive(client: Client, socket: Any, offset: float) -> None:
    received = client.received
    last_seq = client.last_seq
    async for raw in socket:
        now = time.time()
        message = json.loads(raw)
        if message.get("type") != "event":
            continue
        produced = datetime.fromisoformat(message["data"]["ts"]).timestamp() + offset
        received.append((now, now - produced))
        stream, seq = message["stream"], message["seq"]
        previous = last_seq.get(stream)
        if previous is not None and seq != previous + 1:
            client.gaps += 1
        last_seq[stream] = seq


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    import psutil

    out = {}
    for name, pid in pids.items():
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            out[name] = times.user + times.system
    return out


def _redis_pid() -> int | None:
    import psutil

    port = int(os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            return connection.pid
    return None


async def _scenario(
    ports: list[int], token: str, symbols: list[str], *, per_client: int, offset: float, logs: Path
) -> dict:
    from marketdata.streams import quote_stream

    clients = [
        Client([quote_stream(symbols[(index * per_client + k) % len(symbols)]) for k in range(per_client)])
        for index in range(CLIENTS)
    ]
    urls = [f"ws://127.0.0.1:{port}/ws/?token={token}" for port in ports]
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in clients]
    tasks = [
        asyncio.ensure_future(_follow(client, urls[index % len(urls)], offset, ready, stop))
        for index, (client, ready) in enumerate(zip(clients, readies, strict=True))
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), timeout=60)
    errors = [error for client in clients for error in client.errors]
    if errors:
        raise RuntimeError(f"subscriptions refused: {errors[:3]}")

    log = (logs / f"feed-{per_client}.log").open("w")
    feed = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.feed_process", "--symbols", str(len(symbols)), "--offset", str(offset)],
        cwd=BASE_DIR,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    pids = {"feed": feed.pid, "clients (this process)": os.getpid()}
    pids.update({f"daphne {number + 1}": _daphne_pid(port) for number, port in enumerate(ports)})
    redis_pid = _redis_pid()
    if redis_pid:
        pids["redis"] = redis_pid
    await asyncio.sleep(WARM_UP_SECONDS)
    window_start = time.time()
    cpu_before = _cpu_seconds(pids)
    await asyncio.sleep(MEASURE_SECONDS)
    cpu_after = _cpu_seconds(pids)
    window_end = time.time()
    feed.send_signal(signal.SIGTERM)
    await asyncio.to_thread(feed.wait, 30)
    log.close()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    samples = sorted(
        (at, latency)
        for client in clients
        for at, latency in client.received
        if window_start <= at < window_end
    )
    latencies = [latency for _, latency in samples]
    (logs / f"latency-{per_client}.json").write_text(
        json.dumps([[round(at, 4), round(lat, 5)] for at, lat in samples])
    )
    report_line = next(
        (
            line
            for line in (logs / f"feed-{per_client}.log").read_text().splitlines()
            if line.startswith("feed-report")
        ),
        "feed-report {}",
    )
    feed_report = json.loads(report_line.partition(" ")[2])
    elapsed = window_end - window_start
    return {
        "clients": CLIENTS,
        "web_processes": len(ports),
        "symbols": len(symbols),
        "subscriptions_per_client": per_client,
        "subscribers_per_symbol": CLIENTS * per_client // len(symbols),
        "latency_ms": percentiles(latencies),
        "messages_per_second": round(len(latencies) / elapsed),
        "seq_gaps": sum(client.gaps for client in clients),
        "cpu_percent": {
            name: round(100 * (cpu_after[name] - cpu_before.get(name, 0.0)) / elapsed)
            for name in cpu_after
            if name in cpu_before
        },
        "feed": {
            key: feed_report.get(key)
            for key in ("quotes", "published", "batches", "bars_written", "rejected_quotes", "publish_errors")
        },
        "feed_batch_mean_ms": round(
            1000 * feed_report.get("batch_seconds_total", 0.0) / max(1, feed_report.get("batches", 0)), 2
        ),
    }


def _daphne_pid(port: int) -> int:
    import psutil

    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            return connection.pid
    raise RuntimeError("daphne is not listening")


def run(ports: list[int], fanouts: list[int], logs: Path) -> dict[str, Any]:
    from bench.environment import api_token
    from bench.replicated import ReplicatedSimulator, session_anchor, shifted_clock
    from marketdata import ingest
    from marketdata.providers.simulator import SimulatorProvider

    heading(f"Feed-to-browser latency: {SYMBOLS} symbols, {CLIENTS} websocket clients, daphne + Redis layer")
    now = datetime.now(UTC)
    anchor = session_anchor(now.date())
    offset = now - anchor
    provider = ReplicatedSimulator(SimulatorProvider(seed=7, clock=shifted_clock(offset)), SYMBOLS)
    ingest.ensure_instruments(provider, provider.symbols)
    token = api_token("bench-ws")
    show(
        "market clock",
        {"replays": anchor.strftime("%Y-%m-%d %H:%M UTC"), "offset_s": round(offset.total_seconds())},
    )
    results = {}
    for per_client in fanouts:
        result = asyncio.run(
            _scenario(
                ports,
                token,
                provider.symbols,
                per_client=per_client,
                offset=offset.total_seconds(),
                logs=logs,
            )
        )
        label = f"{per_client} subscriptions per client"
        results[label] = result
        show(label, {key: value for key, value in result.items() if key not in ("cpu_percent", "feed")})
        show("  cpu % of one core", result["cpu_percent"])
        show("  feed", {**result["feed"], "batch_mean_ms": result["feed_batch_mean_ms"]})
    return results
