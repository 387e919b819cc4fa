"""Donchian channel breakout with ATR risk sizing (pure, no Django)."""

from __future__ import annotations

import math

from strategies.sdk import Bands, Context, Param, ParameterError, Series, Strategy


class DonchianBreakout(Strategy):
    """Trade new highs (and, optionally, new lows), sized by volatility, with a protective stop.

    For each symbol, flat:

    - long entry: the close is strictly above the highest high of the ``entry_window`` bars BEFORE the
      current one (the previous bar's upper Donchian band);
    - with ``allow_short``: short entry when the close is strictly below the lowest low of those bars.

    Size: risk ``risk_percent`` % of equity on a stop ``atr_multiple`` ATRs away
    (``Context.size_atr_risk``), capped at ``max_allocation_percent`` % of equity; the stop goes with the
    entry as an OTO leg. Exit: the close breaks the opposite band of the last ``exit_window`` bars
    before the current one (below their lowest low for a long, above their highest high for a short).

    Parameters: ``entry_window`` (default 20), ``exit_window`` (10; at most ``entry_window``),
    ``atr_window`` (14), ``atr_multiple`` (2.0), ``risk_percent`` (1.0), ``max_allocation_percent``
    (100), ``allow_short`` (off).
    """

    title = "Breakout (Donchian channel)"

    entry_window = Param(20, 2, 250, 1, help="Bars whose high (low) the close must break to enter.")
    exit_window = Param(10, 2, 250, 1, help="Bars whose low (high) the close must break to exit.")
    atr_window = Param(14, 2, 100, 1, help="ATR window for sizing and the stop.")
    atr_multiple = Param(2.0, 0.5, 10.0, 0.5, help="Stop distance in ATRs.")
    risk_percent = Param(1.0, 0.1, 10.0, 0.1, help="Equity risked per trade, in %.")
    max_allocation_percent = Param(100.0, 1.0, 100.0, 1.0, help="Cap on a position's value, in % of equity.")
    allow_short = Param(False, help="Also trade breakdowns below the channel.")

    def check_parameters(self) -> None:
        if self.exit_window > self.entry_window:
            raise ParameterError(
                "invalid_parameter", "exit_window must not exceed entry_window.", "exit_window"
            )

    def on_start(self, ctx: Context) -> None:
        self._lines: list[tuple[str, Series, Bands, Bands, Series]] = [
            (
                symbol,
                ctx.price_series("close", symbol),
                ctx.donchian(self.entry_window, symbol),
                ctx.donchian(self.exit_window, symbol),
                ctx.atr(self.atr_window, symbol),
            )
            for symbol in ctx.symbols
        ]
        self._several = len(ctx.symbols) > 1

    def on_bar(self, ctx: Context) -> None:
        for symbol, close, entry, exit_, atr in self._lines:
            if len(close) < 2 or (self._several and not ctx.has_bar(symbol)):
                continue
            price = close.value
            held = ctx.position(symbol)
            if held > 0:
                if price < exit_.lower.previous:
                    ctx.close(symbol)
                continue
            if held < 0:
                if price > exit_.upper.previous:
                    ctx.close(symbol)
                continue
            long_break = price > entry.upper.previous
            short_break = self.allow_short and price < entry.lower.previous
            if not (long_break or short_break) or ctx.open_orders(symbol):
                continue
            distance = atr.value * self.atr_multiple
            if not math.isfinite(distance) or distance <= 0:
                continue
            quantity = ctx.size_atr_risk(
                self.risk_percent,
                atr_window=self.atr_window,
                atr_multiple=self.atr_multiple,
                symbol=symbol,
                max_percent_of_equity=self.max_allocation_percent,
            )
            if quantity <= 0:
                continue
            if long_break:
                ctx.buy(quantity, symbol=symbol, stop_loss=price - distance)
            else:
                ctx.sell(quantity, symbol=symbol, stop_loss=price + distance)
