"""The deterministic simulated market (pure, no Django): the default, offline market-data provider.

Everything is a pure function of ``(seed, symbol, time)``, so any window of history comes out the same
however it is requested, two providers with the same seed agree, and live quotes replay exactly.

How the numbers are made
------------------------
1. Daily level (one generator per ``(seed, year, factor)`` and ``(seed, year, symbol)``): for each
   trading day, a standardised shock from a factor model (global equity factor, sector/asset-class
   factors, idiosyncratic part) scaled by the instrument's volatility, plus occasional jumps, drives a
   mean-reverting log price around an anchor path (typical 2025 price with a small drift). The close
   of every trading day is fixed here. Years chain from ``EPOCH`` (2010-01-01), the first simulated
   day; a year's draws never depend on the window asked for. (Yearly rather than daily generators
   here because a day's level depends on every earlier day: per-day generators would cost ~15 us x
   days since 2010 x instruments on a cold start. Everything finer is keyed per day or minute.)
2. Intraday path (one generator per ``(seed, day, factor)`` and ``(seed, day, symbol)``): correlated
   minute shocks with a U-shaped (stocks) or diurnal (crypto/FX) volatility profile, bridged so the
   day ends exactly on the close from step 1. Stocks open with an overnight gap (a share of the
   day's move, plus most jumps); crypto and FX open at the previous close. Minute highs/lows extend
   beyond open/close, volume follows a U-shaped/diurnal profile and rises with |return|.
3. Prices are rounded to the instrument's tick in integer ticks and volume floored to whole lots per
   minute; daily and hourly bars are built from those integers, so a daily bar is exactly the
   aggregation of its 1m bars (``marketdata.aggregate`` conventions) and every bar is sound.
4. Quotes (one generator per ``(seed, symbol, minute)``): a Brownian bridge on a 250 ms grid
   (``QUOTE_GRID`` points per minute) from the minute's open to its close, clipped to the minute's
   high/low, with spreads by asset class (stocks 1-5 bps, crypto 5-10 bps, FX 0.5-2 pips).

What holds exactly for quotes of a minute bar (those a full stream yields inside that minute): the
first quote's ``last`` is the bar's open and the last quote's ``last`` is its close, every ``last``
lies in ``[low, high]``, ``bid <= last <= ask`` with a spread of at least one tick, and the growth of
the cumulative ``volume`` across the minute equals the bar's volume. The quote high/low usually fall
inside the bar's range rather than touching it (the bar's extremes are drawn separately).

Sessions come from ``marketdata.calendar``: stocks/ETFs trade NYSE regular hours (390 one-minute bars
on a full day, 210 on a 13:00 early close, none on holidays), crypto 1,440 bars a day, forex 24/5.
History only returns bars that are complete at ``clock()``; outside a session ``latest_quote`` shows
the last session's close with a live-looking bid/ask.

Stability: the numbers depend on numpy's ``Generator`` normal/uniform streams, which numpy does not
promise to keep across releases; ``test_simulator.py::test_golden_values`` pins a few values so an
upgrade that changes them fails loudly (stored simulated bars would then need a re-backfill).
"""

from __future__ import annotations

import bisect
import math
import time as _time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from marketdata import calendar
from marketdata.domain import AssetClass, Bar, InstrumentSpec, Quote, Timeframe, ensure_utc
from marketdata.providers.base import UnknownSymbol, check_window

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EPOCH = date(2010, 1, 1)
"""First simulated day; history starts here (earlier requests are clamped)."""
LAST_DAY = date(2099, 12, 31)
"""Last simulated day (later requests are clamped)."""
ANCHOR_DAY = date(2025, 1, 1)
"""Day at which each instrument's anchor path equals its typical price."""
QUOTE_GRID = 240
"""Points of the sub-minute quote path (one per 250 ms)."""
MAX_QUOTES_PER_SECOND = QUOTE_GRID / 60
_CELL_SECONDS = 60 / QUOTE_GRID
_GAP_SHARE = 0.2  # share of a stock's daily variance that happens overnight
_OVERNIGHT_JUMP_PROBABILITY = 0.6
_RANGE_SCALE = 0.5  # minute high/low extension, in minute sigmas
_BRIDGE_SCALE = 0.6  # sub-minute quote path volatility, in minute sigmas
_RESYNC_SECONDS = 1.0
_DAY_MINUTES = 1440
_SECONDS_PER_DAY = 86_400

# random stream identifiers (the second word of every seed sequence)
_YEAR_FACTOR, _YEAR_SYMBOL, _DAY_FACTOR, _DAY_SYMBOL, _MINUTE, _IDLE = 1, 2, 3, 4, 5, 6


# --- the universe ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimulatedInstrument:
    """An instrument with the parameters of its simulated price process."""

    spec: InstrumentSpec
    price: float  # typical price at ANCHOR_DAY
    volatility: float  # annualised, of log returns
    loadings: tuple[tuple[str, float], ...]  # (factor, loading); sum of squares < 1
    daily_volume: float  # base units over a full session
    avg_trade_size: float | None  # base units; None: no trade counts (OTC forex)
    drift: float  # annual log drift of the anchor path
    jumps_per_year: float
    jump_size: float  # standard deviation of a log jump
    half_life_years: float  # mean reversion of the log price towards the anchor
    spread_low: float  # full spread range: bps of price, or pips for forex
    spread_high: float
    pip: float | None = None  # forex pip size

    @property
    def idiosyncratic_loading(self) -> float:
        return math.sqrt(1.0 - sum(loading**2 for _, loading in self.loadings))


