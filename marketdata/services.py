"""Write use cases for market data: instruments from a provider, idempotent bar upserts, watchlists.

Bars are written through PostgreSQL ``COPY`` into a temporary staging table and one
``INSERT ... ON CONFLICT DO UPDATE``: re-running an import or a backfill never duplicates a bar, and a
bad row is reported, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max

from marketdata.domain import Bar, InstrumentSpec, bar_problems
from marketdata.models import Instrument, Watchlist, WatchlistItem
from marketdata.selectors import instrument_by_symbol, instruments_by_symbols, symbol_candidates
from tradeapp.core.errors import Conflict, DomainError, NotFound

if TYPE_CHECKING:
    from accounts.models import User

_STAGE_TABLE = "marketdata_bar_stage"
_COLUMNS = "instrument_id, timeframe, open_time, open, high, low, close, volume, trade_count"


@dataclass
class RejectedRow:
    """A row that was not stored, and why (row numbers count from 1 in the order given)."""

    row: int
    open_time: datetime | None
    reasons: list[str]


@dataclass
class UpsertReport:
    received: int = 0
    written: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.rejected)

    def merge(self, other: UpsertReport) -> None:
        offset = self.received
        self.received += other.received
        self.written += other.written
        self.rejected += [RejectedRow(r.row + offset, r.open_time, r.reasons) for r in other.rejected]


def sync_instruments(specs: Iterable[InstrumentSpec]) -> int:
    """Create or update instruments from a provider's list; returns how many were written."""
    rows = [
        Instrument(
            symbol=spec.symbol,
            name=spec.name,
            asset_class=spec.asset_class.value,
            venue=spec.venue,
            quote_currency=spec.quote_currency,
            tick_size=spec.tick_size,
            lot_size=spec.lot_size,
            min_quantity=spec.min_quantity,
            fractionable=spec.fractionable,
            shortable=spec.shortable,
            tradable=spec.tradable,
            data_source=spec.data_source,
        )
        for spec in specs
    ]
    Instrument.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["venue", "symbol"],
        update_fields=[
            "name",
            "asset_class",
            "quote_currency",
            "tick_size",
            "lot_size",
            "min_quantity",
            "fractionable",
            "shortable",
            "tradable",
            "data_source",
        ],
    )
    return len(rows)


def screen_bars(bars: Sequence[Bar]) -> tuple[list[Bar], list[RejectedRow]]:
    """Split bars into sound ones and rejected rows: bar_problems(), a timeframe other than the batch's,
    timestamps that go backwards or repeat."""
    accepted: list[Bar] = []
    rejected: list[RejectedRow] = []
    last_time: datetime | None = None
    timeframe = bars[0].timeframe if bars else None
    for number, bar in enumerate(bars, start=1):
        reasons = bar_problems(bar)
        if bar.timeframe != timeframe:
            reasons.append(f"timeframe {bar.timeframe.value} differs from the batch's {timeframe}")
        if not reasons and last_time is not None and bar.open_time <= last_time:
            word = "repeats" if bar.open_time == last_time else "goes back before"
            reasons.append(f"open_time {bar.open_time.isoformat()} {word} the previous row's")
        if reasons:
            rejected.append(RejectedRow(number, getattr(bar, "open_time", None), reasons))
            continue
        accepted.append(bar)
        last_time = bar.open_time
    return accepted, rejected


def upsert_bars(*, instrument: Instrument, bars: Sequence[Bar]) -> UpsertReport:
    """Validate and upsert one instrument's bars of one timeframe, in one transaction.

    Existing bars with the same open time are updated (a provider may correct a bar); identical ones
    are left untouched."""
    report = UpsertReport(received=len(bars))
    accepted, report.rejected = screen_bars(bars)
    if not accepted:
        return report
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE_TABLE} ("
            " instrument_id bigint, timeframe varchar(4), open_time timestamptz, open numeric, high numeric,"
            " low numeric, close numeric, volume numeric, trade_count integer) ON COMMIT DELETE ROWS"
        )
        # ON COMMIT empties the stage only at the outermost commit: inside a caller's transaction an
        # earlier call's rows would still be there (and be upserted twice), so start from empty.
        cursor.execute(f"DELETE FROM {_STAGE_TABLE}")  # noqa: S608 - constant name
        with cursor.cursor.copy(f"COPY {_STAGE_TABLE} ({_COLUMNS}) FROM STDIN") as copy:
            for bar in accepted:
                copy.write_row(
                    (
                        instrument.pk,
                        bar.timeframe.value,
                        bar.open_time,
                        bar.open,
                        bar.high,
                        bar.low,
                        bar.close,
                        bar.volume,
                        bar.trade_count,
                    )
                )
        cursor.execute(
            f"INSERT INTO marketdata_bar ({_COLUMNS}) SELECT {_COLUMNS} FROM {_STAGE_TABLE} "  # noqa: S608 - constants
            "ON CONFLICT (instrument_id, timeframe, open_time) DO UPDATE SET "
            "open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
            "volume = EXCLUDED.volume, trade_count = EXCLUDED.trade_count "
            "WHERE (marketdata_bar.open, marketdata_bar.high, marketdata_bar.low, marketdata_bar.close, "
            "marketdata_bar.volume, marketdata_bar.trade_count) IS DISTINCT FROM "
            "(EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, "
            "EXCLUDED.trade_count)"
        )
        report.written = len(accepted)
    return report


