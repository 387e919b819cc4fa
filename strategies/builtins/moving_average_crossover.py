"""Moving-average crossover (pure, no Django): trend following on two averages of the close."""

from __future__ import annotations

from strategies.sdk import Context, Crossing, Param, ParameterError, Strategy


class MovingAverageCrossover(Strategy):
    """Buy when the fast average crosses above the slow one; exit (or reverse) on the cross below.

    For each symbol, on the bar where the cross happens (decided at its close, filled at the next open):

    - fast crosses ABOVE slow (was at or below, now strictly above): close a short if there is one,
      then buy;
    - fast crosses BELOW slow: close a long, then, with ``allow_short``, sell short.

    Entries are market orders for ``allocation_percent`` of equity split equally between the symbols,
    sized when they reach the market, commission included (100 % with one symbol = "all-in").

    Parameters: ``fast`` (bars, 1-200, default 10), ``slow`` (bars, 2-400, default 20; must exceed
    ``fast``), ``average`` (``sma`` or ``ema``), ``allow_short`` (default off),
    ``allocation_percent`` (1-100, default 100).
    """

    title = "Moving-average crossover"

    fast = Param(10, 1, 200, 1, help="Fast moving-average window, in bars.")
    slow = Param(20, 2, 400, 1, help="Slow moving-average window, in bars (longer than fast).")
    average = Param("sma", choices=("sma", "ema"), help="Simple or exponential moving averages.")
    allow_short = Param(False, help="Sell short on a cross below instead of only exiting.")
    allocation_percent = Param(
        100.0, 1.0, 100.0, 1.0, help="Share of equity to commit, split across symbols."
    )

    def check_parameters(self) -> None:
        if self.fast >= self.slow:
            raise ParameterError(
                "invalid_parameter", f"fast ({self.fast}) must be shorter than slow ({self.slow}).", "fast"
            )

    def on_start(self, ctx: Context) -> None:
        average = ctx.sma if self.average == "sma" else ctx.ema
        self._crossings: list[tuple[str, Crossing]] = [
            (symbol, average(self.fast, symbol).crossing(average(self.slow, symbol)))
            for symbol in ctx.symbols
        ]
        self._share = self.allocation_percent / len(ctx.symbols)
        self._several = len(ctx.symbols) > 1

    def on_bar(self, ctx: Context) -> None:
        for symbol, crossing in self._crossings:
            direction = crossing()
            if direction:
                self._trade(ctx, symbol, direction)

    def _trade(self, ctx: Context, symbol: str, direction: int) -> None:
        if self._several and not ctx.has_bar(symbol):
            return
        held = ctx.position(symbol)
        if direction > 0:
            if held < 0:
                ctx.close(symbol)
            if held <= 0:
                ctx.buy(symbol=symbol, equity_percent=self._share)
        else:
            if held > 0:
                ctx.close(symbol)
            if self.allow_short and held >= 0:
                ctx.sell(symbol=symbol, equity_percent=self._share)