def _spec(
    symbol: str,
    name: str,
    asset_class: AssetClass,
    venue: str,
    *,
    tick: str,
    lot: str,
    minimum: str,
    fractionable: bool,
    shortable: bool,
    quote_currency: str = "USD",
) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol,
        name=f"{name} (simulated)",
        asset_class=asset_class,
        venue=venue,
        quote_currency=quote_currency,
        tick_size=Decimal(tick),
        lot_size=Decimal(lot),
        min_quantity=Decimal(minimum),
        fractionable=fractionable,
        shortable=shortable,
        tradable=True,
        data_source="simulator",
    )


def _equity(
    symbol: str,
    name: str,
    venue: str,
    *,
    price: float,
    volatility: float,
    loadings: dict[str, float],
    daily_volume: float,
    fractionable: bool,
    etf: bool = False,
    drift: float = 0.07,
) -> SimulatedInstrument:
    kind = AssetClass.ETF if etf else AssetClass.STOCK
    return SimulatedInstrument(
        spec=_spec(
            symbol,
            name,
            kind,
            venue,
            tick="0.01",
            lot="1",
            minimum="1",
            fractionable=fractionable,
            shortable=True,
        ),
        price=price,
        volatility=volatility,
        loadings=tuple(loadings.items()),
        daily_volume=daily_volume,
        avg_trade_size=200.0 if etf else 120.0,
        drift=drift,
        jumps_per_year=1.0 if etf else 4.0,
        jump_size=0.02 if etf else 0.045,
        half_life_years=1.0,
        spread_low=1.0,
        spread_high=3.0 if etf else 5.0,
    )


def _crypto(
    base: str,
    name: str,
    *,
    price: float,
    volatility: float,
    crypto_loading: float,
    daily_volume: float,
    tick: str,
    lot: str,
) -> SimulatedInstrument:
    return SimulatedInstrument(
        spec=_spec(
            f"{base}/USD",
            f"{name} / US Dollar",
            AssetClass.CRYPTO,
            "SIM-CRYPTO",
            tick=tick,
            lot=lot,
            minimum=lot,
            fractionable=True,
            shortable=False,
        ),
        price=price,
        volatility=volatility,
        loadings=(("equity", 0.25), ("crypto", crypto_loading)),
        daily_volume=daily_volume,
        avg_trade_size=2500.0 / price,
        drift=0.15,
        jumps_per_year=8.0,
        jump_size=0.06,
        half_life_years=1.0,
        spread_low=5.0,
        spread_high=10.0,
    )


def _forex(
    symbol: str,
    name: str,
    *,
    price: float,
    volatility: float,
    loadings: dict[str, float],
    tick: str,
    pip: float,
) -> SimulatedInstrument:
    return SimulatedInstrument(
        spec=_spec(
            symbol,
            name,
            AssetClass.FOREX,
            "SIM-FX",
            tick=tick,
            lot="1",
            minimum="1000",
            fractionable=False,
            shortable=True,
            quote_currency=symbol.split("/")[1],
        ),
        price=price,
        volatility=volatility,
        loadings=tuple(loadings.items()),
        daily_volume=2.0e9,
        avg_trade_size=None,
        drift=0.0,
        jumps_per_year=2.0,
        jump_size=0.008,
        half_life_years=2.0,
        spread_low=0.5,
        spread_high=2.0,
        pip=pip,
    )


