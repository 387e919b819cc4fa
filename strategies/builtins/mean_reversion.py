"""Bollinger-band mean reversion (pure, no Django)."""

from __future__ import annotations

from decimal import Decimal

from strategies.sdk import Bands, Context, Param, Series, Strategy


class BollingerMeanReversion(Strategy):
    """Fade stretches outside the Bollinger bands; take profit back at the middle band.

    For each symbol:

    - long entry: the close crosses BELOW the lower band (was at or above it, now strictly below);
      long exit: the close crosses above the middle band (the moving average);
    - with ``allow_short``: short entry when the close crosses ABOVE the upper band; exit when it
      crosses below the middle band.

    With ``stop_loss_percent`` > 0 each entry carries a protective stop that many percent away from
    the entry bar's close (an OTO leg, working from the bar after the fill). Entries are market orders
    for ``allocation_percent`` of equity split across symbols (sized at the next open).

    Parameters: ``window`` (bars, default 20), ``deviations`` (band width in population standard
    deviations, default 2.0), ``stop_loss_percent`` (0 = none), ``allow_short`` (off),
    ``allocation_percent`` (100).
    """

    title = "Mean reversion (Bollinger bands)"

    window = Param(20, 2, 200, 1, help="Moving-average and deviation window, in bars.")
    deviations = Param(2.0, 0.5, 4.0, 0.25, help="Band width in standard deviations.")
    stop_loss_percent = Param(0.0, 0.0, 20.0, 0.5, help="Protective stop distance in % (0 = none).")
    allow_short = Param(False, help="Also fade moves above the upper band.")
    allocation_percent = Param(
        100.0, 1.0, 100.0, 1.0, help="Share of equity to commit, split across symbols."
    )

    def on_start(self, ctx: Context) -> None:
        self._lines: list[tuple[str, Series, Bands]] = [
            (symbol, ctx.price_series("close", symbol), ctx.bollinger(self.window, self.deviations, symbol))
            for symbol in ctx.symbols
        ]
        self._share = self.allocation_percent / len(ctx.symbols)
        self._several = len(ctx.symbols) > 1

    def on_bar(self, ctx: Context) -> None:
        for symbol, close, bands in self._lines:
            below = close.cross(bands.lower) < 0
            above = close.cross(bands.upper) > 0
            back = close.cross(bands.middle)
            if not below and not above and back == 0:
                continue
            if self._several and not ctx.has_bar(symbol):
                continue
            held = ctx.position(symbol)
            if (held > 0 and back > 0) or (held < 0 and back < 0):
                ctx.close(symbol)
            elif held == 0 and below:
                ctx.buy(
                    symbol=symbol, equity_percent=self._share, stop_loss=self._stop(close.value, long=True)
                )
            elif held == 0 and above and self.allow_short:
                ctx.sell(
                    symbol=symbol, equity_percent=self._share, stop_loss=self._stop(close.value, long=False)
                )

    def _stop(self, price: float, *, long: bool) -> float | None:
        if self.stop_loss_percent <= 0:
            return None
        distance = Decimal(repr(price)) * Decimal(repr(self.stop_loss_percent)) / 100
        level = Decimal(repr(price)) - distance if long else Decimal(repr(price)) + distance
        return float(level)
