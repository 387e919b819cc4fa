"""Bars from a CSV file: decode and parse every row into domain bars (no database), then store them with
one call to ``services.upsert_bars``, which also screens bar_problems and out-of-order rows.

The format: a header line naming the columns ``open_time,open,high,low,close,volume`` and optionally
``trade_count`` (any order, any case), then one bar per line. ``open_time`` is ISO 8601 with a UTC
offset or ``Z``, or unix epoch seconds. A file that cannot be read as such a table (empty, not UTF-8,
no header, wrong columns) raises MalformedCsv and nothing is written; a bad row is skipped and reported
with its line number (the header is line 1) and the reasons.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from marketdata.domain import Bar, Timeframe
from marketdata.services import upsert_bars
from tradeapp.core.decimals import PRICE_DIGITS, PRICE_PLACES, QUANTITY_DIGITS, QUANTITY_PLACES
from tradeapp.core.errors import DomainError

if TYPE_CHECKING:
    from marketdata.models import Instrument

REQUIRED_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS = ("trade_count",)
FORMAT_HINT = "open_time,open,high,low,close,volume[,trade_count]"
MAX_FILE_BYTES = 256 * 1024 * 1024  # ~4 million 1-minute bars
_INTEGER = re.compile(r"^-?\d+$")
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_EPOCH_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
_LATEST_EPOCH_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_MAX_TRADE_COUNT = 2**31 - 1  # an integer column
_SHOWN = 40  # characters of a bad value quoted back


class MalformedCsv(DomainError):
    """The file as a whole cannot be read as a bar table; nothing was written."""

    def __init__(self, message: str):
        super().__init__("malformed_csv", message, "file")


@dataclass(frozen=True, slots=True)
class SkippedRow:
    line: int
    reasons: tuple[str, ...]


@dataclass(slots=True)
class ParsedCsv:
    """Bars that parsed, each with its file line, and the rows that did not."""

    rows_read: int = 0
    bars: list[Bar] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)


@dataclass(slots=True)
class CsvImportReport:
    rows_read: int
    imported: int
    skipped: list[SkippedRow]

    def summary(self) -> str:
        return f"{self.rows_read} rows read, {self.imported} imported, {len(self.skipped)} skipped."

    def skipped_lines(self, limit: int | None = None) -> list[str]:
        """One line of text per skipped row (the first ``limit`` of them)."""
        shown = self.skipped if limit is None else self.skipped[:limit]
        return [f"line {row.line}: {'; '.join(row.reasons)}" for row in shown]


def decode_csv(data: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark is allowed); MalformedCsv if empty, too big or not
    UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise MalformedCsv(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedCsv(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be decoded); save it as UTF-8 CSV."
        ) from error
    if not text.strip():
        raise MalformedCsv(f"The file is empty; expected a header line {FORMAT_HINT} and bar rows.")
    if "\x00" in text:
        raise MalformedCsv("The file contains NUL bytes: it is not a CSV text file.")
    return text


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else value[:_SHOWN] + "..."


def _looks_like_data(cell: str) -> bool:
    """A time or a number where a column name should be: the file has no header line."""
    text = cell.strip()
    try:
        datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return True
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return bool(text)


def _read_header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    if names and _looks_like_data(cells[0]):
        raise MalformedCsv(
            f"The first line is data, not a header; start the file with the line {FORMAT_HINT}."
        )
    problems: list[str] = []
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    unknown = [name or "(blank)" for name in names if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        problems.append(f"unknown {', '.join(_shown(name) for name in unknown)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"repeated {', '.join(repeated)}")
    if problems:
        raise MalformedCsv(f"Wrong columns ({'; '.join(problems)}); the header must be {FORMAT_HINT}.")
    return names


def _parse_time(text: str) -> tuple[datetime | None, str | None]:
    if _INTEGER.match(text):
        seconds = int(text) if len(text) <= 20 else _LATEST_EPOCH_SECONDS + 1
        if not _EARLIEST_EPOCH_SECONDS <= seconds <= _LATEST_EPOCH_SECONDS:
            hint = " (milliseconds? give seconds)" if seconds > _LATEST_EPOCH_SECONDS else ""
            return None, f"open_time {_shown(text)} is out of range for unix seconds{hint}"
        return _UNIX_EPOCH + timedelta(seconds=seconds), None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None, f"open_time '{_shown(text)}' is not an ISO 8601 time or unix seconds"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, f"open_time '{_shown(text)}' has no UTC offset (add Z or +00:00)"
    return value.astimezone(UTC), None


def _parse_decimal(name: str, text: str, digits: int, places: int) -> tuple[Decimal | None, str | None]:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, f"{name} '{_shown(text)}' is not a number"
    if not value.is_finite():
        return None, f"{name} '{_shown(text)}' is not a finite number"
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return None, f"{name} {_shown(text)} has more than {places} decimal places"
    if value != 0 and value.adjusted() >= digits - places:
        return None, f"{name} {_shown(text)} is too large"
    return value, None


def _parse_count(text: str) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    if not _INTEGER.match(text) or len(text) > 12 or abs(int(text)) > _MAX_TRADE_COUNT:
        return None, f"trade_count '{_shown(text)}' is not a whole number"
    return int(text), None


def parse_bar_csv(text: str, *, symbol: str, timeframe: Timeframe) -> ParsedCsv:
    """Parse the decoded file (see the module docstring). Raises MalformedCsv for the file as a whole;
    row problems go to ``skipped``. Does not check bar_problems or ordering (``upsert_bars`` does)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    parsed = ParsedCsv()
    try:
        header = next((cells for cells in reader if any(cell.strip() for cell in cells)), None)
        if header is None:
            raise MalformedCsv(f"The file has no header line; expected {FORMAT_HINT}.")
        names = _read_header(header)
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows
            parsed.rows_read += 1
            bar, reasons = _parse_row(names, cells, symbol=symbol, timeframe=timeframe)
            if bar is None:
                parsed.skipped.append(SkippedRow(reader.line_num, tuple(reasons)))
            else:
                parsed.bars.append(bar)
                parsed.lines.append(reader.line_num)
    except csv.Error as error:
        raise MalformedCsv(f"The file is not valid CSV near line {reader.line_num}: {error}.") from error
    return parsed