UNIVERSE: tuple[SimulatedInstrument, ...] = (
    _equity("AAPL", "Apple Inc.", "SIM-NASDAQ", price=230, volatility=0.27,
            loadings={"equity": 0.65, "tech": 0.45}, daily_volume=55e6, fractionable=True),
    _equity("MSFT", "Microsoft Corporation", "SIM-NASDAQ", price=420, volatility=0.25,
            loadings={"equity": 0.65, "tech": 0.45}, daily_volume=22e6, fractionable=True),
    _equity("NVDA", "NVIDIA Corporation", "SIM-NASDAQ", price=135, volatility=0.50,
            loadings={"equity": 0.55, "tech": 0.5}, daily_volume=250e6, fractionable=True),
    _equity("GOOGL", "Alphabet Inc. Class A", "SIM-NASDAQ", price=175, volatility=0.30,
            loadings={"equity": 0.6, "tech": 0.4}, daily_volume=25e6, fractionable=True),
    _equity("META", "Meta Platforms, Inc.", "SIM-NASDAQ", price=590, volatility=0.38,
            loadings={"equity": 0.55, "tech": 0.4}, daily_volume=15e6, fractionable=True),
    _equity("AMZN", "Amazon.com, Inc.", "SIM-NASDAQ", price=220, volatility=0.32,
            loadings={"equity": 0.6, "tech": 0.3, "consumer": 0.3}, daily_volume=40e6, fractionable=True),
    _equity("TSLA", "Tesla, Inc.", "SIM-NASDAQ", price=400, volatility=0.60,
            loadings={"equity": 0.45, "consumer": 0.35}, daily_volume=90e6, fractionable=True),
    _equity("JPM", "JPMorgan Chase & Co.", "SIM-NYSE", price=240, volatility=0.24,
            loadings={"equity": 0.6, "financials": 0.5}, daily_volume=9e6, fractionable=False),
    _equity("XOM", "Exxon Mobil Corporation", "SIM-NYSE", price=110, volatility=0.26,
            loadings={"equity": 0.45, "energy": 0.6}, daily_volume=15e6, fractionable=False),
    _equity("JNJ", "Johnson & Johnson", "SIM-NYSE", price=150, volatility=0.17,
            loadings={"equity": 0.4, "health": 0.5}, daily_volume=7e6, fractionable=False),
    _equity("SPY", "SPDR S&P 500 ETF Trust", "SIM-ARCA", price=590, volatility=0.16,
            loadings={"equity": 0.97, "tech": 0.15}, daily_volume=60e6, fractionable=True, etf=True),
    _equity("QQQ", "Invesco QQQ Trust", "SIM-NASDAQ", price=510, volatility=0.21,
            loadings={"equity": 0.85, "tech": 0.45}, daily_volume=35e6, fractionable=True, etf=True,
            drift=0.09),
    _equity("IWM", "iShares Russell 2000 ETF", "SIM-ARCA", price=225, volatility=0.22,
            loadings={"equity": 0.85, "smallcap": 0.45}, daily_volume=25e6, fractionable=False, etf=True,
            drift=0.05),
    _equity("TLT", "iShares 20+ Year Treasury Bond ETF", "SIM-NASDAQ", price=90, volatility=0.15,
            loadings={"equity": -0.2, "rates": 0.9}, daily_volume=20e6, fractionable=False, etf=True,
            drift=-0.01),
    _equity("GLD", "SPDR Gold Shares", "SIM-ARCA", price=240, volatility=0.15,
            loadings={"gold": 0.9, "equity": 0.1, "usd": 0.2}, daily_volume=8e6, fractionable=False, etf=True,
            drift=0.04),
    _crypto("BTC", "Bitcoin", price=95_000, volatility=0.55, crypto_loading=0.85, daily_volume=15_000,
            tick="0.01", lot="0.0001"),
    _crypto("ETH", "Ether", price=3_300, volatility=0.70, crypto_loading=0.82, daily_volume=200_000,
            tick="0.01", lot="0.0001"),
    _crypto("SOL", "Solana", price=190, volatility=0.95, crypto_loading=0.75, daily_volume=2_500_000,
            tick="0.01", lot="0.0001"),
    _crypto("LTC", "Litecoin", price=100, volatility=0.75, crypto_loading=0.75, daily_volume=400_000,
            tick="0.01", lot="0.0001"),
    _crypto("DOGE", "Dogecoin", price=0.32, volatility=1.0, crypto_loading=0.65, daily_volume=1.5e9,
            tick="0.00001", lot="1"),
    _forex("EUR/USD", "Euro / US Dollar", price=1.04, volatility=0.07, loadings={"usd": 0.8},
           tick="0.00001", pip=0.0001),
    _forex("GBP/USD", "British Pound / US Dollar", price=1.25, volatility=0.08, loadings={"usd": 0.7},
           tick="0.00001", pip=0.0001),
    _forex("USD/JPY", "US Dollar / Japanese Yen", price=157, volatility=0.09,
           loadings={"usd": -0.5, "equity": 0.2}, tick="0.001", pip=0.01),
    _forex("AUD/USD", "Australian Dollar / US Dollar", price=0.62, volatility=0.10,
           loadings={"usd": 0.6, "equity": 0.35}, tick="0.00001", pip=0.0001),
)  # fmt: skip
_BY_SYMBOL: dict[str, SimulatedInstrument] = {item.spec.symbol: item for item in UNIVERSE}

_DAYS_PER_YEAR = {
    AssetClass.STOCK: 252.0,
    AssetClass.ETF: 252.0,
    AssetClass.CRYPTO: 365.0,
    AssetClass.FOREX: 260.0,
}
_FULL_SESSION_MINUTES = {
    AssetClass.STOCK: 390,
    AssetClass.ETF: 390,
    AssetClass.CRYPTO: 1440,
    AssetClass.FOREX: 1440,
}


def _key(text: str) -> int:
    """A stable 32-bit key for a name (Python's ``hash`` is salted per process)."""
    return zlib.crc32(text.encode())


def _rng(*parts: int) -> np.random.Generator:
    return np.random.default_rng(list(parts))


def _inverse_tick(spec: InstrumentSpec) -> float:
    inverse = 1 / spec.tick_size
    if inverse != inverse.to_integral_value():
        raise ValueError(f"{spec.symbol}: tick size {spec.tick_size} is not 1/integer")
    return float(inverse)


def _is_equity(kind: AssetClass) -> bool:
    return kind in (AssetClass.STOCK, AssetClass.ETF)


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


