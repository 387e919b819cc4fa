"""The simulated price process (steps 1 to 3 of the package docstring): daily levels from a factor model
with jumps and mean reversion, then one day of minute bars bridged to the day's close and rounded to
ticks and lots. Everything is a pure, memoised function of ``(seed, symbol, day)``."""

from __future__ import annotations

import bisect
import math
import zlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from marketdata.domain import AssetClass
from marketdata.providers.simulator.sessions import DAY_MINUTES, EPOCH, session_minutes, session_table
from marketdata.providers.simulator.universe import (
    ANCHOR_DAY,
    BY_SYMBOL,
    DAYS_PER_YEAR,
    FULL_SESSION_MINUTES,
    SimulatedInstrument,
    inverse_tick_of,
    is_equity,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_GAP_SHARE = 0.2  # share of a stock's daily variance that happens overnight
_OVERNIGHT_JUMP_PROBABILITY = 0.6
_RANGE_SCALE = 0.5  # minute high/low extension, in minute sigmas

# random stream identifiers (the second word of every seed sequence)
YEAR_FACTOR_STREAM = 1
YEAR_SYMBOL_STREAM = 2
DAY_FACTOR_STREAM = 3
DAY_SYMBOL_STREAM = 4
MINUTE_STREAM = 5
IDLE_STREAM = 6


def stable_key(text: str) -> int:
    """A stable 32-bit key for a name (Python's ``hash`` is salted per process)."""
    return zlib.crc32(text.encode())


def seeded_generator(*parts: int) -> np.random.Generator:
    return np.random.default_rng(list(parts))


# --- step 1: daily levels ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _YearSeries:
    ordinals: list[int]  # active days (date ordinals), ascending
    log_close: FloatArray
    sigma: FloatArray  # std of the day's diffusive log return
    jump: FloatArray  # log jump (0 on most days)
    volume_factor: FloatArray
    x_end: float  # deviation from the anchor at the year's last active day


def _anchor_log(item: SimulatedInstrument, ordinal: FloatArray | float) -> Any:
    years = (np.asarray(ordinal, dtype=np.float64) - ANCHOR_DAY.toordinal()) / 365.25
    return math.log(item.price) + item.drift * years


@lru_cache(maxsize=1024)
def year_series(seed: int, symbol: str, year: int) -> _YearSeries:
    item = BY_SYMBOL[symbol]
    kind = item.spec.asset_class
    x_start = 0.0 if year <= EPOCH.year else year_series(seed, symbol, year - 1).x_end
    table = session_table(kind, year)
    ordinals = table.ordinals
    first_ordinal = date(year, 1, 1).toordinal()
    day_of_year = np.array(ordinals, dtype=np.int64) - first_ordinal

    full = FULL_SESSION_MINUTES[kind]
    minutes = np.array([end - start for start, end in table.minutes.values()], dtype=np.float64)
    # early closes move less, but overnight news still arrives
    weight = 0.25 + 0.75 * minutes / full if is_equity(kind) else minutes / full
    dt = weight / DAYS_PER_YEAR[kind]

    symbol_rng = seeded_generator(seed, YEAR_SYMBOL_STREAM, year, stable_key(symbol))
    idiosyncratic, jump_normal, volume_normal = symbol_rng.standard_normal((3, 366))
    jump_draw = symbol_rng.random(366)
    shocks = item.idiosyncratic_loading * idiosyncratic[day_of_year]
    for factor, loading in item.loadings:
        factor_draws = seeded_generator(seed, YEAR_FACTOR_STREAM, year, stable_key(factor)).standard_normal(
            366
        )
        shocks = shocks + loading * factor_draws[day_of_year]

    sigma = item.volatility * np.sqrt(dt)
    jump_probability = item.jumps_per_year * dt
    jump = np.where(jump_draw[day_of_year] < jump_probability, jump_normal[day_of_year] * item.jump_size, 0.0)
    innovation = sigma * shocks + jump
    # x_n = phi_n x_{n-1} + innovation_n with phi_n = exp(-kappa dt_n), in closed form
    kappa = math.log(2) / item.half_life_years
    cumulative_log_phi = np.cumsum(-kappa * dt)
    x = np.exp(cumulative_log_phi) * (x_start + np.cumsum(innovation * np.exp(-cumulative_log_phi)))
    log_close = _anchor_log(item, np.array(ordinals, dtype=np.float64)) + x
    volume_factor = np.exp(0.3 * volume_normal[day_of_year] - 0.045) * (0.7 + 0.3 * np.abs(shocks))
    return _YearSeries(
        ordinals=ordinals,
        log_close=log_close,
        sigma=sigma,
        jump=jump,
        volume_factor=volume_factor,
        x_end=float(x[-1]) if len(x) else x_start,
    )


def _series(seed: int, symbol: str, year: int) -> _YearSeries:
    # build years in order so the chain never recurses deeply
    for earlier in range(EPOCH.year, year):
        year_series(seed, symbol, earlier)
    return year_series(seed, symbol, year)


@dataclass(frozen=True, slots=True)
class _DayLevels:
    log_close: float
    prev_log_close: float
    sigma: float
    jump: float
    volume_factor: float


def previous_active(seed: int, symbol: str, ordinal: int) -> tuple[int, float] | None:
    """(ordinal, log close) of the last active day strictly before ``ordinal``."""
    year = date.fromordinal(ordinal).year
    while year >= EPOCH.year:
        series = _series(seed, symbol, year)
        index = bisect.bisect_left(series.ordinals, ordinal) - 1
        if index >= 0:
            return series.ordinals[index], float(series.log_close[index])
        year -= 1
        ordinal = date(year + 1, 1, 1).toordinal()
    return None


def _day_levels(seed: int, symbol: str, ordinal: int) -> _DayLevels | None:
    """Close, previous close and shock sizes of an active day; None if the day has no session."""
    series = _series(seed, symbol, date.fromordinal(ordinal).year)
    index = bisect.bisect_left(series.ordinals, ordinal)
    if index == len(series.ordinals) or series.ordinals[index] != ordinal:
        return None
    if index > 0:
        prev_log_close = float(series.log_close[index - 1])
    else:
        previous = previous_active(seed, symbol, ordinal)
        item = BY_SYMBOL[symbol]
        prev_log_close = previous[1] if previous else float(_anchor_log(item, float(ordinal - 1)))
    return _DayLevels(
        log_close=float(series.log_close[index]),
        prev_log_close=prev_log_close,
        sigma=float(series.sigma[index]),
        jump=float(series.jump[index]),
        volume_factor=float(series.volume_factor[index]),
    )


# --- step 2 and 3: one day of minutes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Path:
    """One day of minute bars in floats (before rounding to ticks); volume already in whole lots."""

    ordinal: int
    first_minute: int  # minute of the UTC day of the first bar; bars are contiguous
    open_f: FloatArray
    high_f: FloatArray
    low_f: FloatArray
    close_f: FloatArray
    sigma_f: FloatArray  # per-minute diffusive sigma (log)
    volume: IntArray  # in lots
    trades: IntArray | None
    prev_close_f: float


@dataclass(frozen=True, slots=True)
class _Day:
    path: _Path
    open_t: IntArray  # prices in ticks
    high_t: IntArray
    low_t: IntArray
    close_t: IntArray
    cumulative_volume: IntArray
    prev_close_t: int

    @property
    def size(self) -> int:
        return len(self.close_t)


@lru_cache(maxsize=64)
def minute_profiles(kind: AssetClass, first: int, end: int) -> tuple[FloatArray, FloatArray]:
    """(volatility multiplier, volume weight) per minute of a session."""
    if is_equity(kind):
        n = end - first
        x = (np.arange(n, dtype=np.float64) + 0.5) / n
        volatility = 0.65 + 1.8 * (2 * x - 1) ** 4 + 0.8 * np.exp(-x / 0.02)
        volume = 0.6 + 2.0 * (2 * x - 1) ** 6 + 2.5 * np.exp(-(1 - x) / 0.015) + 1.2 * np.exp(-x / 0.03)
    else:
        peak = 0.625 if kind is AssetClass.CRYPTO else 0.583  # ~15:00 UTC crypto, ~14:00 UTC London/NY
        volatility_amplitude, volume_amplitude = (0.25, 0.4) if kind is AssetClass.CRYPTO else (0.4, 0.6)
        phase = 2 * np.pi * (np.arange(first, end) / DAY_MINUTES - peak + 0.25)
        volatility = 1 + volatility_amplitude * np.sin(phase)
        volume = 1 + volume_amplitude * np.sin(phase)
    volatility.setflags(write=False)
    volume.setflags(write=False)
    return volatility, volume


def to_ticks(values: FloatArray, inverse_tick: float) -> IntArray:
    # rounding is monotone, so high >= max(open, close) >= min(open, close) >= low survives it
    return np.maximum(np.rint(values * inverse_tick), 1).astype(np.int64)


def to_tick(value: float, inverse_tick: float) -> int:
    return max(int(np.rint(value * inverse_tick)), 1)


def _simulate_day(seed: int, symbol: str, ordinal: int) -> _Path | None:
    item = BY_SYMBOL[symbol]
    kind = item.spec.asset_class
    session = session_minutes(kind, ordinal)
    levels = _day_levels(seed, symbol, ordinal) if session is not None else None
    if session is None or levels is None:
        return None
    first, end = session
    n = end - first
    volatility_profile, volume_profile = minute_profiles(kind, first, end)

    day_rng = seeded_generator(seed, DAY_SYMBOL_STREAM, ordinal, stable_key(symbol))
    draws = day_rng.standard_normal((4, n))
    idiosyncratic, high_draw, low_draw, volume_noise = draws[0], np.abs(draws[1]), np.abs(draws[2]), draws[3]
    gap_normal, overnight_draw, jump_position = day_rng.standard_normal(), day_rng.random(), day_rng.random()

    shocks = item.idiosyncratic_loading * idiosyncratic
    for factor, loading in item.loadings:
        # indexed by minute of the UTC day, so every instrument open at a minute sees the same shock
        factor_draws = seeded_generator(seed, DAY_FACTOR_STREAM, ordinal, stable_key(factor)).standard_normal(
            end
        )
        shocks += loading * factor_draws[first:end]

    total = levels.log_close - levels.prev_log_close
    jump = levels.jump
    if is_equity(kind):
        overnight_jump = jump if overnight_draw < _OVERNIGHT_JUMP_PROBABILITY else 0.0
        gap = (
            _GAP_SHARE * (total - jump)
            + math.sqrt(_GAP_SHARE * (1 - _GAP_SHARE)) * levels.sigma * gap_normal
            + overnight_jump
        )
        intraday_variance = (1 - _GAP_SHARE) * levels.sigma**2
    else:
        overnight_jump, gap, intraday_variance = 0.0, 0.0, levels.sigma**2
    intraday_jump = jump - overnight_jump
    log_open = levels.prev_log_close + gap
    target = levels.log_close - log_open - intraday_jump

    sigma = volatility_profile * math.sqrt(
        intraday_variance / float(np.dot(volatility_profile, volatility_profile))
    )
    steps = sigma * shocks
    variance = sigma * sigma
    steps += variance * ((target - float(steps.sum())) / float(variance.sum()))  # bridge to the close
    path = np.cumsum(steps)
    path += log_open
    if intraday_jump:
        path[int(jump_position * n) :] += intraday_jump
    path[-1] = levels.log_close

    close_f = np.exp(path)
    open_f = np.empty(n)
    open_f[0] = math.exp(log_open)
    open_f[1:] = close_f[:-1]
    scale = sigma * _RANGE_SCALE
    high_f = np.maximum(open_f, close_f) * np.exp(high_draw * scale)
    low_f = np.minimum(open_f, close_f) * np.exp(-low_draw * scale)

    lot = float(item.spec.lot_size)
    weights = volume_profile * np.exp(0.5 * volume_noise - 0.125) * (0.6 + 0.4 * np.abs(shocks))
    day_lots = item.daily_volume * n / FULL_SESSION_MINUTES[kind] * levels.volume_factor / lot
    volume = np.floor(weights * (day_lots / float(weights.sum()))).astype(np.int64)
    trades: IntArray | None = None
    if item.avg_trade_size is not None:
        trades = np.where(volume > 0, np.maximum(1, np.rint(volume * (lot / item.avg_trade_size))), 0).astype(
            np.int64
        )
    return _Path(
        ordinal=ordinal,
        first_minute=first,
        open_f=open_f,
        high_f=high_f,
        low_f=low_f,
        close_f=close_f,
        sigma_f=sigma,
        volume=volume,
        trades=trades,
        prev_close_f=math.exp(levels.prev_log_close),
    )


@lru_cache(maxsize=256)
def day_in_ticks(seed: int, symbol: str, ordinal: int) -> _Day | None:
    path = _simulate_day(seed, symbol, ordinal)
    if path is None:
        return None
    inverse_tick = inverse_tick_of(BY_SYMBOL[symbol].spec)
    return _Day(
        path=path,
        open_t=to_ticks(path.open_f, inverse_tick),
        high_t=to_ticks(path.high_f, inverse_tick),
        low_t=to_ticks(path.low_f, inverse_tick),
        close_t=to_ticks(path.close_f, inverse_tick),
        cumulative_volume=np.cumsum(path.volume),
        prev_close_t=to_tick(path.prev_close_f, inverse_tick),
    )


_Summary = tuple[int, int, int, int, int, int | None]  # open, high, low, close ticks, volume lots, trades


@lru_cache(maxsize=65_536)
def day_summary(seed: int, symbol: str, ordinal: int) -> _Summary | None:
    """The day's bar in integers. Rounding to ticks is monotone, so rounding the float extremes gives
    exactly the extremes of the rounded minute bars (what aggregating ``day_in_ticks`` would give)."""
    path = _simulate_day(seed, symbol, ordinal)
    if path is None:
        return None
    inverse_tick = inverse_tick_of(BY_SYMBOL[symbol].spec)
    return (
        to_tick(float(path.open_f[0]), inverse_tick),
        to_tick(float(path.high_f.max()), inverse_tick),
        to_tick(float(path.low_f.min()), inverse_tick),
        to_tick(float(path.close_f[-1]), inverse_tick),
        int(path.volume.sum()),
        None if path.trades is None else int(path.trades.sum()),
    )
