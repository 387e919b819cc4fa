"""Simulated quotes (step 4 of the package docstring): the sub-minute Brownian-bridge path inside each
minute bar, and the bid/ask, sizes and cumulative volume built on it, in session and out of it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import numpy as np

from marketdata import calendar
from marketdata.domain import AssetClass, Quote
from marketdata.providers.simulator.prices import (
    IDLE_STREAM,
    MINUTE_STREAM,
    FloatArray,
    IntArray,
    day_in_ticks,
    previous_active,
    seeded_generator,
    stable_key,
    to_ticks,
)
from marketdata.providers.simulator.sessions import first_epoch_minute, ordinal_of_minute
from marketdata.providers.simulator.universe import BY_SYMBOL, SimulatedInstrument, inverse_tick_of, is_equity

QUOTE_GRID = 240
"""Points of the sub-minute quote path (one per 250 ms)."""
MAX_QUOTES_PER_SECOND = QUOTE_GRID / 60
CELL_SECONDS = 60 / QUOTE_GRID
_BRIDGE_SCALE = 0.6  # sub-minute quote path volatility, in minute sigmas


# --- step 4: the sub-minute quote path -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MinuteQuotes:
    last_t: IntArray  # QUOTE_GRID prices in ticks: first = bar open, last = bar close
    spread_draw: FloatArray
    bid_size_draw: FloatArray
    ask_size_draw: FloatArray


@lru_cache(maxsize=2048)
def minute_quotes(seed: int, symbol: str, epoch_minute: int) -> _MinuteQuotes | None:
    ordinal = ordinal_of_minute(epoch_minute)
    day = day_in_ticks(seed, symbol, ordinal)
    if day is None:
        return None
    index = epoch_minute - first_epoch_minute(ordinal) - day.path.first_minute
    if not 0 <= index < day.size:
        return None
    item = BY_SYMBOL[symbol]
    rng = seeded_generator(seed, MINUTE_STREAM, stable_key(symbol), epoch_minute)
    increments = rng.standard_normal(QUOTE_GRID - 1)
    spread_draw, bid_size_draw, ask_size_draw = (
        rng.random(QUOTE_GRID),
        rng.random(QUOTE_GRID),
        rng.random(QUOTE_GRID),
    )
    fraction = np.linspace(0.0, 1.0, QUOTE_GRID)
    walk = np.concatenate(([0.0], np.cumsum(increments))) / math.sqrt(QUOTE_GRID - 1)
    bridge = walk - fraction * walk[-1]
    open_f, close_f = float(day.path.open_f[index]), float(day.path.close_f[index])
    log_path = math.log(open_f) + fraction * (math.log(close_f) - math.log(open_f))
    prices = np.exp(log_path + _BRIDGE_SCALE * float(day.path.sigma_f[index]) * bridge)
    prices[0], prices[-1] = open_f, close_f
    prices = np.clip(prices, day.path.low_f[index], day.path.high_f[index])
    return _MinuteQuotes(
        last_t=to_ticks(prices, inverse_tick_of(item.spec)),
        spread_draw=spread_draw,
        bid_size_draw=bid_size_draw,
        ask_size_draw=ask_size_draw,
    )


def session_quote(seed: int, item: SimulatedInstrument, at: datetime) -> Quote:
    """The quote at ``at`` inside a session: the minute's sub-minute path at the grid cell of ``at``,
    with the volume traded so far that day."""
    symbol = item.spec.symbol
    seconds = at.timestamp()
    epoch_minute = math.floor(seconds / 60)
    cell = min(QUOTE_GRID - 1, int((seconds - epoch_minute * 60) / CELL_SECONDS))
    ordinal = ordinal_of_minute(epoch_minute)
    day = day_in_ticks(seed, symbol, ordinal)
    minute = minute_quotes(seed, symbol, epoch_minute)
    assert day is not None
    assert minute is not None
    index = epoch_minute - first_epoch_minute(ordinal) - day.path.first_minute
    before = int(day.cumulative_volume[index - 1]) if index else 0
    volume = before + int(day.path.volume[index]) * cell // (QUOTE_GRID - 1)
    return make_quote(
        item,
        at,
        last_t=int(minute.last_t[cell]),
        volume_lots=volume,
        prev_close_t=day.prev_close_t,
        draws=(
            float(minute.spread_draw[cell]),
            float(minute.bid_size_draw[cell]),
            float(minute.ask_size_draw[cell]),
        ),
    )


def idle_quote(seed: int, item: SimulatedInstrument, at: datetime) -> Quote | None:
    """The quote at ``at`` outside a session: the last session's close with a live-looking bid/ask;
    None before the first simulated session."""
    symbol = item.spec.symbol
    today = at.date().toordinal()
    bounds = calendar.session_bounds(item.spec.asset_class, at.date())
    if bounds is not None and bounds[1] <= at:
        reference = today
    else:
        previous = previous_active(seed, symbol, today)
        if previous is None:
            return None
        reference = previous[0]
    day = day_in_ticks(seed, symbol, reference)
    assert day is not None
    epoch_minute = math.floor(at.timestamp() / 60)
    rng = seeded_generator(seed, IDLE_STREAM, stable_key(symbol), epoch_minute)
    draws = rng.random(3)
    return make_quote(
        item,
        at,
        last_t=int(day.close_t[-1]),
        volume_lots=int(day.cumulative_volume[-1]),
        prev_close_t=day.prev_close_t,
        draws=(float(draws[0]), float(draws[1]), float(draws[2])),
    )


def make_quote(
    item: SimulatedInstrument,
    at: datetime,
    *,
    last_t: int,
    volume_lots: int,
    prev_close_t: int,
    draws: tuple[float, float, float],
) -> Quote:
    spec = item.spec
    inverse_tick = inverse_tick_of(spec)
    spread_draw, bid_draw, ask_draw = draws
    width = item.spread_low + (item.spread_high - item.spread_low) * spread_draw
    last = last_t / inverse_tick
    spread = width * item.pip if item.pip is not None else last * width / 10_000
    spread_t = max(1, round(spread * inverse_tick))
    bid_t = max(1, last_t - spread_t // 2)
    ask_t = max(bid_t + spread_t, last_t)
    tick, lot = spec.tick_size, spec.lot_size
    return Quote(
        symbol=spec.symbol,
        ts=at,
        bid=Decimal(bid_t) * tick,
        ask=Decimal(ask_t) * tick,
        bid_size=quote_size(item, last, bid_draw),
        ask_size=quote_size(item, last, ask_draw),
        last=Decimal(last_t) * tick,
        volume=Decimal(volume_lots) * lot,
        prev_close=Decimal(prev_close_t) * tick,
    )


def quote_size(item: SimulatedInstrument, price: float, draw: float) -> Decimal:
    spec = item.spec
    kind = spec.asset_class
    if is_equity(kind):
        return Decimal(100 * (1 + int(draw * 20)))  # 100 - 2,000 shares
    if kind is AssetClass.FOREX:
        return Decimal(100_000 * (1 + int(draw * 50)))  # 0.1 - 5 million units
    notional = 2_000.0 * math.exp(draw * math.log(75.0))  # $2k - $150k
    lots = max(1, int(notional / price / float(spec.lot_size)))
    return Decimal(lots) * spec.lot_size