@dataclass(frozen=True, slots=True)
class _SessionTable:
    """Sessions of one asset class in one year: minute-of-UTC-day bounds per active day."""

    days: list[date]
    ordinals: list[int]
    minutes: dict[int, tuple[int, int]]  # ordinal -> (first minute, end minute exclusive)


@lru_cache(maxsize=512)
def _session_table(kind: AssetClass, year: int) -> _SessionTable:
    days = calendar.session_days(kind, date(year, 1, 1), date(year + 1, 1, 1))
    minutes: dict[int, tuple[int, int]] = {}
    for day in days:
        bounds = calendar.session_bounds(kind, day)
        assert bounds is not None
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        minutes[day.toordinal()] = (
            int((bounds[0] - midnight).total_seconds()) // 60,
            int((bounds[1] - midnight).total_seconds()) // 60,
        )
    return _SessionTable(days=days, ordinals=[day.toordinal() for day in days], minutes=minutes)


def _session_minutes(kind: AssetClass, ordinal: int) -> tuple[int, int] | None:
    """First and end (exclusive) minute-of-UTC-day of the session of a day, None without one."""
    return _session_table(kind, date.fromordinal(ordinal).year).minutes.get(ordinal)


@lru_cache(maxsize=1024)
def _year_series(seed: int, symbol: str, year: int) -> _YearSeries:
    item = _BY_SYMBOL[symbol]
    kind = item.spec.asset_class
    x_start = 0.0 if year <= EPOCH.year else _year_series(seed, symbol, year - 1).x_end
    table = _session_table(kind, year)
    ordinals = table.ordinals
    first_ordinal = date(year, 1, 1).toordinal()
    day_of_year = np.array(ordinals, dtype=np.int64) - first_ordinal

    full = _FULL_SESSION_MINUTES[kind]
    minutes = np.array([end - start for start, end in table.minutes.values()], dtype=np.float64)
    # early closes move less, but overnight news still arrives
    weight = 0.25 + 0.75 * minutes / full if _is_equity(kind) else minutes / full
    dt = weight / _DAYS_PER_YEAR[kind]

    symbol_rng = _rng(seed, _YEAR_SYMBOL, year, _key(symbol))
    idiosyncratic, jump_normal, volume_normal = symbol_rng.standard_normal((3, 366))
    jump_draw = symbol_rng.random(366)
    shocks = item.idiosyncratic_loading * idiosyncratic[day_of_year]
    for factor, loading in item.loadings:
        factor_draws = _rng(seed, _YEAR_FACTOR, year, _key(factor)).standard_normal(366)
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
        _year_series(seed, symbol, earlier)
    return _year_series(seed, symbol, year)


@dataclass(frozen=True, slots=True)
class _DayLevels:
    log_close: float
    prev_log_close: float
    sigma: float
    jump: float
    volume_factor: float


def _previous_active(seed: int, symbol: str, ordinal: int) -> tuple[int, float] | None:
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
        previous = _previous_active(seed, symbol, ordinal)
        item = _BY_SYMBOL[symbol]
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
def _profiles(kind: AssetClass, first: int, end: int) -> tuple[FloatArray, FloatArray]:
    """(volatility multiplier, volume weight) per minute of a session."""
    if _is_equity(kind):
        n = end - first
        x = (np.arange(n, dtype=np.float64) + 0.5) / n
        volatility = 0.65 + 1.8 * (2 * x - 1) ** 4 + 0.8 * np.exp(-x / 0.02)
        volume = 0.6 + 2.0 * (2 * x - 1) ** 6 + 2.5 * np.exp(-(1 - x) / 0.015) + 1.2 * np.exp(-x / 0.03)
    else:
        peak = 0.625 if kind is AssetClass.CRYPTO else 0.583  # ~15:00 UTC crypto, ~14:00 UTC London/NY
        volatility_amplitude, volume_amplitude = (0.25, 0.4) if kind is AssetClass.CRYPTO else (0.4, 0.6)
        phase = 2 * np.pi * (np.arange(first, end) / _DAY_MINUTES - peak + 0.25)
        volatility = 1 + volatility_amplitude * np.sin(phase)
        volume = 1 + volume_amplitude * np.sin(phase)
    volatility.setflags(write=False)
    volume.setflags(write=False)
    return volatility, volume


def _ticks(values: FloatArray, inverse_tick: float) -> IntArray:
    # rounding is monotone, so high >= max(open, close) >= min(open, close) >= low survives it
    return np.maximum(np.rint(values * inverse_tick), 1).astype(np.int64)


def _tick(value: float, inverse_tick: float) -> int:
    return max(int(np.rint(value * inverse_tick)), 1)


