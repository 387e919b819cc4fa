"""``python -m bench`` (``make bench``): run the market-data benchmarks and print the figures.

    python -m bench                      # all: backfill, range read, feed latency, order round trip, backtest
    python -m bench --only trading       # REST order -> fill latency, throughput, pgbench, profile
    python -m bench --only backtest      # engine vs backtesting.py vs vectorbt, sweep, memory, profile
    python -m bench --only feed --fanout 5 10
    python -m bench --json var/bench/results.json
    python -m bench --only feed --web-processes 2

Needs DATABASE_URL and REDIS_URL (``make bench`` wraps it in ``tradeapp.launcher exec``, which starts the
embedded services). Works in its own database and Redis db 15; drops them at the end (``--keep`` not).
Each part is bounded: about 20 s for the backfill, 90 s for range reads, 35 s per fan-out scenario.
Figures and conclusions: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import environment
from bench.stats import heading, show
from tradeapp.embedded import var_dir

PARTS = ("backfill", "range", "feed", "trading", "backtest")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--fanout", nargs="+", type=int, default=[5, 10], help="subscriptions per client")
    parser.add_argument("--web-processes", type=int, default=1, help="daphne processes for the feed test")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    bench_env = environment.prepare()
    logs = var_dir() / "bench"
    results: dict[str, object] = {}
    try:
        from bench import backfill_speed, backtest, feed_latency, range_read, server, trading
        from tradeapp.core import clock

        heading("Machine")
        results["machine"] = environment.machine()
        show("machine", results["machine"])
        now = clock.now()
        if "backfill" in args.only or "range" in args.only:
            results["backfill"] = backfill_speed.run()  # the range read needs its data as well
        if "range" in args.only:
            with server.daphne(logs) as daphne:
                results["range_read"] = range_read.run(daphne.port, now)
        if "feed" in args.only:
            with server.daphnes(logs, args.web_processes) as daphnes:
                results["feed_latency"] = feed_latency.run([d.port for d in daphnes], args.fanout, logs)
                results["feed_latency_setup"] = {"web_processes": args.web_processes}
        if "trading" in args.only:
            with server.daphnes(logs, max(args.web_processes, 2)) as daphnes:
                results["trading"] = trading.run([d.port for d in daphnes], bench_env.admin_url)
        if "backtest" in args.only:
            results["backtest"] = backtest.run()
    finally:
        if not args.keep:
            environment.cleanup(bench_env)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
