"""Read paths for market data: instruments by symbol or search (with their latest quotes), watchlists,
bars as API pages of exact Decimals or as pandas frames of floats for analysis and backtests.

Symbols are matched case-insensitively, and ``-`` may stand for ``/`` ("BTC-USD" finds "BTC/USD"):
the alias rule of ``marketdata.symbols``. An exact spelling wins over the alias.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Upper

from marketdata import frames, quotes as quote_store
from marketdata.domain import Bar, Quote, Timeframe, ensure_utc
from marketdata.models import Instrument, Watchlist, WatchlistItem
from marketdata.symbols import symbol_candidates, symbol_spellings
from tradeapp.core.errors import DomainError, NotFound

if TYPE_CHECKING:
    import pandas as pd


# --- instruments --------------------------------------------------------------------------------------


def _instruments_matching(candidates: Iterable[str], *, active_only: bool) -> list[Instrument]:
    """Instruments whose upper-cased symbol is one of ``candidates``; active ones first, then by venue
    (one symbol may be listed on several venues)."""
    wanted = sorted(set(candidates))
    if not wanted:
        return []
    rows = Instrument.objects.annotate(upper_symbol=Upper("symbol")).filter(upper_symbol__in=wanted)
    if active_only:
        rows = rows.filter(active=True)
    return list(rows.order_by("-active", "venue", "pk"))


def _best_match(text: str, found: Sequence[Instrument]) -> Instrument | None:
    for candidate in symbol_candidates(text):  # the exact spelling before the alias
        for instrument in found:
            if instrument.symbol.upper() == candidate:
                return instrument
    return None


def instrument_by_symbol(symbol: object, *, active_only: bool = False) -> Instrument:
    """The instrument ``symbol`` names (case-insensitive, ``-`` for ``/``), or NotFound on field
    ``symbol``. ``active_only`` hides delisted instruments (their history stays readable without it)."""
    candidates = symbol_candidates(symbol)
    instrument = _best_match(str(symbol), _instruments_matching(candidates, active_only=active_only))
    if instrument is None:
        raise NotFound(f"Unknown symbol '{_shown(symbol)}'.", field="symbol")
    return instrument


def instruments_by_symbols(
    symbols: Sequence[str], *, active_only: bool = False
) -> tuple[dict[str, Instrument], list[str]]:
    """Resolve many symbols in one query: (``{given text: instrument}``, the texts that name nothing,
    in the order given)."""
    found = _instruments_matching(
        (candidate for text in symbols for candidate in symbol_candidates(text)), active_only=active_only
    )
    resolved: dict[str, Instrument] = {}
    unknown: list[str] = []
    for text in symbols:
        instrument = _best_match(text, found)
        if instrument is None:
            unknown.append(text)
        else:
            resolved[text] = instrument
    return resolved, unknown


def _shown(symbol: object) -> str:
    text = str(symbol).strip()
    return text if len(text) <= 40 else text[:40] + "..."


def search_instruments(
    query: str | None = None,
    asset_class: str | None = None,
    *,
    tradable: bool | None = None,
    include_inactive: bool = False,
) -> QuerySet[Instrument]:
    """Instruments whose symbol or name contains ``query`` (case-insensitive; "BTC-USD" also finds
    "BTC/USD"), optionally of one asset class and tradability; active ones only unless asked. Ordered
    by symbol, then venue."""
    rows = Instrument.objects.all()
    if not include_inactive:
        rows = rows.filter(active=True)
    if query and query.strip():
        text = query.strip()
        condition = Q(name__icontains=text)
        for spelling in symbol_spellings(text):
            condition |= Q(symbol__icontains=spelling)
        rows = rows.filter(condition)
    if asset_class:
        rows = rows.filter(asset_class=asset_class)
    if tradable is not None:
        rows = rows.filter(tradable=tradable)
    return rows.order_by("symbol", "venue", "pk")


class InstrumentOrder(StrEnum):
    SYMBOL = "symbol"
    CHANGE_PCT = "change_pct"  # top losers first
    CHANGE_PCT_DESC = "-change_pct"  # top gainers first


@dataclass(frozen=True, slots=True)
class QuotedInstrument:
    instrument: Instrument
    quote: Quote | None


@dataclass(frozen=True, slots=True)
class InstrumentPage:
    count: int
    rows: list[QuotedInstrument]


def quoted_instruments(instruments: Sequence[Instrument]) -> list[QuotedInstrument]:
    """Each instrument with its latest quote (None when Redis has none), in one round trip."""
    latest = quote_store.latest_quotes(sorted({instrument.symbol for instrument in instruments}))
    return [QuotedInstrument(instrument, latest.get(instrument.symbol)) for instrument in instruments]


def instrument_page(
    *,
    query: str | None = None,
    asset_class: str | None = None,
    tradable: bool | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    order: InstrumentOrder = InstrumentOrder.SYMBOL,
    limit: int,
    offset: int = 0,
) -> InstrumentPage:
    """One page of the instrument search with latest quotes.

    Price bounds apply to the quote's ``last`` (inclusive); instruments without a quote are left out
    when a bound is set. Ordering by change puts instruments without a change last either way.
    Without price bounds or change ordering the page is cut in the database and only its quotes are
    read; otherwise every match's quote is read (one MGET) and filtered here."""
    matches = search_instruments(query, asset_class, tradable=tradable)
    if min_price is None and max_price is None and order is InstrumentOrder.SYMBOL:
        count = matches.count()
        return InstrumentPage(count, quoted_instruments(list(matches[offset : offset + limit])))

    rows = quoted_instruments(list(matches))
    if min_price is not None or max_price is not None:
        rows = [
            row
            for row in rows
            if row.quote is not None
            and (min_price is None or row.quote.last >= min_price)
            and (max_price is None or row.quote.last <= max_price)
        ]
    if order is not InstrumentOrder.SYMBOL:
        sign = -1 if order is InstrumentOrder.CHANGE_PCT_DESC else 1
        changed = [(row, _change_pct(row)) for row in rows]
        ranked = sorted(
            ((row, change) for row, change in changed if change is not None),
            key=lambda pair: (sign * pair[1], pair[0].instrument.symbol),
        )
        rows = [row for row, _ in ranked] + [row for row, change in changed if change is None]
    return InstrumentPage(len(rows), rows[offset : offset + limit])


