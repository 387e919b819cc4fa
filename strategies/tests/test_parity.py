"""Parity: what you backtest is what you trade. The same bars through a deployed strategy on the paper
broker and through the backtester give exactly the same orders and fills.

(a) Paper: a crypto instrument (the market is always open), the moving-average crossover with small
windows deployed on the user's paper account. For each bar: the clock moves to the bar's close, the bar
is stored (``marketdata.services.upsert_bars``), the NEXT bar's open becomes the latest quote (bid = ask
= last = open, stamped at that open), ``orders.services.evaluate_symbol`` matches resting orders against
it, then the deployment ticks for the closed bar (what the bar-closed hook's task does).

(b) Backtest: ``backtests.engine.run_backtest`` on the same bars, same strategy and parameters, the
account's cash, the paper broker's execution config (zero commission and slippage here) and the
account's risk limits, ``start`` = the first bar the deployment ticked.

Conventions aligned, and why:

- **Next-bar-open.** The engine fills an order decided on bar t at bar t+1's open. The runtime sends
  orders after ``on_bar`` of bar t returns, when the latest quote is the market after t closed; in
  production that is a price inside bar t+1 a moment after its open, here exactly the open (bid = ask
  = open, ``ts`` = t+1's open time), so paper fills carry the engine's price and bar time.
- **The last bar.** Orders decided on the last bar never reach the engine's market (there is no next
  bar); the paper run does not tick the last bar (it has no next open to quote either), and the
  engine's orders are compared only where they reached the market (``submitted_at``).
- **Sizing.** ``equity_percent`` orders are sized when they reach the market on both sides, on equity
  with positions at that open (the paper account marks at the quote's last = the open), at the price
  the order is expected to fill, with the same ``size_for_budget`` and commission model.
- **Risk rules.** The paper broker applies the account's limits capped by the platform's (e.g. no
  short selling by default); the backtest gets the same ``RiskLimits`` (``orders.services.risk_limits``).
- **Warm-up.** Bars stored before the deployment started are history for indicators only (the
  engine's ``start``); the deployment's history is anchored at its first bar, the engine reads from the
  same first bar, so the EMA variant agrees to the last digit too.
- **Identity.** Engine ids count up ("1", "2"); paper orders are UUIDs with client ids derived from the
  deployment and bar: the comparison is on side, type, quantity, status, average price and fills.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from backtests.engine import BacktestConfig, run_backtest
from marketdata.domain import Bar, Timeframe
from marketdata.hooks import BarClosed
from marketdata.quotes import store_quotes
from marketdata.services import upsert_bars
from orders import services as order_services
from orders.models import Fill, Order
from strategies import services
from strategies.builtins import MovingAverageCrossover
from strategies.sdk import BarSeries
from strategies.tests.conftest import START, quote_of
from tradeapp.core.clock import frozen_clock

pytestmark = pytest.mark.django_db

BARS = 150
WARM_UP = 12  # bars stored before the deployment starts


def walk(count: int, seed: int) -> list[Bar]:
    """Hourly bars on the 0.01 tick: a seeded random walk with a flat stretch (exact average ties)."""
    rng = np.random.default_rng(seed)
    ticks = 2_000_000 + np.cumsum(rng.integers(-40_000, 40_001, count))
    ticks[60:75] = ticks[59]  # flat: SMA(fast) == SMA(slow) exactly, the tie rule decides
    bars = []
    for index in range(count):
        open_ticks = int(ticks[index - 1]) if index else int(ticks[0])
        close_ticks = int(ticks[index])
        spread = int(rng.integers(0, 3_000))
        opening, closing = Decimal(open_ticks) / 100, Decimal(close_ticks) / 100
        bars.append(
            Bar(
                symbol="BTC/USD",
                timeframe=Timeframe.H1,
                open_time=START + timedelta(hours=index),
                open=opening,
                high=max(opening, closing) + Decimal(spread) / 100,
                low=min(opening, closing) - Decimal(spread) / 100,
                close=closing,
                volume=Decimal(int(rng.integers(1, 50))),
            )
        )
    return bars


@pytest.mark.parametrize(
    ("average", "seed"),
    [("sma", 7), ("ema", 11)],
)
def test_paper_deployment_and_backtest_give_the_same_orders_and_fills(account, btc, average, seed):
    bars = walk(BARS, seed)
    parameters = {"fast": 3, "slow": 8, "average": average}
    upsert_bars(instrument=btc, bars=bars[:WARM_UP])

    # (a) the paper run
    with frozen_clock(bars[WARM_UP].open_time) as clock:
        deployment = services.deploy(
            owner=account.owner,
            account=account,
            symbols=["BTC/USD"],
            timeframe="1h",
            strategy="moving_average_crossover",
            parameters=parameters,
        )
        for index in range(WARM_UP, BARS - 1):
            bar, following = bars[index], bars[index + 1]
            clock.set(bar.close_time)
            upsert_bars(instrument=btc, bars=[bar])
            store_quotes([quote_of("BTC/USD", following.open, following.open_time)])
            order_services.evaluate_symbol("BTC/USD")
            outcome = services.tick_deployment(
                deployment_id=deployment.pk, bar_key=BarClosed(btc.pk, bar).key
            )
            assert outcome.status == "ticked", outcome
        upsert_bars(instrument=btc, bars=[bars[-1]])

    # (b) the backtest of the same bars
    account.refresh_from_db()
    deployment.refresh_from_db()
    result = run_backtest(
        MovingAverageCrossover(**parameters),
        BarSeries.from_bars(bars, btc.spec()),
        BacktestConfig(
            initial_cash=Decimal("100000.00"),
            execution=order_services.execution_config(),
            risk_limits=order_services.risk_limits(order_services.risk_settings_of(account)),
            start=bars[WARM_UP].open_time,
        ),
    )

    assert deployment.status == "running"
    assert not deployment.last_error
    paper_orders = [
        (o.side, o.order_type, o.quantity, o.status, o.filled_quantity, o.average_fill_price)
        for o in Order.objects.filter(deployment_id=deployment.pk).order_by("created_at", "client_order_id")
    ]
    engine_orders = [
        (o.side, o.order_type, o.quantity, o.status, o.filled_quantity, o.average_fill_price)
        for o in result.orders
        if o.submitted_at is not None
    ]
    paper_fills = [
        (f.side, f.price, f.quantity, f.commission, f.executed_at)
        for f in Fill.objects.filter(order__deployment_id=deployment.pk).order_by("executed_at")
    ]
    engine_fills = [(f.side, f.price, f.quantity, f.commission, f.ts) for f in result.fills]
    assert len(engine_fills) >= 6, "the series should cross several times"
    assert not [o for o in result.orders if o.status == "rejected"]
    assert paper_orders == engine_orders
    assert paper_fills == engine_fills
    assert account.cash == result.final_cash
    position = services.selectors.deployment_positions(deployment.pk).get("BTC/USD")
    held = result.positions.get("BTC/USD")
    assert (position.quantity if position else 0) == (held.quantity if held else 0)
