"""Momentum on MACD with an RSI filter (pure, no Django)."""

from __future__ import annotations

from strategies.sdk import Context, MacdLines, Param, ParameterError, Series, Strategy


class Momentum(Strategy):
    """Ride momentum: enter when MACD crosses its signal line, unless RSI says the move is stretched.

    For each symbol:

    - long entry: the MACD line crosses ABOVE its signal line and (with ``use_rsi_filter``) RSI is
      below ``overbought``; long exit: MACD crosses below its signal, or RSI crosses above
      ``overbought``;
    - with ``allow_short``, the mirror image: enter short when MACD crosses below its signal and RSI
      is above ``oversold``; cover when MACD crosses above, or RSI crosses below ``oversold``.

    Orders are market orders for ``allocation_percent`` of equity split across symbols (sized at the
    next open, commission included).

    Parameters: ``macd_fast`` (default 12), ``macd_slow`` (26), ``macd_signal`` (9), ``rsi_window``
    (14), ``overbought`` (70), ``oversold`` (30), ``use_rsi_filter`` (on), ``allow_short`` (off),
    ``allocation_percent`` (100).
    """

    title = "Momentum (MACD + RSI)"

    macd_fast = Param(12, 2, 100, 1, help="MACD fast EMA window.")
    macd_slow = Param(26, 3, 200, 1, help="MACD slow EMA window (longer than fast).")
    macd_signal = Param(9, 2, 100, 1, help="MACD signal EMA window.")
    rsi_window = Param(14, 2, 100, 1, help="RSI window.")
    overbought = Param(
        70.0, 50.0, 99.0, 1.0, help="RSI level above which no long is opened (and longs exit)."
    )
    oversold = Param(30.0, 1.0, 50.0, 1.0, help="RSI level below which no short is opened (and shorts exit).")
    use_rsi_filter = Param(True, help="Require RSI confirmation for entries.")
    allow_short = Param(False, help="Trade the short side too.")
    allocation_percent = Param(
        100.0, 1.0, 100.0, 1.0, help="Share of equity to commit, split across symbols."
    )

    def check_parameters(self) -> None:
        if self.macd_fast >= self.macd_slow:
            raise ParameterError(
                "invalid_parameter", "macd_fast must be shorter than macd_slow.", "macd_fast"
            )
        if self.oversold >= self.overbought:
            raise ParameterError("invalid_parameter", "oversold must be below overbought.", "oversold")

    def on_start(self, ctx: Context) -> None:
        self._lines: list[tuple[str, MacdLines, Series]] = [
            (
                symbol,
                ctx.macd(self.macd_fast, self.macd_slow, self.macd_signal, symbol),
                ctx.rsi(self.rsi_window, symbol),
            )
            for symbol in ctx.symbols
        ]
        self._share = self.allocation_percent / len(ctx.symbols)
        self._several = len(ctx.symbols) > 1

    def on_bar(self, ctx: Context) -> None:
        for symbol, lines, rsi in self._lines:
            trend = lines.macd.cross(lines.signal)
            stretched = rsi.cross(self.overbought) > 0  # RSI rose above overbought
            washed_out = rsi.cross(self.oversold) < 0  # RSI fell below oversold
            if trend == 0 and not stretched and not washed_out:
                continue
            if self._several and not ctx.has_bar(symbol):
                continue
            held = ctx.position(symbol)
            if (held > 0 and (trend < 0 or stretched)) or (held < 0 and (trend > 0 or washed_out)):
                ctx.close(symbol)  # fills first at the next open; an entry below reverses after it
                held = held * 0
            if held != 0:
                continue
            level = rsi.value
            if trend > 0 and (not self.use_rsi_filter or level < self.overbought):
                ctx.buy(symbol=symbol, equity_percent=self._share)
            elif trend < 0 and self.allow_short and (not self.use_rsi_filter or level > self.oversold):
                ctx.sell(symbol=symbol, equity_percent=self._share)
