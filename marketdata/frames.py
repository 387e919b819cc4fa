"""Bars as float arrays for analysis, read through the ``BarChunk`` cache (``selectors.bars_frame``).

Why a cache: a range read of ~130,000 1-minute bars spends ~200 ms inside PostgreSQL converting
NUMERIC to float8, whatever the index. The conversion is the same every time, so it is done once per
*bucket* (a UTC day of intraday bars, a month of 1h bars, a year of 1d bars) and the packed arrays are
kept in ``marketdata_barchunk``. A warm read is then one index scan over ~90 rows and a memory copy.

Why it cannot go stale: triggers on ``marketdata_bar`` (migration 0002) bump the bucket's ``version``
and clear its payload in the same transaction as any write to the bucket's bars. A reader notes the
versions *before* it reads the bars (so the bars it reads are at least that new) and stores a payload
only where the version is unchanged (``UPDATE ... WHERE version = %s``, skipping rows a writer has
locked). Floats are for analysis; exact values come from ``selectors.bars_page``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import connection

from marketdata.domain import Timeframe, ensure_utc

if TYPE_CHECKING:
    import numpy as np

# Packed payload: every column of the bucket one after another, little-endian, fixed width.
PAYLOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("open_time", "<i8"),  # nanoseconds since the Unix epoch, UTC
    ("open", "<f8"),
    ("high", "<f8"),
    ("low", "<f8"),
    ("close", "<f8"),
    ("volume", "<f8"),
    ("trade_count", "<i4"),  # -1 where the source had none
)
_PG_EPOCH_MICROSECONDS = 946_684_800 * 1_000_000  # timestamptz counts microseconds from 2000-01-01 UTC
_ARRAY_HEADER = struct.Struct(">iiiii")  # ndim, has-nulls flag, element type, length, lower bound
# (column, SQL expression, element type as PostgreSQL's binary array sends it)
_SQL_ARRAYS = (
    ("open_time", "open_time", ">i8"),
    ("open", "open::float8", ">f8"),  # numeric -> float8 is correctly rounded (via its text form)
    ("high", "high::float8", ">f8"),
    ("low", "low::float8", ">f8"),
    ("close", "close::float8", ">f8"),
    ("volume", "volume::float8", ">f8"),
    ("trade_count", "coalesce(trade_count, -1)", ">i4"),
)
_CHUNKS_QUERY = (
    "SELECT id, version, bucket, bar_count, payload FROM marketdata_barchunk "
    "WHERE instrument_id = %s AND timeframe = %s AND bucket >= %s AND bucket <= %s ORDER BY bucket"
)
# One row per bucket, one binary array per column: no Python object per bar.
_BUILD_QUERY = (
    "SELECT marketdata_bar_bucket(timeframe, open_time) AS bucket, count(*), "  # noqa: S608 - constants
    + ", ".join(f"array_send(array_agg({sql} ORDER BY open_time))" for _, sql, _ in _SQL_ARRAYS)
    + " FROM marketdata_bar"
    " WHERE instrument_id = %s AND timeframe = %s AND open_time >= %s AND open_time < %s"
    " GROUP BY 1"
)
_STORE_QUERY = (
    "UPDATE marketdata_barchunk AS chunk SET bar_count = built.bar_count, payload = built.payload "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::bytea[]) "
    "AS built(id, version, bar_count, payload) "
    "WHERE chunk.id = built.id AND chunk.version = built.version AND chunk.id IN "
    "(SELECT id FROM marketdata_barchunk WHERE id = ANY(%s) FOR UPDATE SKIP LOCKED)"
)


def bucket_of(timeframe: Timeframe, at: datetime) -> date:
    """The bucket a bar opening at ``at`` belongs to (mirrors SQL ``marketdata_bar_bucket``)."""
    day = ensure_utc(at).date()
    if timeframe is Timeframe.H1:
        return day.replace(day=1)
    if timeframe is Timeframe.D1:
        return day.replace(month=1, day=1)
    return day


def bucket_end(timeframe: Timeframe, bucket: date) -> date:
    """The first day after ``bucket`` (mirrors SQL ``marketdata_bar_bucket_width``)."""
    if timeframe is Timeframe.H1:
        return date(bucket.year + (bucket.month == 12), bucket.month % 12 + 1, 1)
    if timeframe is Timeframe.D1:
        return date(bucket.year + 1, 1, 1)
    return bucket + timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(slots=True)
class _Chunk:
    chunk_id: int
    version: int
    bucket: date
    count: int | None
    payload: bytes | None


def _sql_array(raw: bytes, count: int, element: str) -> np.ndarray:
    """The elements of a one-dimensional, NULL-free binary array of ``count`` fixed-width values."""
    import numpy as np

    ndim, has_nulls, _, length, _ = _ARRAY_HEADER.unpack_from(raw)
    if (ndim, has_nulls, length) != (1, 0, count):
        raise RuntimeError(f"unexpected array from PostgreSQL: ndim={ndim} nulls={has_nulls} length={length}")
    pairs = np.frombuffer(raw, dtype=[("size", ">i4"), ("value", element)], offset=_ARRAY_HEADER.size)
    return pairs["value"]


def _pack(count: int, arrays: Sequence[bytes]) -> bytes:
    """A bucket's payload from the binary arrays of ``_BUILD_QUERY``."""
    parts = []
    for (name, _, element), raw, (_, stored) in zip(_SQL_ARRAYS, arrays, PAYLOAD_COLUMNS, strict=True):
        values = _sql_array(raw, count, element)
        if name == "open_time":
            values = (values.astype("<i8") + _PG_EPOCH_MICROSECONDS) * 1000
        parts.append(values.astype(stored).tobytes())
    return b"".join(parts)


