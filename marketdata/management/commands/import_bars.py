"""``manage.py import_bars SYMBOL TIMEFRAME path.csv``: upsert bars from a CSV file and print the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketdata.csv_import import FORMAT_HINT, MalformedCsv, import_bar_csv
from marketdata.domain import Timeframe
from marketdata.selectors import instrument_by_symbol
from tradeapp.core.errors import NotFound


class Command(BaseCommand):
    help = f"Import bars of one instrument and timeframe from a CSV file ({FORMAT_HINT}, with a header)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("symbol", help="e.g. AAPL, BTC/USD or BTC-USD")
        parser.add_argument("timeframe", help=", ".join(member.value for member in Timeframe))
        parser.add_argument("path", type=Path, help="the CSV file")
        parser.add_argument(
            "--show-skipped",
            type=int,
            default=50,
            metavar="N",
            help="list at most N skipped rows (default 50)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            timeframe = Timeframe.parse(options["timeframe"])
            instrument = instrument_by_symbol(options["symbol"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        except NotFound as error:
            raise CommandError(error.message) from error
        path: Path = options["path"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from error
        try:
            report = import_bar_csv(instrument=instrument, timeframe=timeframe, data=data)
        except MalformedCsv as error:
            raise CommandError(f"{path}: {error.message} Nothing was imported.") from error

        self.stdout.write(f"{instrument.symbol} {timeframe.value} from {path}: {report.summary()}")
        limit = max(0, options["show_skipped"])
        for line in report.skipped_lines(limit):
            self.stdout.write(f"  skipped {line}")
        if len(report.skipped) > limit:
            self.stdout.write(f"  ... and {len(report.skipped) - limit} more skipped rows")
