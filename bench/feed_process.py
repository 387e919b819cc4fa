"""The feed process of the latency benchmark: ``python -m bench.feed_process --symbols 50 --offset S``.

Runs ``marketdata.feed.run_feed`` (the production code path) over a ``ReplicatedSimulator`` whose clock
is shifted back by ``--offset`` seconds, until SIGTERM or ``--seconds``; prints the feed's counters as
one JSON line at the end. Uses the environment it is given (the bench database and Redis)."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import timedelta


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--offset", type=float, required=True, help="seconds the market clock lags")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--rate", type=float, default=4.0, help="quotes per symbol per second")
    args = parser.parse_args()

    import django

    django.setup()
    from bench.replicated import ReplicatedSimulator, shifted_clock
    from marketdata.feed import run_feed
    from marketdata.providers.simulator import SimulatorProvider

    clock = shifted_clock(timedelta(seconds=args.offset))
    provider = ReplicatedSimulator(
        SimulatorProvider(seed=7, clock=clock, quotes_per_second=args.rate), args.symbols
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("feed-ready", flush=True)
    report = run_feed(
        provider,
        provider.symbols,
        until=clock() + timedelta(seconds=args.seconds),
        enqueue=False,
        stop=stop,
    )
    counters = {
        key: value
        for key, value in vars(report).items()
        if isinstance(value, int | float) and key != "problems"
    }
    print("feed-report " + json.dumps({**counters, "problems": report.problems[:5]}), flush=True)


if __name__ == "__main__":
    main()
