"""The strategy SDK (pure, no Django): Strategy base class, typed parameters, indicators and the Context.

A strategy is a class with typed parameters and four hooks; it talks to the world only through the
:class:`Context` it is handed. The backtest engine (``backtests.engine``) and the paper/live runtime
build the same Context over different backends (a :class:`Broker`), so a strategy runs unchanged from
backtest to paper to live: what you backtest is what you trade.

The package's modules, along its seams: ``errors`` (:class:`StrategyProblem`), ``params``
(:class:`Param`), ``strategy`` (:class:`Strategy`, loading by path), ``bars`` (:class:`BarSeries`, tick
and time conversions), ``indicators`` (from ``marketdata.indicators``), ``series`` (:class:`Series`,
crossings, bands, history), ``order_requests`` (requests, views, signals, the :class:`Broker`
protocol), ``sizing`` (equity-percent and risk sizing) and ``context`` (:class:`Context`). Import from
the package: ``from strategies import sdk`` or ``from strategies.sdk import Strategy``.

Conventions (``docs/strategies.md`` has the long version and an example):

- Time: bars are labelled by their OPEN time. ``on_bar`` runs when a bar has CLOSED; the strategy sees
  that bar and everything before it, never anything after (``Series`` and ``History`` refuse to index
  past the current bar). Orders placed on bar t reach the market at the next bar of their symbol and
  fill there under ``orders.matching`` (next-bar-open convention).
- Crossovers: ``a.crossed_above(b)`` on bar t means ``a[t-1] <= b[t-1] and a[t] > b[t]`` ("was at or
  below, now strictly above"); ``crossed_below`` mirrors it (``>=`` then ``<``). A NaN on either bar
  (indicator warm-up) is never a cross. A tie on bar t is not a cross; the cross happens on the first
  bar strictly beyond.
- Indicators are computed vectorised over the whole series the Context holds, then read only up to the
  current bar; every one is causal (its value on bar t depends on bars <= t only). Values equal the
  ``ta`` package's on the same data: EMA, RSI, MACD, Bollinger, ATR and Donchian bit for bit (same
  pandas operations in the same order); SMA is the correctly rounded EXACT mean of the window, computed
  on the instrument's tick grid in integers, so it differs from ``ta``'s rolling mean by at most a few
  units in the last place and exact ties (e.g. SMA(10) == SMA(20) on flat prices) stay exact ties in the
  backtester, the paper runtime, the chart API and any history window. Warm-up values are NaN (``ta``'s
  ATR reports 0.0 there).
- Money, prices and quantities that reach orders are ``Decimal``; float prices given to order calls are
  rounded onto the tick conservatively (a buy limit down, a sell limit up, a buy stop up, a sell stop
  down: never more aggressive than asked). Indicator and history values are float64.
"""

from __future__ import annotations

from orders.matching import Fill
from orders.states import OrderStatus, OrderType, Side, TimeInForce
from strategies.sdk.bars import (
    BarSeries,
    FloatArray,
    IntArray,
    datetime_of,
    nanos_of,
    off_grid_count,
    tick_fraction,
    to_ticks,
)
from strategies.sdk.context import Context
from strategies.sdk.errors import ParameterError, StrategyProblem
from strategies.sdk.indicators import atr, bollinger, donchian, ema, macd, rsi, sma, true_range
from strategies.sdk.order_requests import (
    Broker,
    Direction,
    LogLine,
    OrderRequest,
    OrderView,
    Signal,
    to_price,
)
from strategies.sdk.params import Param
from strategies.sdk.series import Bands, BarView, Crossing, History, MacdLines, Series, crossings
from strategies.sdk.sizing import size_equity_percent, size_for_budget
from strategies.sdk.strategy import Strategy, load_strategy, strategy_path
from tradeapp.core.decimals import floor_to

__all__ = [
    "Bands",
    "BarSeries",
    "BarView",
    "Broker",
    "Context",
    "Crossing",
    "Direction",
    "Fill",
    "FloatArray",
    "History",
    "IntArray",
    "LogLine",
    "MacdLines",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "OrderView",
    "Param",
    "ParameterError",
    "Series",
    "Side",
    "Signal",
    "Strategy",
    "StrategyProblem",
    "TimeInForce",
    "atr",
    "bollinger",
    "crossings",
    "datetime_of",
    "donchian",
    "ema",
    "floor_to",
    "load_strategy",
    "macd",
    "nanos_of",
    "off_grid_count",
    "rsi",
    "size_equity_percent",
    "size_for_budget",
    "sma",
    "strategy_path",
    "tick_fraction",
    "to_price",
    "to_ticks",
    "true_range",
]