def _change_pct(row: QuotedInstrument) -> Decimal | None:
    return row.quote.change_pct if row.quote is not None else None


def market_status(asset_class: str, at: datetime) -> dict[str, object]:
    """Whether the instrument's market trades at ``at``, and its next open and close (None for crypto,
    which never closes)."""
    from marketdata import calendar  # deferred: the exchange calendar loads pandas on first use

    return {
        "is_open": calendar.is_open(asset_class, at),
        "next_open": calendar.next_open(asset_class, at),
        "next_close": calendar.next_close(asset_class, at),
    }


# --- watchlists ---------------------------------------------------------------------------------------


def watchlists_of(user: object) -> QuerySet[Watchlist]:
    """The user's watchlists, oldest first, items (in list order) and their instruments prefetched."""
    items = WatchlistItem.objects.select_related("instrument").order_by("position", "added_at", "pk")
    return (
        Watchlist.objects.filter(owner=user)
        .order_by("created_at", "pk")
        .prefetch_related(Prefetch("items", queryset=items))
    )


def watchlist_of(user: object, watchlist_id: object) -> Watchlist:
    """The user's watchlist with this id, or NotFound (404) — also for another user's watchlist."""
    try:
        return watchlists_of(user).get(pk=watchlist_id)
    except (Watchlist.DoesNotExist, ValueError, TypeError, ValidationError) as error:
        raise NotFound("No such watchlist.") from error


# --- bars -----------------------------------------------------------------------------------------------

# The widest window one bars request may span, per timeframe (about 370 000 one-minute bars at most).
MAX_BAR_RANGE: dict[Timeframe, timedelta] = {
    Timeframe.M1: timedelta(days=370),
    Timeframe.M5: timedelta(days=2 * 366),
    Timeframe.M15: timedelta(days=2 * 366),
    Timeframe.H1: timedelta(days=5 * 366),
    Timeframe.D1: timedelta(days=50 * 366),
}


def check_bar_window(timeframe: Timeframe, start: datetime, end: datetime) -> None:
    """Refuse a window that is empty or backwards (field ``start``) or wider than MAX_BAR_RANGE for the
    timeframe (code ``range_too_large``)."""
    if start >= end:
        raise DomainError("invalid_range", "start must be before end.", "start")
    widest = MAX_BAR_RANGE[timeframe]
    if end - start > widest:
        raise DomainError(
            "range_too_large",
            f"A {timeframe.value} request may span at most {widest.days} days; ask for a shorter window "
            "or a wider timeframe.",
            "start",
        )


