"""The Context: everything a strategy sees (bars, indicators, account) and can do (orders, signals,
log lines), over a runner's bars and Broker (pure, no Django)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from orders.states import OrderType, Side, TimeInForce
from portfolio.ledger import PositionState
from strategies.sdk import sizing
from strategies.sdk.bars import BarSeries, FloatArray, datetime_of, tick_fraction
from strategies.sdk.errors import StrategyProblem
from strategies.sdk.indicators import atr, bollinger, donchian, ema, macd, rsi, sma
from strategies.sdk.order_requests import (
    Broker,
    Direction,
    LogLine,
    OrderRequest,
    OrderView,
    Signal,
    order_sizing,
    priced_request,
    to_price,
)
from strategies.sdk.series import Bands, BarView, History, MacdLines, Series

if TYPE_CHECKING:
    import pandas as pd


class Context:
    """Everything a strategy sees and can do. Built by a runner (backtest engine or live runtime)
    over the bars of its symbols and a :class:`Broker`.

    ``cursor`` belongs to the runner: ``cursor[i]`` is the row of the current bar of ``symbols[i]``
    (-1 before its first bar). Strategies read; only runners move it."""

    def __init__(self, data: Sequence[BarSeries], broker: Broker) -> None:
        if not data:
            raise StrategyProblem("invalid_data", "A strategy needs at least one symbol.", "symbols")
        symbols = [series.symbol for series in data]
        if len(set(symbols)) != len(symbols):
            raise StrategyProblem("invalid_data", "Each symbol may appear once.", "symbols")
        self.symbols: tuple[str, ...] = tuple(symbols)
        self.symbol = symbols[0]
        self.cursor: list[int] = [-1] * len(data)
        self._data = list(data)
        self._slots = {symbol: slot for slot, symbol in enumerate(symbols)}
        self._broker = broker
        self._cache: dict[tuple[object, ...], object] = {}

    # --- market data -----------------------------------------------------------------------------

    def slot_of(self, symbol: str | None) -> int:
        """Index of ``symbol`` in ``symbols`` (0 for None); raises ``unknown_symbol``."""
        if symbol is None:
            return 0
        try:
            return self._slots[symbol]
        except KeyError:
            raise StrategyProblem(
                "unknown_symbol", f"{symbol} is not one of this run's symbols {self.symbols}.", "symbol"
            ) from None

    def series_data(self, symbol: str | None = None) -> BarSeries:
        """The full bar series of ``symbol`` (for runners; strategies use history/indicators)."""
        return self._data[self.slot_of(symbol)]

    @property
    def time(self) -> datetime:
        """Open time of the latest bar seen (across symbols)."""
        latest = max(
            (
                int(series.open_time[row])
                for series, row in zip(self._data, self.cursor, strict=True)
                if row >= 0
            ),
            default=None,
        )
        if latest is None:
            raise StrategyProblem("no_data_yet", "No bar has been seen yet.")
        return datetime_of(latest)

    def bar_count(self, symbol: str | None = None) -> int:
        """How many bars of ``symbol`` have been seen (0 before its first)."""
        return self.cursor[self.slot_of(symbol)] + 1

    def has_bar(self, symbol: str | None = None) -> bool:
        """True when ``symbol`` has a bar at the current timestamp (always, with one symbol)."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        if row < 0:
            return False
        if len(self._data) == 1:
            return True
        now = max(
            int(series.open_time[r]) for series, r in zip(self._data, self.cursor, strict=True) if r >= 0
        )
        return int(self._data[slot].open_time[row]) == now

    def bar(self, symbol: str | None = None) -> BarView:
        """The latest bar of ``symbol`` (its current one)."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        if row < 0:
            raise StrategyProblem("no_data_yet", f"No bar of {self.symbols[slot]} has been seen yet.")
        series = self._data[slot]
        return BarView(
            series.symbol,
            datetime_of(int(series.open_time[row])),
            float(series.open[row]),
            float(series.high[row]),
            float(series.low[row]),
            float(series.close[row]),
            float(series.volume[row]),
            row,
        )

    def close_price(self, symbol: str | None = None) -> float:
        """The current close of ``symbol`` as a float (NaN before its first bar)."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        return float(self._data[slot].close[row]) if row >= 0 else math.nan

    def price(self, symbol: str | None = None) -> Decimal:
        """The current close of ``symbol`` as an exact Decimal on its tick grid."""
        slot = self.slot_of(symbol)
        row = self.cursor[slot]
        if row < 0:
            raise StrategyProblem("no_data_yet", f"No bar of {self.symbols[slot]} has been seen yet.")
        series = self._data[slot]
        tick = series.instrument.tick_size
        fraction = tick_fraction(tick)
        return Decimal(round(float(series.close[row]) * fraction.denominator / fraction.numerator)) * tick

    def history(self, symbol: str | None = None, length: int | None = None) -> History:
        """The last ``length`` bars (all seen so far when None) up to the current one, as arrays."""
        slot = self.slot_of(symbol)
        stop = self.cursor[slot] + 1
        first = 0 if length is None else max(0, stop - length)
        series = self._data[slot]
        return History(
            series.symbol,
            series.open_time[first:stop],
            series.open[first:stop],
            series.high[first:stop],
            series.low[first:stop],
            series.close[first:stop],
            series.volume[first:stop],
        )

    def frame(self, symbol: str | None = None, length: int | None = None) -> pd.DataFrame:
        """:meth:`history` as a pandas frame (built on demand: slower than the arrays)."""
        return self.history(symbol, length).frame()

    # --- indicators ------------------------------------------------------------------------------

    def _cached(self, key: tuple[object, ...], build: Callable[[], object]) -> Any:
        found = self._cache.get(key)
        if found is None:
            found = build()
            self._cache[key] = found
        return found

    def _series(self, name: str, values: FloatArray, slot: int) -> Series:
        return Series(name, values, self.cursor, slot)

    def price_series(self, field: str = "close", symbol: str | None = None) -> Series:
        """A price column (open, high, low, close, volume) as a :class:`Series`."""
        if field not in ("open", "high", "low", "close", "volume"):
            raise StrategyProblem("invalid_indicator", f"no price field {field!r}.", "field")
        slot = self.slot_of(symbol)
        return cast(
            Series,
            self._cached(
                ("price", field, slot),
                lambda: self._series(f"{self.symbols[slot]}.{field}", getattr(self._data[slot], field), slot),
            ),
        )

    def sma(self, window: int, symbol: str | None = None, field: str = "close") -> Series:
        """Simple moving average of ``field`` (exact on the tick grid; see :func:`sma`)."""
        slot = self.slot_of(symbol)
        series = self._data[slot]
        tick = series.instrument.tick_size if field != "volume" else None
        return cast(
            Series,
            self._cached(
                ("sma", window, field, slot),
                lambda: self._series(f"sma({window})", sma(getattr(series, field), window, tick), slot),
            ),
        )

    def ema(self, window: int, symbol: str | None = None, field: str = "close") -> Series:
        slot = self.slot_of(symbol)
        series = self._data[slot]
        return cast(
            Series,
            self._cached(
                ("ema", window, field, slot),
                lambda: self._series(f"ema({window})", ema(getattr(series, field), window), slot),
            ),
        )

    def rsi(self, window: int = 14, symbol: str | None = None) -> Series:
        slot = self.slot_of(symbol)
        return cast(
            Series,
            self._cached(
                ("rsi", window, slot),
                lambda: self._series(f"rsi({window})", rsi(self._data[slot].close, window), slot),
            ),
        )

    def macd(self, fast: int = 12, slow: int = 26, signal: int = 9, symbol: str | None = None) -> MacdLines:
        slot = self.slot_of(symbol)

        def build() -> MacdLines:
            line, signal_line, histogram = macd(self._data[slot].close, fast, slow, signal)
            name = f"macd({fast},{slow},{signal})"
            return MacdLines(
                self._series(name, line, slot),
                self._series(f"{name}.signal", signal_line, slot),
                self._series(f"{name}.histogram", histogram, slot),
            )

        return cast(MacdLines, self._cached(("macd", fast, slow, signal, slot), build))

    def bollinger(self, window: int = 20, deviations: float = 2.0, symbol: str | None = None) -> Bands:
        slot = self.slot_of(symbol)

        def build() -> Bands:
            upper, middle, lower = bollinger(self._data[slot].close, window, deviations)
            name = f"bollinger({window},{deviations})"
            return Bands(
                self._series(f"{name}.upper", upper, slot),
                self._series(f"{name}.middle", middle, slot),
                self._series(f"{name}.lower", lower, slot),
            )

        return cast(Bands, self._cached(("bollinger", window, float(deviations), slot), build))

    def atr(self, window: int = 14, symbol: str | None = None) -> Series:
        slot = self.slot_of(symbol)
        series = self._data[slot]
        return cast(
            Series,
            self._cached(
                ("atr", window, slot),
                lambda: self._series(
                    f"atr({window})", atr(series.high, series.low, series.close, window), slot
                ),
            ),
        )

    def donchian(self, window: int = 20, symbol: str | None = None) -> Bands:
        slot = self.slot_of(symbol)

        def build() -> Bands:
            upper, middle, lower = donchian(self._data[slot].high, self._data[slot].low, window)
            name = f"donchian({window})"
            return Bands(
                self._series(f"{name}.upper", upper, slot),
                self._series(f"{name}.middle", middle, slot),
                self._series(f"{name}.lower", lower, slot),
            )

        return cast(Bands, self._cached(("donchian", window, slot), build))

    # --- account ---------------------------------------------------------------------------------

    def position(self, symbol: str | None = None) -> Decimal:
        """Signed quantity held: > 0 long, < 0 short, 0 flat."""
        return self._broker.position(self.symbols[self.slot_of(symbol)]).quantity

    def position_state(self, symbol: str | None = None) -> PositionState:
        """Quantity, average cost and realised P&L of ``symbol``."""
        return self._broker.position(self.symbols[self.slot_of(symbol)])

    @property
    def cash(self) -> Decimal:
        return self._broker.cash()

    @property
    def equity(self) -> Decimal:
        """Cash plus positions at the latest closes seen."""
        return self._broker.equity()

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        """Orders not yet ended (including those not yet at the market), oldest first."""
        return self._broker.open_orders(None if symbol is None else self.symbols[self.slot_of(symbol)])

    def get_order(self, order_id: str) -> OrderView | None:
        return self._broker.get_order(order_id)

    # --- orders ----------------------------------------------------------------------------------

    def buy(self, quantity: Decimal | int | None = None, **options: Any) -> str:
        """A buy order; options as :meth:`order`. A market order unless prices say otherwise."""
        return self.order(Side.BUY, quantity, **options)

    def sell(self, quantity: Decimal | int | None = None, **options: Any) -> str:
        """A sell order (opens or adds to a short when the position is not long enough)."""
        return self.order(Side.SELL, quantity, **options)

    def order(
        self,
        side: Side | str,
        quantity: Decimal | int | None = None,
        *,
        symbol: str | None = None,
        order_type: OrderType | str | None = None,
        limit_price: Decimal | float | None = None,
        stop_price: Decimal | float | None = None,
        trail_amount: Decimal | float | None = None,
        trail_percent: Decimal | float | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        take_profit: Decimal | float | None = None,
        stop_loss: Decimal | float | None = None,
        stop_loss_limit: Decimal | float | None = None,
        equity_percent: Decimal | float | int | None = None,
        tag: str = "",
    ) -> str:
        """Place an order; returns its id. It reaches the market at the symbol's next bar.

        ``order_type`` defaults from the prices given: limit + stop -> stop_limit, limit -> limit,
        stop -> stop, a trail -> trailing_stop, none -> market. Give ``quantity`` (Decimal or int, on
        the lot grid) or ``equity_percent`` (sized at the market, see :func:`size_for_budget`).
        ``take_profit`` / ``stop_loss`` (+ ``stop_loss_limit``) attach exit legs (bracket / OTO).
        Validation and risk checks happen when the order reaches the market; a refused order ends
        ``rejected`` with its reason code (see :meth:`get_order`)."""
        side = side if type(side) is Side else Side(side)
        slot = self.slot_of(symbol)
        size, percent = order_sizing(quantity, equity_percent)
        if (
            order_type is None
            and limit_price is None
            and stop_price is None
            and trail_amount is None
            and trail_percent is None
            and take_profit is None
            and stop_loss is None
            and stop_loss_limit is None
        ):  # the common market order: no prices to read
            request = OrderRequest(self.symbols[slot], side, OrderType.MARKET, size, percent)
        else:
            request = priced_request(
                self.symbols[slot],
                side,
                self._data[slot].instrument.tick_size,
                order_type=order_type,
                quantity=size,
                equity_percent=percent,
                limit_price=limit_price,
                stop_price=stop_price,
                trail_amount=trail_amount,
                trail_percent=trail_percent,
                take_profit=take_profit,
                stop_loss=stop_loss,
                stop_loss_limit=stop_loss_limit,
            )
        if time_in_force != TimeInForce.GTC or tag:
            request = request._replace(
                time_in_force=time_in_force
                if type(time_in_force) is TimeInForce
                else TimeInForce(time_in_force),
                tag=tag,
            )
        return self._broker.submit(request)

    def exit_oco(
        self,
        *,
        take_profit: Decimal | float,
        stop_loss: Decimal | float,
        quantity: Decimal | int | None = None,
        symbol: str | None = None,
        tag: str = "",
    ) -> str:
        """Protect an open position with two exits, one cancelling the other: a limit at
        ``take_profit`` and a stop at ``stop_loss``, for ``quantity`` (default: the whole position).
        Returns the limit order's id."""
        slot = self.slot_of(symbol)
        name = self.symbols[slot]
        held = self.position(name)
        if held == 0:
            raise StrategyProblem("no_position", f"No {name} position to protect.", "symbol")
        side = Side.SELL if held > 0 else Side.BUY
        tick = self._data[slot].instrument.tick_size
        request = OrderRequest(
            symbol=name,
            side=side,
            order_type=OrderType.LIMIT,
            quantity=abs(held) if quantity is None else Decimal(quantity),
            limit_price=to_price(take_profit, tick, round_up=side == Side.SELL),
            oco_stop_price=to_price(stop_loss, tick, round_up=side == Side.BUY),
            tag=tag,
        )
        return self._broker.submit(request)

    def close(self, symbol: str | None = None, *, cancel_orders: bool = True, tag: str = "") -> str | None:
        """Flatten ``symbol`` with a market order (sized to the position when it reaches the market);
        first cancel its open orders (exit legs included) unless ``cancel_orders`` is False. Returns
        the order id, or None when already flat."""
        slot = self.slot_of(symbol)
        name = self.symbols[slot]
        if cancel_orders:
            self.cancel_all(name)
        held = self.position(name)
        if held == 0:
            return None
        request = OrderRequest(
            symbol=name,
            side=Side.SELL if held > 0 else Side.BUY,
            order_type=OrderType.MARKET,
            close_position=True,
            tag=tag,
        )
        return self._broker.submit(request)

    def cancel(self, order_id: str) -> bool:
        """Cancel an open order (its contingent legs follow the group rules); False if not open."""
        return self._broker.cancel(order_id)

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order (of ``symbol`` when given); returns how many were canceled."""
        return sum(1 for order in self.open_orders(symbol) if self._broker.cancel(order.order_id))

    # --- sizing ----------------------------------------------------------------------------------

    def _lot(self, symbol: str | None) -> Decimal:
        return self._data[self.slot_of(symbol)].instrument.lot_size

    def size_fixed(self, quantity: Decimal | int, symbol: str | None = None) -> Decimal:
        """``quantity`` rounded down to the lot size."""
        return sizing.fixed_quantity(quantity, self._lot(symbol))

    def size_percent_of_equity(
        self, percent: Decimal | float, symbol: str | None = None, price: Decimal | None = None
    ) -> Decimal:
        """The quantity worth ``percent`` % of equity at ``price`` (default: the current close),
        rounded down to the lot size. Commission is not included (``equity_percent=`` orders include
        it, sized at the market)."""
        return sizing.percent_of_equity_quantity(
            percent,
            equity=self.equity,
            price=self.price(symbol) if price is None else price,
            lot_size=self._lot(symbol),
        )

    def size_atr_risk(
        self,
        risk_percent: Decimal | float,
        *,
        atr_window: int = 14,
        atr_multiple: Decimal | float = 2,
        symbol: str | None = None,
        max_percent_of_equity: Decimal | float = 100,
    ) -> Decimal:
        """Volatility sizing: risk ``risk_percent`` % of equity on a stop ``atr_multiple`` ATRs away,
        i.e. ``equity * risk% / (ATR * multiple)``, rounded down to the lot and capped at
        ``max_percent_of_equity`` % of equity at the current close. 0 while the ATR warms up."""
        value = self.atr(atr_window, symbol).value
        if not math.isfinite(value) or value <= 0:
            return Decimal(0)
        return sizing.risk_quantity(
            risk_percent,
            equity=self.equity,
            atr=value,
            atr_multiple=atr_multiple,
            lot_size=self._lot(symbol),
            cap=self.size_percent_of_equity(
                Decimal(repr(max_percent_of_equity))
                if isinstance(max_percent_of_equity, float)
                else Decimal(max_percent_of_equity),
                symbol,
            ),
        )

    # --- journal ---------------------------------------------------------------------------------

    def log(self, message: str) -> None:
        """A line in the run's log, stamped with the current bar's time (before the first bar: the
        first bar's time)."""
        if all(row < 0 for row in self.cursor):
            moment = datetime_of(min(int(series.open_time[0]) for series in self._data))
        else:
            moment = self.time
        self._broker.record_log(LogLine(moment, str(message)))

    def signal(
        self,
        direction: Direction | str,
        confidence: float = 1.0,
        *,
        stop_loss: Decimal | float | None = None,
        take_profit: Decimal | float | None = None,
        symbol: str | None = None,
        note: str = "",
    ) -> Signal:
        """Record a view (buy / sell / hold) with a confidence in [0, 1] and optional levels. A signal
        places no order; deployments store and show it."""
        slot = self.slot_of(symbol)
        tick = self._data[slot].instrument.tick_size
        if not (isinstance(confidence, int | float) and 0 <= confidence <= 1):
            raise StrategyProblem(
                "invalid_signal", f"confidence must be between 0 and 1, not {confidence!r}.", "confidence"
            )
        kind = Direction(direction)
        # rounded away from the market for a buy view's stop (down) and target (up), mirrored for sells
        buy = kind != Direction.SELL
        emitted = Signal(
            ts=self.time,
            symbol=self.symbols[slot],
            direction=kind,
            confidence=float(confidence),
            stop_loss=None if stop_loss is None else to_price(stop_loss, tick, round_up=not buy),
            take_profit=None if take_profit is None else to_price(take_profit, tick, round_up=buy),
            note=note,
        )
        self._broker.record_signal(emitted)
        return emitted