def _simulate_day(seed: int, symbol: str, ordinal: int) -> _Path | None:
    item = _BY_SYMBOL[symbol]
    kind = item.spec.asset_class
    session = _session_minutes(kind, ordinal)
    levels = _day_levels(seed, symbol, ordinal) if session is not None else None
    if session is None or levels is None:
        return None
    first, end = session
    n = end - first
    volatility_profile, volume_profile = _profiles(kind, first, end)

    day_rng = _rng(seed, _DAY_SYMBOL, ordinal, _key(symbol))
    draws = day_rng.standard_normal((4, n))
    idiosyncratic, high_draw, low_draw, volume_noise = draws[0], np.abs(draws[1]), np.abs(draws[2]), draws[3]
    gap_normal, overnight_draw, jump_position = day_rng.standard_normal(), day_rng.random(), day_rng.random()

    shocks = item.idiosyncratic_loading * idiosyncratic
    for factor, loading in item.loadings:
        # indexed by minute of the UTC day, so every instrument open at a minute sees the same shock
        factor_draws = _rng(seed, _DAY_FACTOR, ordinal, _key(factor)).standard_normal(end)
        shocks += loading * factor_draws[first:end]

    total = levels.log_close - levels.prev_log_close
    jump = levels.jump
    if _is_equity(kind):
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
    day_lots = item.daily_volume * n / _FULL_SESSION_MINUTES[kind] * levels.volume_factor / lot
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
def _day(seed: int, symbol: str, ordinal: int) -> _Day | None:
    path = _simulate_day(seed, symbol, ordinal)
    if path is None:
        return None
    inverse_tick = _inverse_tick(_BY_SYMBOL[symbol].spec)
    return _Day(
        path=path,
        open_t=_ticks(path.open_f, inverse_tick),
        high_t=_ticks(path.high_f, inverse_tick),
        low_t=_ticks(path.low_f, inverse_tick),
        close_t=_ticks(path.close_f, inverse_tick),
        cumulative_volume=np.cumsum(path.volume),
        prev_close_t=_tick(path.prev_close_f, inverse_tick),
    )


_Summary = tuple[int, int, int, int, int, int | None]  # open, high, low, close ticks, volume lots, trades


@lru_cache(maxsize=65_536)
def _day_summary(seed: int, symbol: str, ordinal: int) -> _Summary | None:
    """The day's bar in integers. Rounding to ticks is monotone, so rounding the float extremes gives
    exactly the extremes of the rounded minute bars (what aggregating ``_day`` would give)."""
    path = _simulate_day(seed, symbol, ordinal)
    if path is None:
        return None
    inverse_tick = _inverse_tick(_BY_SYMBOL[symbol].spec)
    return (
        _tick(float(path.open_f[0]), inverse_tick),
        _tick(float(path.high_f.max()), inverse_tick),
        _tick(float(path.low_f.min()), inverse_tick),
        _tick(float(path.close_f[-1]), inverse_tick),
        int(path.volume.sum()),
        None if path.trades is None else int(path.trades.sum()),
    )


# --- step 4: the sub-minute quote path -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MinuteQuotes:
    last_t: IntArray  # QUOTE_GRID prices in ticks: first = bar open, last = bar close
    spread_draw: FloatArray
    bid_size_draw: FloatArray
    ask_size_draw: FloatArray


@lru_cache(maxsize=2048)
def _minute_quotes(seed: int, symbol: str, epoch_minute: int) -> _MinuteQuotes | None:
    ordinal = _ordinal_of_minute(epoch_minute)
    day = _day(seed, symbol, ordinal)
    if day is None:
        return None
    index = epoch_minute - _first_epoch_minute(ordinal) - day.path.first_minute
    if not 0 <= index < day.size:
        return None
    item = _BY_SYMBOL[symbol]
    rng = _rng(seed, _MINUTE, _key(symbol), epoch_minute)
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
        last_t=_ticks(prices, _inverse_tick(item.spec)),
        spread_draw=spread_draw,
        bid_size_draw=bid_size_draw,
        ask_size_draw=ask_size_draw,
    )


def _first_epoch_minute(ordinal: int) -> int:
    return (ordinal - _EPOCH_ORDINAL) * _DAY_MINUTES


def _ordinal_of_minute(epoch_minute: int) -> int:
    return _EPOCH_ORDINAL + epoch_minute // _DAY_MINUTES


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def clear_caches() -> None:
    """Drop every memoised series, day and minute (to free memory; results never change)."""
    for cached in (_session_table, _year_series, _profiles, _day, _day_summary, _minute_quotes):
        cached.cache_clear()


# --- the provider ----------------------------------------------------------------------------------------


def _system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Columns:
    """Bars as integer columns: open times (POSIX seconds), prices in ticks, volume in lots."""

    open_time: IntArray
    open: IntArray
    high: IntArray
    low: IntArray
    close: IntArray
    volume: IntArray
    trades: IntArray | None

    def take(self, mask: npt.NDArray[np.bool_]) -> _Columns:
        return _Columns(
            self.open_time[mask],
            self.open[mask],
            self.high[mask],
            self.low[mask],
            self.close[mask],
            self.volume[mask],
            None if self.trades is None else self.trades[mask],
        )