@dataclass(frozen=True, slots=True)
class BarPage:
    """Bars oldest first; ``next_after`` is the open time to continue after, or None at the end."""

    bars: list[Bar]
    next_after: datetime | None


_BAR_COLUMNS = "open_time, open, high, low, close, volume, trade_count"


def _instrument_id(instrument: Instrument | int) -> int:
    return instrument if isinstance(instrument, int) else int(instrument.pk)


def bars_page(
    instrument: Instrument,
    timeframe: Timeframe | str,
    start: datetime,
    end: datetime,
    *,
    limit: int,
    after: datetime | None = None,
) -> BarPage:
    """Up to ``limit`` bars with ``start <= open_time < end`` (and ``open_time > after``), oldest first,
    as exact Decimal domain bars. Reads through the (instrument, timeframe, open_time) unique index."""
    frame = Timeframe.parse(timeframe)
    start, end = ensure_utc(start), ensure_utc(end)
    lower = max(start, ensure_utc(after)) if after is not None else start
    strict = after is not None and ensure_utc(after) >= start
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_BAR_COLUMNS} FROM marketdata_bar "  # noqa: S608 - constants only
            "WHERE instrument_id = %s AND timeframe = %s "
            f"AND open_time {'>' if strict else '>='} %s AND open_time < %s "
            "ORDER BY open_time LIMIT %s",
            [_instrument_id(instrument), frame.value, lower, end, limit + 1],
        )
        rows = cursor.fetchall()
    symbol = instrument.symbol
    bars = [
        Bar(symbol, frame, open_time.astimezone(UTC), open_, high, low, close, volume, trade_count)
        for open_time, open_, high, low, close, volume, trade_count in rows[:limit]
    ]
    has_more = len(rows) > limit
    return BarPage(bars, bars[-1].open_time if has_more and bars else None)


def bars_frame(
    instrument: Instrument | int, timeframe: Timeframe | str, start: datetime, end: datetime
) -> pd.DataFrame:
    """Bars with ``start <= open_time < end`` as a frame in ``marketdata.aggregate.FRAME_COLUMNS`` form,
    oldest first: ``open_time`` datetime64[ns, UTC], float64 prices and volume (each the nearest
    double to the stored decimal), nullable Int64 ``trade_count``. Floats are for analysis and
    backtests; use :func:`bars_page` for exact values.

    Reads through the per-bucket cache of ``marketdata.frames`` (never stale: see there), so a warm
    read of a quarter of 1-minute bars is a copy of ~90 packed arrays."""
    import numpy as np
    import pandas as pd

    frame = Timeframe.parse(timeframe)
    columns = frames.read_columns(_instrument_id(instrument), frame, ensure_utc(start), ensure_utc(end))
    counts = columns["trade_count"].astype(np.int64)
    return pd.DataFrame(
        {
            "open_time": pd.DatetimeIndex(columns["open_time"].astype("datetime64[ns]")).tz_localize(UTC),
            **{name: columns[name].astype(np.float64) for name in ("open", "high", "low", "close", "volume")},
            "trade_count": pd.arrays.IntegerArray(counts, counts < 0),
        }
    )


def warmup_start(
    instrument: Instrument | int, timeframe: Timeframe | str, start: datetime, bars: int
) -> datetime:
    """The open time of the ``bars``-th bar before ``start`` (or of the oldest one, when there are fewer),
    or ``start`` itself when none precede it: where an indicator's history must begin so that its values
    from ``start`` on have settled. Walks the (instrument, timeframe, open_time) index backwards."""
    frame = Timeframe.parse(timeframe)
    start = ensure_utc(start)
    if bars <= 0:
        return start
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(open_time) FROM (SELECT open_time FROM marketdata_bar "
            "WHERE instrument_id = %s AND timeframe = %s AND open_time < %s "
            "ORDER BY open_time DESC LIMIT %s) AS earlier",
            [_instrument_id(instrument), frame.value, start, bars],
        )
        row = cursor.fetchone()
    return row[0].astimezone(UTC) if row and row[0] is not None else start
