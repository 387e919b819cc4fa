"""Performance statistics of an equity curve and a list of trades (pure, no Django): one module for
backtests and the live portfolio.

Conventions:

- Inputs are float64 (these are statistics, not money at rest): an equity curve sampled once per
  period (a backtest: one value per bar close; the portfolio: one snapshot per period), optional times
  (int64 ns or datetimes) and the P&L of closed trades.
- Period returns are simple: ``r_t = equity_t / equity_{t-1} - 1``.
- Periods per year (:func:`periods_per_year`): daily bars 252 for stocks and ETFs, 365 for crypto, 260
  for forex; intraday bars = bars per trading day x those days: a US stock session is 6.5 h (390 one-
  minute bars, 78 five-minute, 26 fifteen-minute, 7 hourly bars labelled 9:30..15:30), crypto and forex
  trade 24 h. A caller may pass its own figure.
- Risk-free rate: 0 unless given, as an annual rate, turned into a per-period rate
  ``(1 + rf) ** (1 / periods_per_year) - 1``.
- Annualised return: ``(end / start) ** (periods_per_year / periods) - 1``; volatility: sample standard
  deviation (``ddof=1``) of period returns x ``sqrt(periods_per_year)``.
- Sharpe: mean excess period return / its standard deviation x sqrt(periods per year). Sortino: the same
  mean over the downside deviation ``sqrt(mean(min(0, r - rf)^2))`` (all periods in the mean). Calmar:
  annualised return / max drawdown.
- Max drawdown: the largest fall from a running peak, as a POSITIVE fraction (0.25 = 25 %). Its
  duration: the longest time spent below a previous peak, from the peak to the period that regains it
  (or the end), in periods and, with times, as a timedelta.
- Trades: a win has P&L > 0, a loss < 0 (a zero trade counts in the total only). Profit factor = gross
  wins / |gross losses| (``inf`` with wins and no losses, None without trades); expectancy = mean P&L
  per trade in money; ``average_trade_return`` = mean of the trades' returns (fractions).
- Exposure time: the share of periods with a position open.
- VaR (one period, at ``var_confidence``, a positive fraction of equity = a loss): historical = minus
  the ``1 - confidence`` quantile of the period returns (linear interpolation); Monte Carlo = the same
  quantile of ``var_simulations`` returns drawn from a normal distribution with the sample mean and
  standard deviation (numpy ``default_rng(seed)``: reproducible).
- Undefined statistics (too few periods, zero deviation, no trades) are None, never NaN; a deviation
  below 1e-12 is float noise and counts as zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from marketdata.domain import Timeframe

FloatArray = npt.NDArray[np.float64]

_DAYS_PER_YEAR = {"stock": 252, "etf": 252, "crypto": 365, "forex": 260}
_STOCK_BARS_PER_DAY = {
    Timeframe.M1: 390,
    Timeframe.M5: 78,
    Timeframe.M15: 26,
    Timeframe.H1: 7,
    Timeframe.D1: 1,
}
_NOISE = 1e-12  # a deviation of period returns below this is float noise: treated as zero
_ALL_DAY_BARS = {Timeframe.M1: 1440, Timeframe.M5: 288, Timeframe.M15: 96, Timeframe.H1: 24, Timeframe.D1: 1}


def periods_per_year(timeframe: Timeframe | str, asset_class: str = "stock") -> float:
    """Bars of ``timeframe`` in a year of ``asset_class`` trading (see the module conventions)."""
    frame = Timeframe.parse(timeframe)
    kind = str(asset_class)
    days = _DAYS_PER_YEAR.get(kind, 252)
    per_day = _STOCK_BARS_PER_DAY[frame] if kind in ("stock", "etf") else _ALL_DAY_BARS[frame]
    return float(days * per_day)


_periods_per_year = periods_per_year  # compute_metrics takes a keyword of the same name


@dataclass(frozen=True, slots=True)
class Metrics:
    """The platform's performance figures. Fractions, not percent (0.12 = 12 %); None = undefined."""

    start_equity: float | None
    end_equity: float | None
    periods: int
    periods_per_year: float
    risk_free_rate: float
    total_return: float | None
    annualized_return: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float | None
    max_drawdown_periods: int
    max_drawdown_duration: timedelta | None
    trades: int
    win_rate: float | None
    average_win: float | None
    average_loss: float | None
    profit_factor: float | None
    expectancy: float | None
    average_trade_return: float | None
    exposure_time: float | None
    buy_and_hold_return: float | None
    excess_return: float | None
    var_confidence: float
    var_historical: float | None
    var_monte_carlo: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: the duration in seconds, infinities as strings."""
        values = asdict(self)
        duration = values["max_drawdown_duration"]
        values["max_drawdown_duration"] = None if duration is None else duration.total_seconds()
        for key, value in values.items():
            if isinstance(value, float) and math.isinf(value):
                values[key] = "inf" if value > 0 else "-inf"
        return values


def returns_of(equity: FloatArray) -> FloatArray:
    """Simple period returns; a period starting from equity <= 0 has no return (dropped)."""
    values = np.asarray(equity, dtype=np.float64)
    if len(values) < 2:
        return np.zeros(0)
    previous = values[:-1]
    valid = previous > 0
    return values[1:][valid] / previous[valid] - 1.0


def max_drawdown(equity: FloatArray) -> float | None:
    """The largest fall from a running peak as a positive fraction (0 without one; None if empty)."""
    values = np.asarray(equity, dtype=np.float64)
    if len(values) == 0:
        return None
    peaks = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - values / peaks, 0.0)
    return float(np.max(falls))


def longest_drawdown(equity: FloatArray) -> tuple[int, int, int]:
    """``(periods, peak_index, end_index)`` of the longest stretch below a previous peak: from the peak
    to the period that regains it, or to the last period when it never does. ``(0, 0, 0)`` if none."""
    values = np.asarray(equity, dtype=np.float64)
    if len(values) < 2:
        return 0, 0, 0
    under = values < np.maximum.accumulate(values)
    if not np.any(under):
        return 0, 0, 0
    edges = np.diff(np.concatenate([[0], under.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)  # first period of each underwater run (never period 0)
    stops = np.flatnonzero(edges == -1)  # the period that regains the peak, or len(values)
    peaks = starts - 1  # not underwater there, so it is the running peak
    ends = np.minimum(stops, len(values) - 1)
    lengths = ends - peaks
    longest = int(np.argmax(lengths))
    return int(lengths[longest]), int(peaks[longest]), int(ends[longest])


def var_historical(returns: FloatArray, confidence: float = 0.95) -> float | None:
    """One-period historical VaR: minus the ``1 - confidence`` quantile of ``returns``."""
    values = np.asarray(returns, dtype=np.float64)
    if len(values) == 0:
        return None
    return float(-np.quantile(values, 1.0 - confidence))


def var_monte_carlo(
    returns: FloatArray, confidence: float = 0.95, simulations: int = 10_000, seed: int = 0
) -> float | None:
    """One-period Monte Carlo VaR from a normal fit of ``returns`` (reproducible with ``seed``)."""
    values = np.asarray(returns, dtype=np.float64)
    if len(values) < 2:
        return None
    rng = np.random.default_rng(seed)
    draws = rng.normal(float(np.mean(values)), float(np.std(values, ddof=1)), simulations)
    return float(-np.quantile(draws, 1.0 - confidence))


def _duration(times: Sequence[Any] | npt.NDArray[Any] | None, first: int, last: int) -> timedelta | None:
    if times is None or len(times) == 0 or last <= first:
        return None if times is None or len(times) == 0 else timedelta(0)
    start, end = times[first], times[last]
    if isinstance(start, datetime) and isinstance(end, datetime):
        return end - start
    return timedelta(microseconds=(int(end) - int(start)) // 1000)


def compute_metrics(
    *,
    equity: Sequence[float] | FloatArray,
    times: Sequence[Any] | npt.NDArray[Any] | None = None,
    trade_pnls: Sequence[float] = (),
    trade_returns: Sequence[float] = (),
    in_market: Sequence[bool] | npt.NDArray[np.bool_] | None = None,
    benchmark: Sequence[float] | FloatArray | None = None,
    timeframe: Timeframe | str = Timeframe.D1,
    asset_class: str = "stock",
    periods_per_year: float | None = None,
    risk_free_rate: float = 0.0,
    var_confidence: float = 0.95,
    var_simulations: int = 10_000,
    seed: int = 0,
) -> Metrics:
    """All figures of :class:`Metrics` (see the module conventions). ``benchmark`` is a price series
    over the same span for the buy-and-hold comparison."""
    values = np.asarray(equity, dtype=np.float64)
    per_year = periods_per_year if periods_per_year is not None else _periods_per_year(timeframe, asset_class)
    returns = returns_of(values)
    periods = max(len(values) - 1, 0)
    start = float(values[0]) if len(values) else None
    end = float(values[-1]) if len(values) else None
    total = end / start - 1.0 if start and end is not None and start > 0 else None
    annualized = None
    if total is not None and periods > 0:
        annualized = -1.0 if total <= -1 else (1.0 + total) ** (per_year / periods) - 1.0
    risk_free_period = (1.0 + risk_free_rate) ** (1.0 / per_year) - 1.0
    volatility = sharpe = sortino = None
    if len(returns) >= 2:
        deviation = float(np.std(returns, ddof=1))
        excess = returns - risk_free_period
        volatility = deviation * math.sqrt(per_year)
        if deviation > _NOISE:
            sharpe = float(np.mean(excess)) / deviation * math.sqrt(per_year)
        downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
        if downside > _NOISE:
            sortino = float(np.mean(excess)) / downside * math.sqrt(per_year)
    depth = max_drawdown(values)
    underwater, peak, recovered = longest_drawdown(values)
    calmar = annualized / depth if annualized is not None and depth else None

    pnls = np.asarray(trade_pnls, dtype=np.float64)
    wins, losses = pnls[pnls > 0], pnls[pnls < 0]
    count = len(pnls)
    profit_factor: float | None = None
    if count:
        profit_factor = (
            float(wins.sum() / -losses.sum()) if len(losses) else (math.inf if len(wins) else None)
        )
    exposure = None
    if in_market is not None and len(in_market):
        exposure = float(np.mean(np.asarray(in_market, dtype=bool)))
    buy_and_hold = None
    if benchmark is not None and len(benchmark) >= 1 and float(benchmark[0]) > 0:
        buy_and_hold = float(benchmark[-1]) / float(benchmark[0]) - 1.0
    return Metrics(
        start_equity=start,
        end_equity=end,
        periods=periods,
        periods_per_year=per_year,
        risk_free_rate=risk_free_rate,
        total_return=total,
        annualized_return=annualized,
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        max_drawdown=depth,
        max_drawdown_periods=underwater,
        max_drawdown_duration=_duration(times, peak, recovered) if underwater else None,
        trades=count,
        win_rate=float(len(wins) / count) if count else None,
        average_win=float(wins.mean()) if len(wins) else None,
        average_loss=float(losses.mean()) if len(losses) else None,
        profit_factor=profit_factor,
        expectancy=float(pnls.mean()) if count else None,
        average_trade_return=float(np.mean(trade_returns)) if len(trade_returns) else None,
        exposure_time=exposure,
        buy_and_hold_return=buy_and_hold,
        excess_return=None if total is None or buy_and_hold is None else total - buy_and_hold,
        var_confidence=var_confidence,
        var_historical=var_historical(returns, var_confidence),
        var_monte_carlo=var_monte_carlo(returns, var_confidence, var_simulations, seed),
    )


def metric_number(value: Any) -> float | None:
    """A stored metric as a float: ``"inf"``/``"-inf"`` as infinities, None (or anything not a number)
    as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if value in ("inf", "-inf"):
        return float(value)
    return None
