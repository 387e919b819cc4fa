"""The event-driven backtest engine (pure, no Django): bars in, a strategy's orders through the same
matching, risk and ledger code as the paper broker, results out.

Modules: ``config`` (BacktestConfig, errors, data checks, the timeline), ``loop`` (BacktestEngine:
the bar loop and the strategy's Broker; ``run_backtest``), ``state`` (the engine's order, group and
symbol bookkeeping; the one status writer), ``fast_path`` (proven shortcuts around matching),
``groups`` (contingent legs), ``account`` (what risk checks see), ``results`` (trades, equity curve,
metrics) and ``records`` (the result types). Import from the package:
``from backtests.engine import BacktestConfig, run_backtest``.

Conventions (``docs/strategies.md`` has the long version):

- Event order for each timestamp (one "step"): for every symbol with a bar at that time, first the
  orders already working at the venue are matched against the bar (``orders.matching.on_market_event``,
  oldest first; a bracket's stop-loss before its take-profit), then the orders the strategy placed
  since the symbol's previous bar are submitted with this bar (``on_submit``: next-bar-open) after the
  same checks as the paper broker (``validate_order``, ``contingent.group_problems``,
  ``orders.risk.check_order``). Fills go through ``portfolio.ledger.apply_fill``; ``on_fill`` runs for
  each, then the bar becomes visible and ``on_bar`` runs.
- Legs a fill activates (bracket / OTO) work from the NEXT bar; a refused order ends ``rejected`` with
  the risk or validation code. Orders of ``equity_percent`` are sized when they reach the market with
  :func:`strategies.sdk.size_equity_percent` at ``orders.matching.expected_fill_price`` (the open,
  slippage included, for market orders); ``close`` orders take the position at that moment.
- Risk sees the account as the paper broker does: cash, equity with positions marked at the open of
  the current bar (the latest close for symbols without a bar now), reserved buying power = open buy
  orders' remaining notional at their reference price + the market value of short positions.
- DAY orders expire at ``config.session_close(open time of the bar they reached the market on)``;
  the default is the end of that UTC day (daily bars: the next bar).
- Money is Decimal from order to ledger; the per-bar loop touches no Decimal and allocates nothing on
  bars where no order works. A market order outside a contingent group takes a shortcut that gives
  exactly what ``on_submit`` gives (proved by ``backtests/tests/test_engine_fast_path.py``). Equity and
  drawdown curves are float64, computed after the loop from the exact cash and positions after each
  fill; the final equity is exact.
- Reproducible: no randomness, ids are ``"<n>"`` in placement order; the result carries the data range,
  a SHA-256 of the data, the strategy's parameters and the caller's code version.
"""

from __future__ import annotations

from backtests.engine.config import (
    BacktestCancelled,
    BacktestConfig,
    BacktestError,
    StrategyError,
    data_hash,
    describe_config,
    end_of_utc_day,
    prepare_data,
)
from backtests.engine.fast_path import market_fill_at_open, may_change_on_bar
from backtests.engine.loop import BacktestEngine, run_backtest
from backtests.engine.records import BacktestResult, DataRange, EquityCurve, OrderRecord, Trade

__all__ = [
    "BacktestCancelled",
    "BacktestConfig",
    "BacktestEngine",
    "BacktestError",
    "BacktestResult",
    "DataRange",
    "EquityCurve",
    "OrderRecord",
    "StrategyError",
    "Trade",
    "data_hash",
    "describe_config",
    "end_of_utc_day",
    "market_fill_at_open",
    "may_change_on_bar",
    "prepare_data",
    "run_backtest",
]
