"""Strategies for the run tests, registered as the admin would (the ``registered`` fixture): one that
raises on a given bar, one that cancels its own run mid-way, one for a single symbol."""

from __future__ import annotations

from typing import ClassVar

from strategies.sdk import Context, Param, Strategy

EXPLODING, EXPLODING_PATH = "exploding", "backtests.tests.strategies:Exploding"
SELF_CANCELING, SELF_CANCELING_PATH = "self_canceling", "backtests.tests.strategies:SelfCanceling"
ONE_SYMBOL, ONE_SYMBOL_PATH = "one_symbol", "backtests.tests.strategies:OneSymbol"


class Exploding(Strategy):
    """Raises once it has seen more than ``fail_at`` bars (warm-up bars included)."""

    fail_at = Param(5, 0, 10_000, 1)

    def on_bar(self, ctx: Context) -> None:
        if ctx.bar_count() > self.fail_at:
            raise RuntimeError("boom")


class SelfCanceling(Strategy):
    """Cancels the run it belongs to (``run_id``, set by the test) when it reaches bar ``cancel_at``,
    as a user clicking "cancel" in the middle of a run would, then keeps trading."""

    cancel_at = Param(20, 0, 10_000, 1)
    run: ClassVar[dict[str, object]] = {}

    def on_bar(self, ctx: Context) -> None:
        if ctx.bar_count() == self.cancel_at + 1:
            from backtests import services

            services.cancel_backtest(owner=self.run["owner"], backtest_id=self.run["id"])
        if ctx.bar_count() % 10 == 0:
            ctx.buy(1) if ctx.position() == 0 else ctx.close()


class OneSymbol(Strategy):
    """Written for ``ctx.symbol`` alone: holds one unit of it."""

    multi_symbol = False

    def on_bar(self, ctx: Context) -> None:
        if ctx.position() == 0:
            ctx.buy(1)
