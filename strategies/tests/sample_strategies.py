"""Strategies for the runtime's tests, registered as user-written modules are (by import path)."""

from __future__ import annotations

from decimal import Decimal

from orders.matching import Fill
from strategies.sdk import Context, Param, Strategy


class BuyEveryBar(Strategy):
    """Buys ``quantity`` on every bar, emits a buy signal with levels, logs each fill it hears of."""

    title = "Buy every bar"
    quantity = Param(Decimal("0.01"), Decimal("0.0001"), Decimal(100), help="Units per bar.")

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        heard = f"fill {fill.side} {fill.quantity} @ {fill.price} at {fill.ts.isoformat()}"
        ctx.log(f"{heard} seen on {ctx.time.isoformat()}")

    def on_bar(self, ctx: Context) -> None:
        ctx.buy(self.quantity, tag="every-bar")
        close = ctx.close_price()
        ctx.signal("buy", 0.75, stop_loss=close * 0.9, take_profit=close * 1.1, note="always")


class Exploding(Strategy):
    """Raises on every bar."""

    def on_bar(self, ctx: Context) -> None:
        raise RuntimeError("boom")


class RestingThenCancel(Strategy):
    """Places a far limit buy on its first bar, cancels it on the next (``ctx.cancel_all``)."""

    def on_bar(self, ctx: Context) -> None:
        if ctx.open_orders():
            ctx.cancel_all()
        else:
            ctx.buy(Decimal("0.01"), limit_price=ctx.close_price() * 0.5, tag="far")


class NotAStrategy:
    """Importable, but not a Strategy subclass."""