class SimulatorProvider:
    """Deterministic offline market: see the module docstring. Implements ``MarketDataProvider``.

    ``clock`` gives "now" (default: the system clock); history never returns a bar that is not complete
    at ``clock()``. ``sleep`` and ``quotes_per_second`` drive ``stream_quotes``; inject a fake clock and
    a ``sleep`` that advances it to run a stream at full speed in tests.
    """

    name = "simulator"

    def __init__(
        self,
        seed: int = 7,
        clock: Callable[[], datetime] | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        quotes_per_second: float = 4.0,
    ) -> None:
        if seed < 0:
            raise ValueError("seed must not be negative")
        self.seed = seed
        self.clock = clock or _system_clock
        self.sleep = sleep or _time.sleep
        self.quotes_per_second = _check_rate(quotes_per_second)

    # -- reference data --

    def instruments(self) -> list[InstrumentSpec]:
        return [item.spec for item in UNIVERSE]

    def instrument(self, symbol: str) -> InstrumentSpec:
        return self._item(symbol).spec

    def _item(self, symbol: str) -> SimulatedInstrument:
        item = _BY_SYMBOL.get(symbol)
        if item is None:
            raise UnknownSymbol(symbol, self.name)
        return item

    def _now(self) -> datetime:
        return ensure_utc(self.clock())

    # -- history --

    def history(self, symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime) -> list[Bar]:
        """Decimal bars with ``start <= open_time < end`` complete at ``clock()``: prices on the tick
        grid, volume on the lot grid; daily bars labelled as in ``marketdata.aggregate``."""
        item = self._item(symbol)
        target = Timeframe.parse(timeframe)
        columns = self._columns(item, target, start, end)
        tick, lot = item.spec.tick_size, item.spec.lot_size
        times = [datetime.fromtimestamp(seconds, UTC) for seconds in columns.open_time.tolist()]
        trades: list[int] | list[None] = (
            columns.trades.tolist() if columns.trades is not None else [None] * len(times)
        )
        distinct = np.unique(
            np.concatenate((columns.open, columns.high, columns.low, columns.close))
        ).tolist()
        price = {ticks: Decimal(ticks) * tick for ticks in distinct}  # prices repeat a lot: convert once
        return [
            Bar(symbol, target, at, price[o], price[h], price[lo], price[c], Decimal(v) * lot, n)
            for at, o, h, lo, c, v, n in zip(
                times,
                columns.open.tolist(),
                columns.high.tolist(),
                columns.low.tolist(),
                columns.close.tolist(),
                columns.volume.tolist(),
                trades,
                strict=True,
            )
        ]

    def history_frame(
        self, symbol: str, timeframe: Timeframe | str, start: datetime, end: datetime
    ) -> pd.DataFrame:
        """The same bars as ``history`` as a frame: ``open_time`` (datetime64[ns, UTC]), float64
        ``open/high/low/close/volume`` (the nearest doubles to the Decimal values) and nullable Int64
        ``trade_count``."""
        import pandas as pd

        item = self._item(symbol)
        columns = self._columns(item, Timeframe.parse(timeframe), start, end)
        inverse_tick = _inverse_tick(item.spec)
        lot = item.spec.lot_size
        inverse_lot = 1 / lot
        volume: npt.NDArray[Any]
        if inverse_lot == inverse_lot.to_integral_value():  # exact division gives the nearest double
            volume = columns.volume / float(inverse_lot)
        else:
            volume = columns.volume * float(lot)
        trades = (
            pd.array(columns.trades, dtype="Int64")
            if columns.trades is not None
            else pd.array([None] * len(columns.open_time), dtype="Int64")
        )
        return pd.DataFrame(
            {
                "open_time": pd.to_datetime(columns.open_time, unit="s", utc=True).astype(
                    "datetime64[ns, UTC]"
                ),
                "open": columns.open / inverse_tick,
                "high": columns.high / inverse_tick,
                "low": columns.low / inverse_tick,
                "close": columns.close / inverse_tick,
                "volume": volume,
                "trade_count": trades,
            }
        )

    def _columns(
        self, item: SimulatedInstrument, timeframe: Timeframe, start: datetime, end: datetime
    ) -> _Columns:
        start, end = check_window(start, end)
        now = self._now()
        first = datetime.combine(EPOCH, datetime.min.time(), tzinfo=UTC)
        last = datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        start, end = max(start, first), min(end, last)
        if start >= end:
            return _empty_columns(item)
        if timeframe is Timeframe.D1:
            return self._daily_columns(item, start, end, now)
        return self._intraday_columns(item, timeframe, start, end, now)

    def _daily_columns(
        self, item: SimulatedInstrument, start: datetime, end: datetime, now: datetime
    ) -> _Columns:
        kind = item.spec.asset_class
        symbol = item.spec.symbol
        rows: list[tuple[int, int, int, int, int, int, int | None]] = []
        for day in calendar.session_days(kind, start.date(), end.date() + timedelta(days=1)):
            bounds = calendar.session_bounds(kind, day)
            assert bounds is not None
            label = bounds[0] if _is_equity(kind) else datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            if not start <= label < end or bounds[1] > now:
                continue
            summary = _day_summary(self.seed, symbol, day.toordinal())
            assert summary is not None
            rows.append((int(label.timestamp()), *summary))
        if not rows:
            return _empty_columns(item)
        table = list(zip(*rows, strict=True))
        trades = None if item.avg_trade_size is None else np.array(table[6], dtype=np.int64)
        opens, highs, lows, closes, volumes = (np.array(table[i], dtype=np.int64) for i in range(1, 6))
        return _Columns(np.array(table[0], dtype=np.int64), opens, highs, lows, closes, volumes, trades)

    def _intraday_columns(
        self, item: SimulatedInstrument, timeframe: Timeframe, start: datetime, end: datetime, now: datetime
    ) -> _Columns:
        kind = item.spec.asset_class
        step = timeframe.seconds
        low = math.floor(start.timestamp() / step) * step  # whole buckets, so bars never depend on the window
        high = math.ceil(end.timestamp() / step) * step
        first_day = datetime.fromtimestamp(low, UTC).date()
        last_day = datetime.fromtimestamp(high - 1, UTC).date()
        parts: list[_Columns] = []
        for day in calendar.session_days(kind, first_day, last_day + timedelta(days=1)):
            built = _day(self.seed, item.spec.symbol, day.toordinal())
            assert built is not None
            midnight = (day.toordinal() - _EPOCH_ORDINAL) * _SECONDS_PER_DAY
            times = midnight + (built.path.first_minute + np.arange(built.size, dtype=np.int64)) * 60
            columns = _Columns(
                times,
                built.open_t,
                built.high_t,
                built.low_t,
                built.close_t,
                built.path.volume,
                built.path.trades,
            )
            parts.append(columns.take((times >= low) & (times < high)))
        if not parts:
            return _empty_columns(item)
        merged = _concat(parts)
        if timeframe is not Timeframe.M1:
            merged = _roll_up(merged, step)
        complete = merged.open_time + step <= now.timestamp()
        inside = (merged.open_time >= start.timestamp()) & (merged.open_time < end.timestamp())
        return merged.take(complete & inside)

    # -- quotes --

    def latest_quote(self, symbol: str) -> Quote | None:
        """The quote at ``clock()`` (see ``quote_at``)."""
        return self.quote_at(symbol, self._now())

    def quote_at(self, symbol: str, at: datetime) -> Quote | None:
        """The deterministic quote at instant ``at``; None before ``EPOCH``. In session the price
        follows the sub-minute path; outside it (stocks, forex weekends) ``last`` is the last session's
        close, ``volume`` that session's volume, and ``prev_close`` the close of the session before."""
        item = self._item(symbol)
        at = ensure_utc(at)
        if at.date() < EPOCH or at.date() > LAST_DAY:
            return None
        kind = item.spec.asset_class
        if calendar.is_open(kind, at):
            return self._session_quote(item, at)
        return self._idle_quote(item, at)

    def _session_quote(self, item: SimulatedInstrument, at: datetime) -> Quote:
        symbol = item.spec.symbol
        seconds = at.timestamp()
        epoch_minute = math.floor(seconds / 60)
        cell = min(QUOTE_GRID - 1, int((seconds - epoch_minute * 60) / _CELL_SECONDS))
        ordinal = _ordinal_of_minute(epoch_minute)
        day = _day(self.seed, symbol, ordinal)
        minute = _minute_quotes(self.seed, symbol, epoch_minute)
        assert day is not None
        assert minute is not None
        index = epoch_minute - _first_epoch_minute(ordinal) - day.path.first_minute
        before = int(day.cumulative_volume[index - 1]) if index else 0
        volume = before + int(day.path.volume[index]) * cell // (QUOTE_GRID - 1)
        return self._make_quote(
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

    def _idle_quote(self, item: SimulatedInstrument, at: datetime) -> Quote | None:
        symbol = item.spec.symbol
        today = at.date().toordinal()
        bounds = calendar.session_bounds(item.spec.asset_class, at.date())
        if bounds is not None and bounds[1] <= at:
            reference = today
        else:
            previous = _previous_active(self.seed, symbol, today)
            if previous is None:
                return None
            reference = previous[0]
        day = _day(self.seed, symbol, reference)
        assert day is not None
        epoch_minute = math.floor(at.timestamp() / 60)
        rng = _rng(self.seed, _IDLE, _key(symbol), epoch_minute)
        draws = rng.random(3)
        return self._make_quote(
            item,
            at,
            last_t=int(day.close_t[-1]),
            volume_lots=int(day.cumulative_volume[-1]),
            prev_close_t=day.prev_close_t,
            draws=(float(draws[0]), float(draws[1]), float(draws[2])),
        )

    def _make_quote(
        self,
        item: SimulatedInstrument,
        at: datetime,
        *,
        last_t: int,
        volume_lots: int,
        prev_close_t: int,
        draws: tuple[float, float, float],
    ) -> Quote:
        spec = item.spec
        inverse_tick = _inverse_tick(spec)
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
            bid_size=_quote_size(item, last, bid_draw),
            ask_size=_quote_size(item, last, ask_draw),
            last=Decimal(last_t) * tick,
            volume=Decimal(volume_lots) * lot,
            prev_close=Decimal(prev_close_t) * tick,
        )

    def stream_quotes(
        self,
        symbols: Sequence[str],
        *,
        until: datetime | None = None,
        quotes_per_second: float | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Iterator[Quote]:
        """Live quotes for ``symbols`` while their markets are open, until ``until`` (exclusive).

        Each open symbol gets ``round(60 * rate)`` quotes a minute (rate at most
        ``MAX_QUOTES_PER_SECOND``), stamped on the 250 ms path grid and always including the minute's
        first (open) and last (close) grid points; at the default 4/s that is one every 250 ms. All
        symbols of a tick share its timestamp and equal ``quote_at(symbol, ts)``. Between ticks the
        stream calls ``sleep``; while every market is closed it sleeps until the next open. If the
        consumer falls more than a second behind, the stream skips ahead to the present instead of
        replaying missed quotes. Unknown symbols raise ``UnknownSymbol`` at once.
        """
        items = [self._item(symbol) for symbol in symbols]
        rate = self.quotes_per_second if quotes_per_second is None else _check_rate(quotes_per_second)
        stop = ensure_utc(until) if until is not None else None
        return self._stream(items, rate, stop, sleep or self.sleep)

    def _stream(
        self,
        items: list[SimulatedInstrument],
        rate: float,
        until: datetime | None,
        sleep: Callable[[float], None],
    ) -> Iterator[Quote]:
        per_minute = max(1, min(QUOTE_GRID, round(60 * rate)))
        cells = (
            [round(k * (QUOTE_GRID - 1) / (per_minute - 1)) for k in range(per_minute)]
            if per_minute > 1
            else [QUOTE_GRID - 1]
        )
        offsets = [timedelta(seconds=cell * _CELL_SECONDS) for cell in cells]
        if not items:
            return
        first_instant = datetime.combine(EPOCH, datetime.min.time(), tzinfo=UTC)

        def position(at: datetime) -> tuple[datetime, int]:
            """The first tick at or after ``at``."""
            minute = at.replace(second=0, microsecond=0)
            for index, offset in enumerate(offsets):
                if minute + offset >= at:
                    return minute, index
            return minute + timedelta(minutes=1), 0

        minute, index = position(max(self._now(), first_instant))
        while True:
            ts = minute + offsets[index]
            if until is not None and ts >= until:
                return
            open_items = [item for item in items if calendar.is_open(item.spec.asset_class, ts)]
            if not open_items:  # all markets closed: wait for the first to open (or for ``until``)
                opens = [calendar.next_open(item.spec.asset_class, ts) for item in items]
                reopen = min(moment for moment in opens if moment is not None)
                if until is not None and reopen >= until:
                    wait = (until - self._now()).total_seconds()
                    if wait > 0:
                        sleep(wait)
                    return
                minute, index = position(reopen)
                continue
            wait = (ts - self._now()).total_seconds()
            if wait > 0:
                sleep(wait)
            elif -wait > _RESYNC_SECONDS:
                minute, index = position(self._now())
                continue
            for item in open_items:
                yield self._session_quote(item, ts)
            index += 1
            if index == len(offsets):
                minute, index = minute + timedelta(minutes=1), 0


def _check_rate(rate: float) -> float:
    if not 0 < rate <= MAX_QUOTES_PER_SECOND:
        raise ValueError(f"quotes_per_second must be in (0, {MAX_QUOTES_PER_SECOND:g}], got {rate}")
    return float(rate)


def _quote_size(item: SimulatedInstrument, price: float, draw: float) -> Decimal:
    spec = item.spec
    kind = spec.asset_class
    if _is_equity(kind):
        return Decimal(100 * (1 + int(draw * 20)))  # 100 - 2,000 shares
    if kind is AssetClass.FOREX:
        return Decimal(100_000 * (1 + int(draw * 50)))  # 0.1 - 5 million units
    notional = 2_000.0 * math.exp(draw * math.log(75.0))  # $2k - $150k
    lots = max(1, int(notional / price / float(spec.lot_size)))
    return Decimal(lots) * spec.lot_size


def _empty_columns(item: SimulatedInstrument) -> _Columns:
    empty = np.zeros(0, dtype=np.int64)
    return _Columns(empty, empty, empty, empty, empty, empty, None if item.avg_trade_size is None else empty)


def _concat(parts: list[_Columns]) -> _Columns:
    trades = (
        None if parts[0].trades is None else np.concatenate([p.trades for p in parts if p.trades is not None])
    )
    return _Columns(
        np.concatenate([p.open_time for p in parts]),
        np.concatenate([p.open for p in parts]),
        np.concatenate([p.high for p in parts]),
        np.concatenate([p.low for p in parts]),
        np.concatenate([p.close for p in parts]),
        np.concatenate([p.volume for p in parts]),
        trades,
    )


def _roll_up(columns: _Columns, step: int) -> _Columns:
    """Intraday aggregation on integer columns (same rules as ``marketdata.aggregate``)."""
    if len(columns.open_time) == 0:
        return columns
    keys = columns.open_time - columns.open_time % step
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    lasts = np.concatenate((starts[1:], [len(keys)])) - 1
    return _Columns(
        keys[starts],
        columns.open[starts],
        np.maximum.reduceat(columns.high, starts),
        np.minimum.reduceat(columns.low, starts),
        columns.close[lasts],
        np.add.reduceat(columns.volume, starts),
        None if columns.trades is None else np.add.reduceat(columns.trades, starts),
    )
