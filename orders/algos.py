"""Execution algorithms (pure): how much of a TWAP or VWAP parent should have been sent by a moment.

TWAP spreads the quantity evenly over the window; VWAP follows a volume profile (each minute-of-day's
share of the usual volume, from recent 1-minute bars), so more is sent when the market usually trades
more. Both return a cumulative target rounded DOWN to the lot size; the last slice at the window's end
takes whatever remains, so the parent always completes its quantity by ``end``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from tradeapp.core.decimals import floor_to


def twap_target(
    *, quantity: Decimal, start: datetime, end: datetime, now: datetime, lot_size: Decimal
) -> Decimal:
    """Cumulative quantity due by ``now``: ``quantity * elapsed / window`` (all of it from ``end``)."""
    if now >= end:
        return quantity
    if now <= start:
        return Decimal(0)
    tick = timedelta(microseconds=1)  # exact integer arithmetic: no float seconds
    share = Decimal((now - start) // tick) / Decimal((end - start) // tick)
    return floor_to(quantity * share, lot_size)


def vwap_target(
    *,
    quantity: Decimal,
    start: datetime,
    end: datetime,
    now: datetime,
    lot_size: Decimal,
    profile: Mapping[int, Decimal],
) -> Decimal:
    """Cumulative quantity due by ``now`` following ``profile`` (minute of the UTC day -> relative
    volume). Minutes the profile lacks weigh as its average; an empty profile is TWAP."""
    if now >= end:
        return quantity
    if now <= start:
        return Decimal(0)
    if not profile:
        return twap_target(quantity=quantity, start=start, end=end, now=now, lot_size=lot_size)
    default = sum(profile.values(), Decimal(0)) / len(profile)

    def weight(minutes: int) -> Decimal:
        total = Decimal(0)
        for offset in range(minutes):
            moment = start + timedelta(minutes=offset)
            total += profile.get(moment.hour * 60 + moment.minute, default)
        return total

    window_minutes = max(1, int((end - start).total_seconds() // 60))
    elapsed_minutes = min(window_minutes, int((now - start).total_seconds() // 60))
    whole = weight(window_minutes)
    if whole <= 0:
        return twap_target(quantity=quantity, start=start, end=end, now=now, lot_size=lot_size)
    return floor_to(quantity * weight(elapsed_minutes) / whole, lot_size)
