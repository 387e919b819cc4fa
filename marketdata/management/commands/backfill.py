"""``manage.py backfill``: load missing history from the configured provider and print the report."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketdata import ingest
from marketdata.providers.base import ProviderError


class Command(BaseCommand):
    help = (
        "Load 1d and 1m history (and roll up 5m/15m/1h) for the provider's instruments. Incremental: "
        "only what is missing before the oldest or after the newest stored bar is fetched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--symbols", nargs="+", help="default: every instrument of the provider")
        parser.add_argument("--days-daily", type=int, default=730, help="days of 1d bars (default 730)")
        parser.add_argument("--days-minute", type=int, default=30, help="days of 1m bars (default 30)")
        parser.add_argument(
            "--repair",
            action="store_true",
            help="then repair gaps of the last day (ingest.repair_recent_gaps)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = ingest.backfill(
                symbols=options["symbols"],
                days_daily=options["days_daily"],
                days_minute=options["days_minute"],
            )
        except ProviderError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(report.summary())
        for symbol, timeframe, row in report.rejected[:50]:
            self.stdout.write(f"  rejected {symbol} {timeframe} row {row.row}: {'; '.join(row.reasons)}")
        for problem in report.problems[:50]:
            self.stdout.write(f"  problem: {problem}")
        if options["repair"]:
            repairs = ingest.repair_recent_gaps(symbols=options["symbols"])
            missing = sum(repair.missing for repair in repairs)
            written = sum(repair.written for repair in repairs)
            self.stdout.write(f"repair: {missing} bars were missing, {written} written")
