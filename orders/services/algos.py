"""Execution algorithms (TWAP / VWAP): a parent quantity worked as child market orders over a
window. The schedules are pure (``orders.algos``); each child goes through ``place_order`` like any
other order, so it is validated, risk-checked and sent to the account's venue."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Sum
from django.db.models.functions import ExtractHour, ExtractMinute

from accounts.models import TradingAccount
from marketdata.models import Bar, Instrument
from marketdata.quotes import latest_quote
from marketdata.selectors import instrument_by_symbol
from orders import algos as schedule, matching
from orders.models import OPEN_STATUS_VALUES, AlgoOrder, Order, OrderSource
from orders.selectors import algo_of
from orders.services.lifecycle import cancel_locked
from orders.services.limits import check_risk
from orders.services.persistence import ZERO
from orders.services.placement import OrderRequest, place_order, validate_working
from orders.services.unit_of_work import unit_of_work
from orders.states import OrderType, Reason, Side, TimeInForce
from tradeapp.core import clock
from tradeapp.core.errors import Conflict, DomainError

MAX_ALGO_WINDOW = timedelta(days=1)
MIN_ALGO_INTERVAL_SECONDS = 5


def start_algo(
    *,
    account: TradingAccount,
    symbol: str,
    side: Side,
    quantity: Decimal,
    algo: str,
    start_at: datetime,
    end_at: datetime,
    interval_seconds: int = 60,
) -> AlgoOrder:
    """Start working ``quantity`` as child market orders between ``start_at`` and ``end_at`` (at most a
    day), one slice per ``interval_seconds``. The whole quantity is risk-checked now; each child is
    checked again when it is sent."""
    instrument = instrument_by_symbol(symbol, active_only=True)
    now = clock.now()
    if algo not in AlgoOrder.Algo.values:
        raise DomainError("invalid_choice", "algo must be twap or vwap.", "algo")
    if end_at <= start_at:
        raise DomainError("invalid_range", "The window must end after it starts.", "end_at")
    if end_at <= now:
        raise DomainError("invalid_range", "The window has already ended.", "end_at")
    if end_at - start_at > MAX_ALGO_WINDOW:
        raise DomainError("range_too_large", "An algo window may span at most one day.", "end_at")
    if interval_seconds < MIN_ALGO_INTERVAL_SECONDS:
        raise DomainError(
            "invalid_interval",
            f"Slices are at least {MIN_ALGO_INTERVAL_SECONDS} s apart.",
            "interval_seconds",
        )
    working = matching.WorkingOrder(
        order_id="algo",
        symbol=instrument.symbol,
        side=side,
        order_type=OrderType.MARKET,
        quantity=quantity,
        time_in_force=TimeInForce.GTC,
    )
    validate_working(working, instrument)
    with unit_of_work(account, now=now) as work:
        check_risk(work, instrument, working, latest_quote(instrument.symbol))
        return AlgoOrder.objects.create(
            account=work.account,
            instrument=instrument,
            algo=algo,
            side=side,
            quantity=quantity,
            start_at=max(start_at, now),
            end_at=end_at,
            interval_seconds=interval_seconds,
            created_at=now,
            updated_at=now,
        )


def _volume_profile(instrument: Instrument, now: datetime) -> dict[int, Decimal]:
    """Average 1-minute volume by minute of the UTC day over the last five days of stored bars."""
    rows = (
        Bar.objects.filter(instrument=instrument, timeframe="1m", open_time__gte=now - timedelta(days=5))
        .annotate(hour=ExtractHour("open_time"), minute=ExtractMinute("open_time"))
        .values("hour", "minute")
        .annotate(volume=Avg("volume"))
    )
    return {row["hour"] * 60 + row["minute"]: Decimal(row["volume"]) for row in rows if row["volume"]}


def run_algos(*, now: datetime | None = None) -> int:
    """Send each working algo's due slice (target by now minus what its children hold) as a market
    order; complete, or expire, the ones that are done. Returns how many child orders were sent."""
    now = now or clock.now()
    sent = 0
    for algo_id in list(
        AlgoOrder.objects.filter(status=AlgoOrder.Status.WORKING).values_list("pk", flat=True)
    ):
        sent += _run_algo(algo_id, now)
    return sent


def _run_algo(algo_id: object, now: datetime) -> int:
    with transaction.atomic():
        algo = AlgoOrder.objects.select_for_update().select_related("instrument", "account").get(pk=algo_id)
        if algo.status != AlgoOrder.Status.WORKING or now < algo.start_at:
            return 0
        children = Order.objects.filter(algo=algo)
        filled = children.aggregate(total=Sum("filled_quantity"))["total"] or ZERO
        working = (
            children.filter(status__in=OPEN_STATUS_VALUES).aggregate(total=Sum("quantity"))["total"] or ZERO
        )
        algo.filled_quantity = filled
        instrument = algo.instrument
        if algo.algo == AlgoOrder.Algo.VWAP:
            target = schedule.vwap_target(
                quantity=algo.quantity,
                start=algo.start_at,
                end=algo.end_at,
                now=now,
                lot_size=instrument.lot_size,
                profile=_volume_profile(instrument, now),
            )
        else:
            target = schedule.twap_target(
                quantity=algo.quantity,
                start=algo.start_at,
                end=algo.end_at,
                now=now,
                lot_size=instrument.lot_size,
            )
        due = target - filled - working
        last_slice = children.order_by("-created_at").values_list("created_at", flat=True).first()
        if (
            last_slice is not None
            and now - last_slice < timedelta(seconds=algo.interval_seconds)
            and now < algo.end_at
        ):
            due = ZERO
        sent = 0
        if due >= instrument.min_quantity:
            try:
                place_order(
                    account=algo.account,
                    request=OrderRequest(
                        symbol=instrument.symbol,
                        side=Side(algo.side),
                        order_type=OrderType.MARKET,
                        quantity=due,
                        time_in_force=TimeInForce.GTC,
                        source=OrderSource.ALGO,
                        algo_id=algo.pk,
                    ),
                )
                sent = 1
            except DomainError as error:
                algo.status, algo.reason_message = AlgoOrder.Status.CANCELED, f"Stopped: {error.message}"
        algo.filled_quantity = children.aggregate(total=Sum("filled_quantity"))["total"] or ZERO
        if algo.filled_quantity >= algo.quantity:
            algo.status = AlgoOrder.Status.COMPLETED
        elif now > algo.end_at + timedelta(minutes=5) and algo.status == AlgoOrder.Status.WORKING:
            algo.status, algo.reason_message = (
                AlgoOrder.Status.EXPIRED,
                "The window ended before it completed.",
            )
        algo.updated_at = now
        algo.save()
        return sent


def cancel_algo(*, account: TradingAccount, algo_id: object) -> AlgoOrder:
    """Stop an algo: no more slices; its open child orders are canceled."""
    with unit_of_work(account) as work:
        algo = AlgoOrder.objects.select_for_update().get(pk=algo_of(work.account, algo_id).pk)
        if algo.status != AlgoOrder.Status.WORKING:
            raise Conflict("algo_not_working", f"The algo is {algo.status}.", "algo_id")
        for row in (
            Order.objects.select_for_update()
            .select_related("instrument")
            .filter(algo=algo, status__in=OPEN_STATUS_VALUES)
        ):
            cancel_locked(work, row, reason=Reason.USER_CANCELED)
        algo.status, algo.reason_message, algo.updated_at = (
            AlgoOrder.Status.CANCELED,
            "Canceled at your request.",
            work.now,
        )
        algo.save()
        return algo