# --- watchlists -----------------------------------------------------------------------------------------

MAX_WATCHLISTS_PER_USER = 50
MAX_SYMBOLS_PER_WATCHLIST = 200
MAX_WATCHLIST_NAME_LENGTH = 80
DEFAULT_WATCHLIST_NAME = "My watchlist"
DEFAULT_WATCHLIST_SYMBOLS = ("AAPL", "MSFT", "SPY", "BTC/USD", "EUR/USD")


def _clean_watchlist_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > MAX_WATCHLIST_NAME_LENGTH:
        raise DomainError(
            "invalid_name",
            f"Give the watchlist a name of 1 to {MAX_WATCHLIST_NAME_LENGTH} characters.",
            "name",
        )
    return cleaned


def _check_name_free(owner: User, name: str, *, except_id: int | None = None) -> None:
    taken = Watchlist.objects.filter(owner=owner, name__iexact=name)
    if except_id is not None:
        taken = taken.exclude(pk=except_id)
    if taken.exists():
        raise DomainError("duplicate_name", "You already have a watchlist with that name.", "name")


def _lock_owner(owner: User) -> None:
    # Serialises one user's watchlist creations: two requests must not both pass the count and name checks.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()


def _lock_owned_watchlist(owner: User, watchlist_id: object) -> Watchlist:
    """The owner's watchlist, row-locked; NotFound (404) for a missing or foreign one."""
    try:
        return Watchlist.objects.select_for_update().get(pk=watchlist_id, owner=owner)
    except (Watchlist.DoesNotExist, ValueError, TypeError, ValidationError) as error:
        raise NotFound("No such watchlist.") from error


def create_watchlist(*, owner: User, name: str, symbols: Sequence[str] = ()) -> Watchlist:
    """A new watchlist for ``owner``, optionally filled with ``symbols`` in that order (each must name an
    active instrument, once). At most MAX_WATCHLISTS_PER_USER lists, names unique per owner ignoring case."""
    name = _clean_watchlist_name(name)
    instruments = _instruments_for_new_items(symbols)
    with transaction.atomic():
        _lock_owner(owner)
        if Watchlist.objects.filter(owner=owner).count() >= MAX_WATCHLISTS_PER_USER:
            raise DomainError(
                "too_many_watchlists", f"You can have at most {MAX_WATCHLISTS_PER_USER} watchlists."
            )
        _check_name_free(owner, name)
        watchlist = Watchlist.objects.create(owner=owner, name=name)
        WatchlistItem.objects.bulk_create(
            WatchlistItem(watchlist=watchlist, instrument=instrument, position=position)
            for position, instrument in enumerate(instruments)
        )
        return watchlist


def _instruments_for_new_items(symbols: Sequence[str]) -> list[Instrument]:
    if len(symbols) > MAX_SYMBOLS_PER_WATCHLIST:
        raise DomainError(
            "watchlist_full", f"A watchlist holds at most {MAX_SYMBOLS_PER_WATCHLIST} symbols.", "symbols"
        )
    resolved, unknown = instruments_by_symbols(list(symbols), active_only=True)
    if unknown:
        raise NotFound(f"Unknown symbol{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.", "symbols")
    instruments = [resolved[symbol] for symbol in symbols]
    seen: set[int] = set()
    for symbol, instrument in zip(symbols, instruments, strict=True):
        if instrument.pk in seen:
            raise Conflict("already_listed", f"{instrument.symbol} is listed twice ('{symbol}').", "symbols")
        seen.add(instrument.pk)
    return instruments


def rename_watchlist(*, owner: User, watchlist_id: object, name: str) -> Watchlist:
    name = _clean_watchlist_name(name)
    with transaction.atomic():
        _lock_owner(owner)
        watchlist = _lock_owned_watchlist(owner, watchlist_id)
        _check_name_free(owner, name, except_id=watchlist.pk)
        watchlist.name = name
        watchlist.save(update_fields=["name"])
        return watchlist


