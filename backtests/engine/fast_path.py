"""The engine's proven shortcuts around ``orders.matching`` (pure, no Django): a simple market order's
fill at the open without the full ``on_submit``, and the integer test that skips matching an order
the bar cannot touch. Their agreement with ``orders.matching`` is tested (``test_engine_fast_path``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from orders.matching import ExecutionConfig, Fill, WorkingOrder
from orders.states import OrderType, Side

_ZERO = Decimal(0)


def market_fill_at_open(
    order_id: str,
    symbol: str,
    *,
    side: Side,
    quantity: Decimal,
    open_price: Decimal,
    ts: datetime,
    config: ExecutionConfig,
    tick_size: Decimal,
) -> Fill:
    """The fill ``on_submit`` gives a NEW market order of ``quantity`` on a bar opening at
    ``open_price`` when partial fills are off and the order cannot expire on that bar: the whole
    quantity at the open adjusted by the slippage model, the commission model's charge for a first
    fill, stamped with the bar's open time, sequence 1 (the order ends ``accepted, filled`` with that
    average price, quantised to 10 places). The engine's shortcut for the common case; the equality
    with ``on_submit`` is a tested property (``test_engine_fast_path.py``)."""
    price = config.slippage.adjust(side, open_price, tick_size)
    commission = config.commission.commission(quantity, price, _ZERO)
    return Fill(order_id, symbol, side, quantity, price, commission, ts, 1)


def may_change_on_bar(
    working: WorkingOrder, *, low_ticks: int, high_ticks: int, tick_size: Decimal, partial_fills: bool
) -> bool:
    """False only when ``on_market_event`` would certainly return ``working`` unchanged for a bar with
    that low and high (in ticks): an order without expiry, without partial fills, resting as a limit
    the range does not reach or as an untriggered stop it does not touch. Everything else: True.
    Exact comparisons in integers of ticks; the property is tested against ``on_market_event``."""
    if working.expires_at is not None or partial_fills:
        return True
    level = resting_level(working)
    if level is None:
        return True
    price, from_below = level
    ticks = price / tick_size
    return low_ticks <= ticks if from_below else high_ticks >= ticks


def resting_level(working: WorkingOrder) -> tuple[Decimal, bool] | None:
    """The price a resting limit or untriggered stop waits for, and True when the bar's LOW must reach
    down to it (a buy limit, a sell stop), False when its HIGH must reach up to it; None when the
    order may act on any bar (market, trailing stop, a triggered stop)."""
    kind = working.order_type
    buy = working.side == Side.BUY
    if kind == OrderType.LIMIT or (kind == OrderType.STOP_LIMIT and working.triggered):
        price, from_below = working.limit_price, buy
    elif kind in (OrderType.STOP, OrderType.STOP_LIMIT) and not working.triggered:
        price, from_below = working.stop_price, not buy
    else:
        return None
    return None if price is None else (price, from_below)