def unpack(payload: bytes, count: int) -> dict[str, np.ndarray]:
    """The columns of a payload (read-only views into it)."""
    import numpy as np

    columns, offset = {}, 0
    for name, element in PAYLOAD_COLUMNS:
        dtype = np.dtype(element)
        columns[name] = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
        offset += dtype.itemsize * count
    return columns


def _build(
    cursor: object, instrument_id: int, timeframe: Timeframe, missing: list[_Chunk]
) -> dict[date, tuple[int, bytes]]:
    """Payloads for the ``missing`` buckets (one query over their span), stored where still current."""
    first = _midnight(missing[0].bucket)
    last = _midnight(bucket_end(timeframe, missing[-1].bucket))
    cursor.execute(_BUILD_QUERY, [instrument_id, timeframe.value, first, last], binary=True)  # type: ignore[attr-defined]
    built = {bucket: (count, _pack(count, arrays)) for bucket, count, *arrays in cursor.fetchall()}  # type: ignore[attr-defined]
    wanted = {chunk.bucket for chunk in missing}
    built = {bucket: value for bucket, value in built.items() if bucket in wanted}
    stored = [(chunk, built.get(chunk.bucket, (0, b""))) for chunk in missing]
    if connection.in_atomic_block:
        # Storing would hold the chunk rows locked until the caller's transaction ends, stalling the
        # writers of those buckets (the live feed writes today's); cache only from autocommit reads.
        return built
    cursor.execute(  # type: ignore[attr-defined]
        _STORE_QUERY,
        [
            [chunk.chunk_id for chunk, _ in stored],
            [chunk.version for chunk, _ in stored],
            [count for _, (count, _) in stored],
            [payload for _, (_, payload) in stored],
            [chunk.chunk_id for chunk, _ in stored],
        ],
    )
    return built


def read_columns(
    instrument_id: int, timeframe: Timeframe, start: datetime, end: datetime
) -> dict[str, np.ndarray]:
    """Columns (``PAYLOAD_COLUMNS``) of the bars with ``start <= open_time < end``, oldest first."""
    import numpy as np
    import psycopg

    start, end = ensure_utc(start), ensure_utc(end)
    empty = {name: np.empty(0, dtype=element) for name, element in PAYLOAD_COLUMNS}
    if start >= end:
        return empty
    first, last = bucket_of(timeframe, start), bucket_of(timeframe, end - timedelta(microseconds=1))
    connection.ensure_connection()
    # Django's cursors bind client-side and return text; this one (same connection and transaction)
    # binds server-side and returns binary, which numpy reads in place.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_CHUNKS_QUERY, [instrument_id, timeframe.value, first, last], binary=True)
        chunks = [_Chunk(*row) for row in cursor.fetchall()]
        missing = [chunk for chunk in chunks if chunk.payload is None]
        built = _build(cursor, instrument_id, timeframe, missing) if missing else {}
    pieces = []
    for chunk in chunks:
        count, payload = (
            (chunk.count or 0, chunk.payload)
            if chunk.payload is not None
            else built.get(chunk.bucket, (0, b""))
        )
        if count:
            pieces.append(unpack(bytes(payload), count))
    if not pieces:
        return empty
    columns = {name: np.concatenate([piece[name] for piece in pieces]) for name, _ in PAYLOAD_COLUMNS}
    times = columns["open_time"]
    lower, upper = np.searchsorted(times, [_nanoseconds(start), _nanoseconds(end)], side="left")
    return {name: values[lower:upper] for name, values in columns.items()}


def _nanoseconds(at: datetime) -> int:
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
