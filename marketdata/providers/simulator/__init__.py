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

Modules: ``universe`` (the instruments and their process parameters), ``sessions`` (simulated days and
session minutes), ``prices`` (steps 1 to 3), ``quotes`` (step 4 and bid/ask), ``columns`` (integer bar
columns) and ``provider`` (``SimulatorProvider``). Import from the package.
"""

from marketdata.providers.simulator.provider import SimulatorProvider, clear_caches
from marketdata.providers.simulator.quotes import MAX_QUOTES_PER_SECOND, QUOTE_GRID
from marketdata.providers.simulator.sessions import EPOCH, LAST_DAY
from marketdata.providers.simulator.universe import ANCHOR_DAY, UNIVERSE, SimulatedInstrument

__all__ = [
    "ANCHOR_DAY",
    "EPOCH",
    "LAST_DAY",
    "MAX_QUOTES_PER_SECOND",
    "QUOTE_GRID",
    "UNIVERSE",
    "SimulatedInstrument",
    "SimulatorProvider",
    "clear_caches",
]
