"""``manage.py feed``: stream live quotes to Redis, the websocket groups and 1m bars until stopped.

On start it syncs the provider's instruments and enqueues one incremental ``marketdata.backfill`` task
per symbol (a worker loads whatever history is missing: everything on the first run, the downtime
after a restart), then streams at once: the first ``make run`` shows live quotes within seconds instead
of waiting ~20 s for the backfill. ``--backfill background`` does the same in a thread of this process
(for running without a worker). SIGTERM or Ctrl-C stops it within about a second.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from marketdata import ingest
from marketdata.feed import run_feed
from marketdata.providers.base import UnknownSymbol
from marketdata.tasks import backfill
from tradeapp.core import clock

BACKFILL_TASK_EXPIRES_SECONDS = 3600  # a feed restarted many times without a worker leaves no pile-up


class Command(BaseCommand):
    help = "Stream live quotes (Redis, websocket groups quotes.<SYMBOL>) and build 1m bars until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--symbols", nargs="+", help="default: MARKETDATA_FEED_SYMBOLS, else every instrument"
        )
        parser.add_argument(
            "--backfill",
            choices=["enqueue", "background", "skip"],
            default="enqueue",
            help="load missing history while streaming: as worker tasks (default), in a thread of this "
            "process, or not at all",
        )
        parser.add_argument("--seconds", type=float, help="stop after this many seconds")
        parser.add_argument("--no-publish", action="store_true", help="do not publish to websockets")
        parser.add_argument("--no-tasks", action="store_true", help="enqueue no bar_closed tasks")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        source = ingest.provider()
        wanted = options["symbols"] or settings.MARKETDATA_FEED_SYMBOLS or None
        try:
            pairs = ingest.ensure_instruments(source, wanted)
        except UnknownSymbol as error:
            raise CommandError(str(error)) from error
        symbols = [spec.symbol for spec, _ in pairs]
        started = clock.now()  # the backfill loads history up to here; the feed writes from here
        if options["backfill"] == "background":
            # a daemon thread: stopping the feed abandons it, and the next start resumes where it was
            threading.Thread(
                target=_backfill_in_background, args=(symbols, started), name="feed-backfill", daemon=True
            ).start()
        elif options["backfill"] == "enqueue":
            for symbol in symbols:
                backfill.apply_async(
                    kwargs={"symbols": [symbol], "now": started.isoformat()},
                    expires=BACKFILL_TASK_EXPIRES_SECONDS,
                )
        until = started + timedelta(seconds=options["seconds"]) if options["seconds"] else None
        self.stdout.write(f"feed: streaming {len(symbols)} symbols from {source.name}", ending="\n")
        self.stdout.flush()
        report = run_feed(
            source,
            symbols,
            until=until,
            publish=not options["no_publish"],
            enqueue=not options["no_tasks"],
            stop=stop,
        )
        self.stdout.write(f"feed: stopped; {report.summary()}")


def _backfill_in_background(symbols: list[str], until: datetime) -> None:
    try:
        ingest.backfill(symbols=symbols, now=until)  # its own provider: the stream keeps the feed's
    finally:
        connections.close_all()