def delete_watchlist(*, owner: User, watchlist_id: object) -> None:
    with transaction.atomic():
        _lock_owned_watchlist(owner, watchlist_id).delete()


def add_to_watchlist(*, owner: User, watchlist_id: object, symbol: str) -> WatchlistItem:
    """Append an active instrument to the end of the list. Already listed: Conflict ``already_listed``."""
    instrument = instrument_by_symbol(symbol, active_only=True)
    with transaction.atomic():
        watchlist = _lock_owned_watchlist(owner, watchlist_id)  # serialises adds to this list
        items = WatchlistItem.objects.filter(watchlist=watchlist)
        if items.filter(instrument=instrument).exists():
            raise Conflict("already_listed", f"{instrument.symbol} is already in this watchlist.", "symbol")
        if items.count() >= MAX_SYMBOLS_PER_WATCHLIST:
            raise DomainError(
                "watchlist_full", f"A watchlist holds at most {MAX_SYMBOLS_PER_WATCHLIST} symbols.", "symbol"
            )
        last = items.aggregate(last=Max("position"))["last"]
        return WatchlistItem.objects.create(
            watchlist=watchlist, instrument=instrument, position=0 if last is None else last + 1
        )


def remove_from_watchlist(*, owner: User, watchlist_id: object, symbol: str) -> None:
    """Take a symbol off the list (NotFound on ``symbol`` when it is not there)."""
    with transaction.atomic():
        watchlist = _lock_owned_watchlist(owner, watchlist_id)
        _listed_item(watchlist, symbol).delete()


def _items_by_symbol(watchlist: Watchlist) -> dict[str, WatchlistItem]:
    return {item.instrument.symbol.upper(): item for item in watchlist.items.select_related("instrument")}


def _find_item(items: dict[str, WatchlistItem], symbol: str) -> WatchlistItem | None:
    return next((items[c] for c in symbol_candidates(symbol) if c in items), None)


def _listed_item(watchlist: Watchlist, symbol: str) -> WatchlistItem:
    item = _find_item(_items_by_symbol(watchlist), symbol)
    if item is not None:
        return item
    if instruments_by_symbols([symbol])[1]:
        raise NotFound(f"Unknown symbol '{symbol}'.", "symbol")
    raise NotFound(f"'{symbol}' is not in this watchlist.", "symbol")


def reorder_watchlist(*, owner: User, watchlist_id: object, symbols: Sequence[str]) -> Watchlist:
    """Put the list in the order given; ``symbols`` must name every listed symbol exactly once."""
    with transaction.atomic():
        watchlist = _lock_owned_watchlist(owner, watchlist_id)
        by_symbol = _items_by_symbol(watchlist)
        items = sorted(by_symbol.values(), key=lambda item: (item.position, item.added_at))
        ordered: list[WatchlistItem] = []
        problems: list[str] = []
        for text in symbols:
            item = _find_item(by_symbol, text)
            if item is None:
                problems.append(f"'{text}' is not in this watchlist")
            elif item in ordered:
                problems.append(f"{item.instrument.symbol} appears twice")
            else:
                ordered.append(item)
        missing = [item.instrument.symbol for item in items if item not in ordered]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if problems:
            raise DomainError(
                "invalid_order", f"List every symbol of the watchlist once: {'; '.join(problems)}.", "symbols"
            )
        for position, item in enumerate(ordered):
            item.position = position
        WatchlistItem.objects.bulk_update(ordered, ["position"])
        return watchlist


def ensure_default_watchlist(*, owner: User) -> Watchlist:
    """The owner's first watchlist; for a user with none, create "My watchlist" holding whichever of
    DEFAULT_WATCHLIST_SYMBOLS exist and are active. Safe to call on every visit."""
    existing = Watchlist.objects.filter(owner=owner).order_by("created_at", "pk").first()
    if existing is not None:
        return existing
    with transaction.atomic():
        _lock_owner(owner)
        existing = Watchlist.objects.filter(owner=owner).order_by("created_at", "pk").first()
        if existing is not None:
            return existing
        resolved, _ = instruments_by_symbols(list(DEFAULT_WATCHLIST_SYMBOLS), active_only=True)
        return create_watchlist(
            owner=owner,
            name=DEFAULT_WATCHLIST_NAME,
            symbols=[s for s in DEFAULT_WATCHLIST_SYMBOLS if s in resolved],
        )