def _parse_row(
    names: Sequence[str], cells: Sequence[str], *, symbol: str, timeframe: Timeframe
) -> tuple[Bar | None, list[str]]:
    if len(cells) != len(names):
        return None, [f"expected {len(names)} columns, found {len(cells)}"]
    values = {name: cell.strip() for name, cell in zip(names, cells, strict=True)}
    reasons: list[str] = []
    missing = [name for name in REQUIRED_COLUMNS if not values[name]]
    if missing:
        return None, [f"empty {', '.join(missing)}"]
    open_time, problem = _parse_time(values["open_time"])
    reasons += [problem] if problem else []
    numbers: dict[str, Decimal | None] = {}
    for name in ("open", "high", "low", "close"):
        numbers[name], problem = _parse_decimal(name, values[name], PRICE_DIGITS, PRICE_PLACES)
        reasons += [problem] if problem else []
    numbers["volume"], problem = _parse_decimal("volume", values["volume"], QUANTITY_DIGITS, QUANTITY_PLACES)
    reasons += [problem] if problem else []
    trade_count, problem = _parse_count(values.get("trade_count", ""))
    reasons += [problem] if problem else []
    if reasons or open_time is None:
        return None, reasons
    prices = {name: value for name, value in numbers.items() if value is not None}
    return Bar(symbol=symbol, timeframe=timeframe, open_time=open_time, trade_count=trade_count, **prices), []


def import_bar_csv(*, instrument: Instrument, timeframe: Timeframe | str, data: bytes) -> CsvImportReport:
    """Parse ``data`` and upsert its sound bars for ``instrument`` in one transaction. Raises
    MalformedCsv (nothing written) when the file as a whole is unreadable."""
    frame = Timeframe.parse(timeframe)
    parsed = parse_bar_csv(decode_csv(data), symbol=instrument.symbol, timeframe=frame)
    upserted = upsert_bars(instrument=instrument, bars=parsed.bars)
    rejected = [SkippedRow(parsed.lines[row.row - 1], tuple(row.reasons)) for row in upserted.rejected]
    skipped = sorted(parsed.skipped + rejected, key=lambda row: row.line)
    return CsvImportReport(rows_read=parsed.rows_read, imported=upserted.written, skipped=skipped)
