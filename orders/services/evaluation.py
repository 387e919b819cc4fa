"""The paper venue's work on new prices and on the clock: resting orders matched against a symbol's
latest quote, position stop-loss / take-profit exits, expiry; and closing positions.

Each order that changes is handled in its own transaction with its account row locked; the unlocked
first pass only finds candidates. No broker venue exists yet, so every account's resting orders are
the paper venue's to match.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from accounts.models import TradingAccount
from marketdata import calendar
from marketdata.domain import Quote
from marketdata.models import Instrument
from marketdata.quotes import latest_quote
from marketdata.selectors import instrument_by_symbol
from orders import matching
from orders.models import Order, OrderSource
from orders.services.lifecycle import cancel_all_orders, cancel_locked
from orders.services.persistence import MATCHABLE_STATUSES, persist, to_working
from orders.services.placement import OrderRequest, Placement, place_order
from orders.services.unit_of_work import lock_account, unit_of_work
from orders.states import OrderType, Reason, Side, TimeInForce
from orders.venues import PaperVenue, paper_venue
from portfolio.models import Position
from tradeapp.core import clock
from tradeapp.core.errors import DomainError, NotFound

logger = logging.getLogger(__name__)


def evaluate_symbol(symbol: str, *, quote: Quote | None = None) -> int:
    """Match the symbol's resting orders against its latest quote and fire position exits it crosses.
    Returns how many orders changed."""
    instrument = instrument_by_symbol(symbol)
    quote = quote or latest_quote(instrument.symbol)
    if quote is None:
        return 0
    now = clock.now()
    venue = paper_venue()
    changed = 0
    market_open = calendar.is_open(instrument.asset_class, now)
    candidates = list(
        Order.objects.select_related("instrument")
        .filter(instrument=instrument, status__in=MATCHABLE_STATUSES)
        .order_by("created_at")
    )
    for row in candidates:
        working = to_working(row)
        if not market_open and working.expires_at is None:
            continue
        if venue.evaluate(working, quote, instrument=instrument, now=now, market_open=market_open).changed:
            changed += _evaluate_locked(
                row.pk, row.account_id, venue=venue, quote=quote, now=now, market_open=market_open
            )
    if market_open:
        _fire_position_exits(instrument, quote)
    return changed


def _evaluate_locked(
    order_id: object,
    account_id: object,
    *,
    venue: PaperVenue,
    quote: Quote,
    now: datetime,
    market_open: bool,
) -> int:
    with unit_of_work(account_id, now=now) as work:
        row = Order.objects.select_for_update().select_related("instrument").get(pk=order_id)
        if row.status not in MATCHABLE_STATUSES:
            return 0
        working = to_working(row)
        result = venue.evaluate(working, quote, instrument=row.instrument, now=now, market_open=market_open)
        if not result.changed:
            return 0
        try:
            with work.savepoint():
                persist(work, row, result, quote=quote)
        except DomainError as error:  # the fill would take cash below zero: the order cannot stand
            logger.info("order %s canceled: %s", row.pk, error.message)
            row.refresh_from_db()
            cancel_locked(work, row, reason=Reason.INSUFFICIENT_BUYING_POWER, message=error.message)
        return 1


def expire_orders(*, now: datetime | None = None) -> int:
    """Expire every open order whose ``expires_at`` has passed (DAY orders at the session close).
    Held legs expire with their entry's group rules. Returns how many expired."""
    now = now or clock.now()
    expired = 0
    due = Order.objects.filter(status__in=MATCHABLE_STATUSES, expires_at__lte=now).values_list(
        "pk", "account_id"
    )
    for order_id, account_id in list(due):
        with unit_of_work(account_id, now=now) as work:
            row = Order.objects.select_for_update().select_related("instrument").get(pk=order_id)
            result = matching.expire_order(to_working(row), now)
            if row.status not in MATCHABLE_STATUSES or not result.changed:
                continue
            persist(work, row, result, quote=None)
            expired += 1
    return expired


def _fire_position_exits(instrument: Instrument, quote: Quote) -> None:
    """Positions whose stop-loss or take-profit the quote crossed get a closing market order."""
    for position in (
        Position.objects.filter(instrument=instrument)
        .exclude(quantity=0)
        .filter(Q(stop_loss_price__isnull=False) | Q(take_profit_price__isnull=False))
    ):
        long = position.quantity > 0
        price = quote.bid if long else quote.ask
        stop, target = position.stop_loss_price, position.take_profit_price
        hit_stop = stop is not None and (price <= stop if long else price >= stop)
        hit_target = target is not None and (price >= target if long else price <= target)
        if not (hit_stop or hit_target):
            continue
        with transaction.atomic():
            account = lock_account(position.account_id)
            locked = Position.objects.select_for_update().get(pk=position.pk)
            if locked.quantity == 0 or (locked.stop_loss_price, locked.take_profit_price) != (stop, target):
                continue
            locked.stop_loss_price = locked.take_profit_price = None
            locked.save(update_fields=["stop_loss_price", "take_profit_price"])
            try:
                close_position(account=account, symbol=instrument.symbol, source=OrderSource.RISK)
            except DomainError as error:
                logger.warning(
                    "position exit of %s in %s failed: %s", account.pk, instrument.symbol, error.message
                )


def close_position(*, account: TradingAccount, symbol: str, source: str = OrderSource.API) -> Placement:
    """Cancel the symbol's open orders, then send a market order that flattens the position. A close
    the risk rules send (a position exit) cancels with ``position_exit``, one the user asks for with
    ``user_canceled``."""
    instrument = instrument_by_symbol(symbol)
    position = Position.objects.filter(account=account, instrument=instrument).exclude(quantity=0).first()
    if position is None:
        raise NotFound(f"No open position in {instrument.symbol}.", "symbol")
    reason = Reason.POSITION_EXIT if source == OrderSource.RISK else Reason.USER_CANCELED
    with transaction.atomic():
        cancel_all_orders(account=account, symbol=instrument.symbol, reason=reason)
        position.refresh_from_db()
        if position.quantity == 0:
            raise NotFound(f"No open position in {instrument.symbol}.", "symbol")
        side = Side.SELL if position.quantity > 0 else Side.BUY
        tif = TimeInForce.GTC if instrument.asset_class == "crypto" else TimeInForce.DAY
        return place_order(
            account=account,
            request=OrderRequest(
                symbol=instrument.symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=abs(position.quantity),
                time_in_force=tif,
                source=source,
            ),
        )


def close_all_positions(*, account: TradingAccount, source: str = OrderSource.API) -> list[Placement]:
    symbols = list(
        Position.objects.filter(account=account)
        .exclude(quantity=0)
        .order_by("instrument__symbol")
        .values_list("instrument__symbol", flat=True)
    )
    return [close_position(account=account, symbol=symbol, source=source) for symbol in symbols]
