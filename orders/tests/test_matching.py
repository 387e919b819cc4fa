"""Fill rules of orders.matching, rule by rule: quotes, bars, stops, trailing, time in force, partials."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marketdata.domain import Bar, Quote, Timeframe
from orders.matching import (
    BpsCommission,
    BpsSlippage,
    ExecutionConfig,
    MatchResult,
    NoCommission,
    NoSlippage,
    PerOrder,
    PerShare,
    TickSlippage,
    WorkingOrder,
    cancel_order,
    on_market_event,
    on_submit,
    validate_order,
)
from orders.states import OrderStatus, OrderType, Reason, Side, TimeInForce, replay
from orders.tests.working import working_order

D = Decimal
S = OrderStatus
T0 = datetime(2025, 11, 26, 14, 30, tzinfo=UTC)
TICK = D("0.01")
LOT = D("1")
PLAIN = ExecutionConfig()
PARTIAL = ExecutionConfig(partial_fills=True)


make_order = working_order


def make_quote(
    bid: str = "99.98",
    ask: str = "100.02",
    last: str = "100.00",
    *,
    bid_size: str = "300",
    ask_size: str = "500",
    ts: datetime = T0,
) -> Quote:
    return Quote("AAPL", ts, D(bid), D(ask), D(bid_size), D(ask_size), D(last), D("12000"), D("99"))


def make_bar(
    open_: str, high: str, low: str, close: str | None = None, *, volume: str = "10000", at: datetime = T0
) -> Bar:
    close = close or open_
    return Bar("AAPL", Timeframe.M1, at, D(open_), D(high), D(low), D(close), D(volume))


def submit(
    order: WorkingOrder, event: Quote | Bar | None, config: ExecutionConfig = PLAIN, lot: Decimal = LOT
) -> MatchResult:
    return on_submit(order, event, config=config, tick_size=TICK, lot_size=lot)


def feed(
    order: WorkingOrder, event: Quote | Bar, config: ExecutionConfig = PLAIN, lot: Decimal = LOT
) -> MatchResult:
    return on_market_event(order, event, config=config, tick_size=TICK, lot_size=lot)


def fill_prices(result: MatchResult) -> list[Decimal]:
    return [fill.price for fill in result.fills]


# --- submission and market orders on quotes ----------------------------------------------------------


class TestMarketOnQuotes:
    @pytest.mark.parametrize(("side", "price"), [(Side.BUY, "100.02"), (Side.SELL, "99.98")])
    def test_market_order_fills_at_the_opposite_side_of_the_book(self, side: Side, price: str) -> None:
        order = make_order(side=side, status=S.NEW)

        result = submit(order, make_quote())

        assert result.statuses == (S.ACCEPTED, S.FILLED)
        assert result.order.status == S.FILLED
        assert result.changed
        assert result.reason is None
        (fill,) = result.fills
        assert (fill.order_id, fill.symbol, fill.side) == ("o-1", "AAPL", side)
        assert (fill.quantity, fill.price, fill.commission) == (D("100"), D(price), D(0))
        assert (fill.ts, fill.sequence) == (T0, 1)
        assert result.order.filled_quantity == D("100")
        assert result.order.remaining_quantity == 0
        assert result.order.average_fill_price == D(price)
        assert result.order.fill_count == 1

    def test_without_market_data_a_market_order_rests_accepted(self) -> None:
        order = make_order(status=S.NEW)

        result = submit(order, None)

        assert (result.order.status, result.statuses, result.fills) == (S.ACCEPTED, (S.ACCEPTED,), ())
        assert result.changed

    def test_a_resting_market_order_fills_on_the_next_quote(self) -> None:
        resting = submit(make_order(status=S.NEW), None).order

        result = feed(resting, make_quote(ask="101.00"))

        assert fill_prices(result) == [D("101.00")]
        assert result.statuses == (S.FILLED,)

    def test_input_order_is_left_as_it_was(self) -> None:
        order = make_order(status=S.NEW)
        before = dataclasses.replace(order)

        submit(order, make_quote())

        assert order == before

    def test_an_empty_side_of_the_book_gives_no_fill(self) -> None:
        order = make_order(side=Side.SELL)

        result = feed(order, make_quote(bid="0"))

        assert (result.fills, result.changed, result.order) == ((), False, order)


class TestSlippage:
    @pytest.mark.parametrize(
        ("model", "side", "expected"),
        [
            (NoSlippage(), Side.BUY, "100.02"),
            (NoSlippage(), Side.SELL, "99.98"),
            # 100.02 * 1.001 = 100.12002 -> up to 100.13; 99.98 * 0.999 = 99.88002 -> down to 99.88
            (BpsSlippage(D("10")), Side.BUY, "100.13"),
            (BpsSlippage(D("10")), Side.SELL, "99.88"),
            (BpsSlippage(D("0")), Side.BUY, "100.02"),
            (TickSlippage(D("2")), Side.BUY, "100.04"),
            (TickSlippage(D("2")), Side.SELL, "99.96"),
        ],
    )
    def test_slippage_is_adverse_and_on_the_tick(self, model: object, side: Side, expected: str) -> None:
        config = ExecutionConfig(slippage=model)  # type: ignore[arg-type]

        result = feed(make_order(side=side), make_quote(), config)

        assert fill_prices(result) == [D(expected)]

    def test_a_sell_never_slips_below_one_tick(self) -> None:
        assert TickSlippage(D("50")).adjust(Side.SELL, D("0.10"), TICK) == TICK
        assert BpsSlippage(D("10000")).adjust(Side.SELL, D("0.10"), TICK) == TICK

    @pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
    def test_limit_fills_take_no_slippage(self, side: Side) -> None:
        config = ExecutionConfig(slippage=TickSlippage(D("5")))
        limit = D("100.50") if side == Side.BUY else D("99.50")
        order = make_order(side=side, order_type=OrderType.LIMIT, limit_price=limit)

        result = feed(order, make_quote(), config)

        assert fill_prices(result) == [D("100.02") if side == Side.BUY else D("99.98")]

    def test_market_fill_on_a_bar_slips_from_the_open(self) -> None:
        config = ExecutionConfig(slippage=TickSlippage(D("1")))

        result = feed(make_order(), make_bar("50.00", "51.00", "49.00"), config)

        assert fill_prices(result) == [D("50.01")]


class TestCommission:
    @pytest.mark.parametrize(
        ("model", "quantity", "price", "expected"),
        [
            (NoCommission(), "100", "100.02", "0"),
            (PerShare(D("0.005")), "100", "100.02", "0.5000"),
            (PerShare(D("0.005"), minimum=D("1")), "100", "100.02", "1.0000"),
            (PerShare(D("0.005"), maximum=D("0.3")), "100", "100.02", "0.3000"),
            (PerOrder(D("1.5")), "100", "100.02", "1.5000"),
            (BpsCommission(D("10")), "100", "100.02", "10.0020"),
            # half-even at the fourth place: 0.00005 -> 0.0000, 0.00015 -> 0.0002
            (BpsCommission(D("1")), "1", "0.5", "0.0000"),
            (BpsCommission(D("1")), "1", "1.5", "0.0002"),
        ],
    )
    def test_one_fill(self, model: object, quantity: str, price: str, expected: str) -> None:
        charged = model.commission(D(quantity), D(price))  # type: ignore[attr-defined]

        assert charged == D(expected)
        assert charged.as_tuple().exponent in (0, -4)

    def test_fill_carries_the_commission(self) -> None:
        config = ExecutionConfig(commission=PerShare(D("0.01")))

        (fill,) = feed(make_order(), make_quote(), config).fills

        assert fill.commission == D("1.0000")

    def test_per_order_is_charged_on_the_first_fill_only(self) -> None:
        config = ExecutionConfig(commission=PerOrder(D("2")), partial_fills=True)
        order = make_order()

        first = feed(order, make_quote(ask_size="40"), config)
        second = feed(first.order, make_quote(ask_size="500"), config)

        assert [fill.commission for fill in (*first.fills, *second.fills)] == [D("2.0000"), D(0)]

    @pytest.mark.parametrize(
        "model",
        [
            PerShare(D("0.005"), minimum=D("1")),
            PerShare(D("0.02"), maximum=D("1.5")),
            PerShare(D("0.0033"), minimum=D("0.05"), maximum=D("0.31")),
        ],
    )
    def test_per_share_bounds_apply_to_the_order_so_partials_sum_to_one_fill(self, model: PerShare) -> None:
        parts = [D("13"), D("40"), D("47")]
        charged = []
        filled = D(0)
        for part in parts:
            charged.append(model.commission(part, D("10"), filled))
            filled += part

        assert sum(charged) == model.commission(D("100"), D("10"))


# --- limit orders ------------------------------------------------------------------------------------


class TestLimitOnQuotes:
    @pytest.mark.parametrize(
        ("side", "limit", "bid", "ask", "expected"),
        [
            (Side.BUY, "100.02", "99.98", "100.02", "100.02"),  # ask at the limit
            (Side.BUY, "100.50", "99.98", "100.02", "100.02"),  # better than the limit
            (Side.BUY, "100.01", "99.98", "100.02", None),
            (Side.SELL, "99.98", "99.98", "100.02", "99.98"),
            (Side.SELL, "99.50", "99.98", "100.02", "99.98"),
            (Side.SELL, "99.99", "99.98", "100.02", None),
        ],
    )
    def test_limit_fills_at_the_quote_when_it_crosses(
        self, side: Side, limit: str, bid: str, ask: str, expected: str | None
    ) -> None:
        order = make_order(side=side, order_type=OrderType.LIMIT, limit_price=D(limit))

        result = feed(order, make_quote(bid=bid, ask=ask))

        assert fill_prices(result) == ([] if expected is None else [D(expected)])

    def test_limit_ignores_the_last_price(self) -> None:
        order = make_order(order_type=OrderType.LIMIT, limit_price=D("99.00"))

        result = feed(order, make_quote(last="98.00"))

        assert result.fills == ()

    def test_marketable_limit_fills_on_submit(self) -> None:
        order = make_order(status=S.NEW, order_type=OrderType.LIMIT, limit_price=D("101.00"))

        result = submit(order, make_quote())

        assert result.statuses == (S.ACCEPTED, S.FILLED)
        assert fill_prices(result) == [D("100.02")]


class TestLimitOnBars:
    @pytest.mark.parametrize(
        ("side", "limit", "bar", "expected"),
        [
            (Side.BUY, "100.00", ("99.00", "99.50", "98.50"), "99.00"),  # gaps below: the open is better
            (Side.BUY, "100.00", ("100.00", "101.00", "99.50"), "100.00"),
            (Side.BUY, "100.00", ("101.00", "101.50", "99.50"), "100.00"),  # trades down to it
            (Side.BUY, "100.00", ("101.00", "101.50", "100.00"), "100.00"),  # low touches exactly
            (Side.BUY, "100.00", ("101.00", "101.50", "100.01"), None),
            (Side.SELL, "100.00", ("101.00", "101.50", "100.50"), "101.00"),  # gaps above
            (Side.SELL, "100.00", ("99.00", "100.50", "98.00"), "100.00"),
            (Side.SELL, "100.00", ("99.00", "100.00", "98.00"), "100.00"),
            (Side.SELL, "100.00", ("99.00", "99.99", "98.00"), None),
        ],
    )
    def test_limit_rules_on_a_bar(
        self, side: Side, limit: str, bar: tuple[str, str, str], expected: str | None
    ) -> None:
        order = make_order(side=side, order_type=OrderType.LIMIT, limit_price=D(limit))

        result = feed(order, make_bar(*bar))

        assert fill_prices(result) == ([] if expected is None else [D(expected)])
        if expected is not None:
            assert result.fills[0].ts == T0  # bar fills carry the bar's open time


class TestNextBarOpen:
    def test_backtester_submits_with_the_next_bar_and_fills_at_its_open(self) -> None:
        order = make_order(status=S.NEW, side=Side.SELL)

        result = submit(order, make_bar("42.10", "43.00", "41.00"))

        assert result.statuses == (S.ACCEPTED, S.FILLED)
        assert fill_prices(result) == [D("42.10")]


# --- stops ---------------------------------------------------------------------------------------------


class TestStopOnQuotes:
    @pytest.mark.parametrize(
        ("side", "stop", "last", "expected"),
        [
            (Side.BUY, "101.00", "100.99", None),
            (Side.BUY, "101.00", "101.00", "100.02"),  # triggers on last, fills at the ask
            (Side.SELL, "99.00", "99.01", None),
            (Side.SELL, "99.00", "99.00", "99.98"),
        ],
    )
    def test_stop_triggers_on_last_and_fills_against_the_book(
        self, side: Side, stop: str, last: str, expected: str | None
    ) -> None:
        order = make_order(side=side, order_type=OrderType.STOP, stop_price=D(stop))

        result = feed(order, make_quote(last=last))

        assert fill_prices(result) == ([] if expected is None else [D(expected)])
        assert result.order.triggered == (expected is not None)

    def test_ask_through_the_stop_does_not_trigger_a_buy_stop(self) -> None:
        order = make_order(order_type=OrderType.STOP, stop_price=D("100.50"))

        result = feed(order, make_quote(ask="101.00", last="100.40"))

        assert (result.fills, result.changed) == ((), False)

    def test_triggered_stop_takes_slippage(self) -> None:
        config = ExecutionConfig(slippage=TickSlippage(D("3")))
        order = make_order(side=Side.SELL, order_type=OrderType.STOP, stop_price=D("99.00"))

        result = feed(order, make_quote(last="98.90"), config)

        assert fill_prices(result) == [D("99.95")]

    def test_a_triggered_stop_without_liquidity_stays_triggered_and_fills_as_market(self) -> None:
        order = make_order(order_type=OrderType.STOP, stop_price=D("101.00"))

        triggered = feed(order, make_quote(last="101.50", ask_size="0"), PARTIAL)
        later = feed(triggered.order, make_quote(ask="99.00", last="98.00"), PARTIAL)

        assert (triggered.fills, triggered.changed, triggered.order.triggered) == ((), True, True)
        assert triggered.statuses == ()
        assert fill_prices(later) == [D("99.00")]

    def test_stop_limit_on_quotes_becomes_a_limit_after_the_trigger(self) -> None:
        order = make_order(order_type=OrderType.STOP_LIMIT, stop_price=D("101.00"), limit_price=D("101.20"))

        too_high = feed(order, make_quote(bid="101.20", ask="101.30", last="101.10"))
        fills = feed(too_high.order, make_quote(bid="101.10", ask="101.15", last="100.00"))

        assert too_high.fills == ()
        assert too_high.order.triggered
        assert fill_prices(fills) == [D("101.15")]


class TestStopOnBars:
    @pytest.mark.parametrize(
        ("side", "stop", "bar", "expected"),
        [
            (Side.BUY, "101.00", ("102.00", "103.00", "101.50"), "102.00"),  # gap through: at the open
            (Side.BUY, "101.00", ("100.00", "101.50", "99.00"), "101.00"),
            (Side.BUY, "101.00", ("100.00", "101.00", "99.00"), "101.00"),
            (Side.BUY, "101.00", ("100.00", "100.99", "99.00"), None),
            (Side.SELL, "99.00", ("98.00", "98.50", "97.00"), "98.00"),
            (Side.SELL, "99.00", ("100.00", "100.50", "98.00"), "99.00"),
            (Side.SELL, "99.00", ("100.00", "100.50", "99.01"), None),
        ],
    )
    def test_stop_rules_on_a_bar(
        self, side: Side, stop: str, bar: tuple[str, str, str], expected: str | None
    ) -> None:
        order = make_order(side=side, order_type=OrderType.STOP, stop_price=D(stop))

        result = feed(order, make_bar(*bar))

        assert fill_prices(result) == ([] if expected is None else [D(expected)])

    @pytest.mark.parametrize(
        ("side", "stop", "bar", "expected"),
        [
            (Side.BUY, "101.00", ("100.00", "101.50", "99.00"), "101.02"),
            (Side.BUY, "101.00", ("102.00", "103.00", "101.50"), "102.02"),
            (Side.SELL, "99.00", ("100.00", "100.50", "98.00"), "98.98"),
        ],
    )
    def test_stop_fill_on_a_bar_takes_slippage(
        self, side: Side, stop: str, bar: tuple[str, str, str], expected: str
    ) -> None:
        config = ExecutionConfig(slippage=TickSlippage(D("2")))
        order = make_order(side=side, order_type=OrderType.STOP, stop_price=D(stop))

        assert fill_prices(feed(order, make_bar(*bar), config)) == [D(expected)]


class TestStopLimitOnBars:
    @staticmethod
    def buy_stop_limit(stop: str = "101.00", limit: str = "101.50") -> WorkingOrder:
        return make_order(order_type=OrderType.STOP_LIMIT, stop_price=D(stop), limit_price=D(limit))

    def test_triggered_inside_the_bar_fills_at_the_stop(self) -> None:
        result = feed(self.buy_stop_limit(), make_bar("100.00", "102.00", "99.00"))

        assert fill_prices(result) == [D("101.00")]

    def test_gap_within_the_limit_fills_at_the_open(self) -> None:
        result = feed(self.buy_stop_limit(), make_bar("101.20", "102.00", "101.10"))

        assert fill_prices(result) == [D("101.20")]

    def test_gap_beyond_the_limit_fills_at_the_limit_if_the_bar_comes_back(self) -> None:
        result = feed(self.buy_stop_limit(), make_bar("102.00", "102.50", "101.30"))

        assert fill_prices(result) == [D("101.50")]

    def test_gap_beyond_the_limit_rests_as_a_triggered_limit(self) -> None:
        triggered = feed(self.buy_stop_limit(), make_bar("102.00", "102.50", "101.80"))
        later = feed(triggered.order, make_bar("101.40", "101.90", "101.00", at=T0 + timedelta(minutes=1)))

        assert triggered.fills == ()
        assert triggered.order.triggered
        assert triggered.changed
        assert fill_prices(later) == [D("101.40")]

    def test_limit_below_the_stop_never_fills_on_the_trigger_bar(self) -> None:
        """Intrabar: whether the low came after the trigger is unknowable, so the order waits."""
        order = self.buy_stop_limit(stop="101.00", limit="100.50")

        triggered = feed(order, make_bar("100.00", "101.50", "100.00"))
        later = feed(triggered.order, make_bar("100.80", "101.00", "100.40", at=T0 + timedelta(minutes=1)))

        assert (triggered.fills, triggered.order.triggered) == ((), True)
        assert fill_prices(later) == [D("100.50")]

    def test_sell_stop_limit_mirrors(self) -> None:
        order = make_order(
            side=Side.SELL, order_type=OrderType.STOP_LIMIT, stop_price=D("99.00"), limit_price=D("98.50")
        )

        inside = feed(order, make_bar("100.00", "100.20", "98.00"))
        gap = feed(order, make_bar("98.70", "98.90", "98.00"))
        gap_beyond = feed(order, make_bar("98.00", "98.60", "97.50"))
        gap_beyond_no_fill = feed(order, make_bar("98.00", "98.40", "97.50"))

        assert fill_prices(inside) == [D("99.00")]
        assert fill_prices(gap) == [D("98.70")]
        assert fill_prices(gap_beyond) == [D("98.50")]
        assert gap_beyond_no_fill.fills == ()
        assert gap_beyond_no_fill.order.triggered

    def test_stop_limit_takes_no_slippage(self) -> None:
        config = ExecutionConfig(slippage=TickSlippage(D("5")))

        result = feed(self.buy_stop_limit(), make_bar("100.00", "102.00", "99.00"), config)

        assert fill_prices(result) == [D("101.00")]


# --- trailing stops --------------------------------------------------------------------------------


class TestTrailingStop:
    @staticmethod
    def trailing(side: Side = Side.SELL, **trail: Decimal) -> WorkingOrder:
        return make_order(side=side, order_type=OrderType.TRAILING_STOP, **trail)

    def test_current_stop(self) -> None:
        by_amount = self.trailing(trail_amount=D("2.00"))
        by_percent = self.trailing(Side.BUY, trail_percent=D("2.5"))

        assert by_amount.current_stop is None  # no water mark yet
        assert dataclasses.replace(by_amount, water_mark=D("103.00")).current_stop == D("101.00")
        assert dataclasses.replace(by_percent, water_mark=D("98.11")).current_stop == D("100.56275")
        assert make_order(order_type=OrderType.STOP, stop_price=D("9.00")).current_stop == D("9.00")
        assert make_order().current_stop is None

    def test_sell_by_amount_on_bars_follows_the_high_then_fills_at_the_stop(self) -> None:
        order = self.trailing(trail_amount=D("2.00"))

        first = feed(order, make_bar("100.00", "103.00", "99.00"))  # seeded at the open: stop 98
        second = feed(first.order, make_bar("102.00", "104.00", "101.50"))  # stop 101: not hit
        third = feed(second.order, make_bar("103.00", "103.50", "101.90"))  # stop 102: hit

        assert (first.fills, first.order.water_mark, first.changed) == ((), D("103.00"), True)
        assert (second.fills, second.order.water_mark) == ((), D("104.00"))
        assert fill_prices(third) == [D("102.00")]
        assert third.order.triggered

    def test_bar_tests_the_previous_stop_before_raising_the_mark(self) -> None:
        """High 105 would lift the stop to 103 and the low of 99 would hit it, but the order of the two
        inside the bar is unknown: only the stop from the previous mark (98) counts."""
        order = self.trailing(trail_amount=D("2.00"), water_mark=D("100.00"))

        result = feed(order, make_bar("100.00", "105.00", "99.00"))

        assert result.fills == ()
        assert result.order.water_mark == D("105.00")

    def test_gap_below_the_trailing_stop_fills_at_the_open(self) -> None:
        order = self.trailing(trail_amount=D("2.00"), water_mark=D("105.00"))

        result = feed(order, make_bar("102.00", "102.50", "101.00"))

        assert fill_prices(result) == [D("102.00")]

    def test_mark_never_moves_against_the_order(self) -> None:
        order = self.trailing(trail_amount=D("5.00"), water_mark=D("110.00"))

        result = feed(order, make_bar("107.00", "108.00", "106.00"))

        assert (result.order.water_mark, result.changed, result.order) == (D("110.00"), False, order)

    def test_sell_by_percent_rounds_the_stop_down_to_the_tick(self) -> None:
        order = self.trailing(trail_percent=D("2.5"), water_mark=D("101.37"))  # exact stop 98.83575

        above = feed(order, make_bar("99.50", "99.60", "98.84"))
        at = feed(order, make_bar("99.50", "99.60", "98.83"))

        assert above.fills == ()
        assert fill_prices(at) == [D("98.83")]

    def test_buy_by_percent_follows_the_low_and_rounds_the_stop_up(self) -> None:
        order = self.trailing(Side.BUY, trail_percent=D("2.5"), water_mark=D("100.00"))

        lower = feed(order, make_bar("99.00", "100.20", "98.11"))  # stop 102.5 not hit; mark 98.11
        below = feed(lower.order, make_bar("99.00", "100.56", "98.50"))  # stop 100.56275 -> 100.57
        hit = feed(lower.order, make_bar("99.00", "100.57", "98.50"))

        assert lower.order.water_mark == D("98.11")
        assert below.fills == ()
        assert fill_prices(hit) == [D("100.57")]

    def test_on_quotes_the_mark_follows_last_and_the_fill_takes_the_book(self) -> None:
        order = self.trailing(trail_amount=D("1.00"))

        seeded = feed(order, make_quote(last="100.00"))
        raised = feed(seeded.order, make_quote(last="102.00"))
        held = feed(raised.order, make_quote(last="101.50"))
        hit = feed(held.order, make_quote(bid="100.95", ask="101.05", last="101.00"))

        assert seeded.order.water_mark == D("100.00")
        assert raised.order.water_mark == D("102.00")
        assert (held.changed, held.order.water_mark) == (False, D("102.00"))
        assert fill_prices(hit) == [D("100.95")]

    def test_buy_trailing_on_quotes(self) -> None:
        order = self.trailing(Side.BUY, trail_amount=D("1.00"), water_mark=D("100.00"))

        lowered = feed(order, make_quote(last="99.00"))
        hit = feed(lowered.order, make_quote(bid="99.98", ask="100.02", last="100.00"))

        assert lowered.order.water_mark == D("99.00")
        assert fill_prices(hit) == [D("100.02")]

    def test_triggered_trailing_stop_fills_as_market_later(self) -> None:
        order = self.trailing(trail_amount=D("1.00"), water_mark=D("102.00"))

        triggered = feed(order, make_bar("101.50", "101.60", "100.50", volume="0"), PARTIAL)
        later = feed(triggered.order, make_bar("100.20", "101.00", "100.00"), PARTIAL)

        assert (triggered.fills, triggered.order.triggered) == ((), True)
        assert fill_prices(later) == [D("100.20")]


# --- time in force -----------------------------------------------------------------------------------


class TestDayExpiry:
    CLOSE = T0 + timedelta(hours=1)

    def day_order(self, **changes: object) -> WorkingOrder:
        return make_order(time_in_force=TimeInForce.DAY, expires_at=self.CLOSE, **changes)

    def test_expires_on_the_first_event_at_or_after_the_close_before_matching(self) -> None:
        result = feed(self.day_order(), make_quote(ts=self.CLOSE))

        assert (result.order.status, result.reason, result.fills) == (
            S.EXPIRED,
            Reason.DAY_SESSION_CLOSED,
            (),
        )
        assert result.statuses == (S.EXPIRED,)

    def test_still_fills_just_before_the_close(self) -> None:
        result = feed(self.day_order(), make_quote(ts=self.CLOSE - timedelta(microseconds=1)))

        assert result.order.status == S.FILLED

    def test_bars_compare_their_open_time(self) -> None:
        last_bar = feed(
            self.day_order(), make_bar("50.00", "51.00", "49.00", at=self.CLOSE - timedelta(minutes=1))
        )
        next_session = feed(self.day_order(), make_bar("50.00", "51.00", "49.00", at=self.CLOSE))

        assert last_bar.order.status == S.FILLED
        assert next_session.order.status == S.EXPIRED

    def test_submitted_after_the_close_expires_at_once(self) -> None:
        result = submit(self.day_order(status=S.NEW), make_quote(ts=self.CLOSE + timedelta(hours=1)))

        assert result.statuses == (S.ACCEPTED, S.EXPIRED)

    def test_partially_filled_order_expires_keeping_its_fills(self) -> None:
        order = self.day_order(status=S.PARTIALLY_FILLED, filled_quantity=D("40"), fill_count=1)

        result = feed(order, make_quote(ts=self.CLOSE))

        assert (result.order.status, result.order.filled_quantity) == (S.EXPIRED, D("40"))

    def test_a_pending_cancel_completes_as_canceled(self) -> None:
        result = feed(self.day_order(status=S.PENDING_CANCEL), make_quote(ts=self.CLOSE))

        assert (result.order.status, result.statuses) == (S.CANCELED, (S.CANCELED,))

    def test_a_pending_replace_is_refused_then_expires(self) -> None:
        result = feed(self.day_order(status=S.PENDING_REPLACE), make_quote(ts=self.CLOSE))

        assert result.statuses == (S.ACCEPTED, S.EXPIRED)

    def test_an_explicit_expiry_on_a_gtc_order_has_its_own_reason(self) -> None:
        order = make_order(expires_at=self.CLOSE)

        result = feed(order, make_quote(ts=self.CLOSE))

        assert (result.order.status, result.reason) == (S.EXPIRED, Reason.EXPIRY_REACHED)


class TestImmediateOrCancel:
    def test_unfilled_remainder_is_canceled(self) -> None:
        order = make_order(status=S.NEW, time_in_force=TimeInForce.IOC)

        result = submit(order, make_quote(ask_size="30"), PARTIAL)

        assert result.statuses == (S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCELED)
        assert (result.order.status, result.reason) == (S.CANCELED, Reason.IOC_UNFILLED)
        assert [fill.quantity for fill in result.fills] == [D("30")]
        assert result.order.filled_quantity == D("30")

    def test_fully_filled_ioc_is_just_filled(self) -> None:
        result = submit(make_order(status=S.NEW, time_in_force=TimeInForce.IOC), make_quote())

        assert (result.order.status, result.reason) == (S.FILLED, None)

    def test_not_marketable_ioc_is_canceled_without_a_fill(self) -> None:
        order = make_order(
            status=S.NEW, time_in_force=TimeInForce.IOC, order_type=OrderType.LIMIT, limit_price=D("99.00")
        )

        result = submit(order, make_quote())

        assert (result.statuses, result.fills, result.reason) == (
            (S.ACCEPTED, S.CANCELED),
            (),
            Reason.IOC_UNFILLED,
        )

    @pytest.mark.parametrize(
        ("time_in_force", "reason"),
        [(TimeInForce.IOC, Reason.IOC_UNFILLED), (TimeInForce.FOK, Reason.FOK_UNFILLABLE)],
    )
    def test_without_market_data_immediate_orders_are_canceled(
        self, time_in_force: TimeInForce, reason: Reason
    ) -> None:
        result = submit(make_order(status=S.NEW, time_in_force=time_in_force), None)

        assert (result.order.status, result.reason) == (S.CANCELED, reason)

    def test_an_open_ioc_order_is_decided_on_its_first_event(self) -> None:
        order = make_order(time_in_force=TimeInForce.IOC, order_type=OrderType.LIMIT, limit_price=D("1.00"))

        result = feed(order, make_bar("50.00", "51.00", "49.00"))

        assert (result.order.status, result.reason) == (S.CANCELED, Reason.IOC_UNFILLED)


class TestFillOrKill:
    def fok(self, **changes: object) -> WorkingOrder:
        return make_order(status=S.NEW, time_in_force=TimeInForce.FOK, **changes)

    def test_fills_entirely_when_the_size_is_there(self) -> None:
        result = submit(self.fok(), make_quote(ask_size="100"), PARTIAL)

        assert (result.order.status, [fill.quantity for fill in result.fills]) == (S.FILLED, [D("100")])

    def test_is_canceled_without_any_fill_when_the_size_is_short(self) -> None:
        result = submit(self.fok(), make_quote(ask_size="99"), PARTIAL)

        assert (result.order.status, result.fills, result.reason) == (S.CANCELED, (), Reason.FOK_UNFILLABLE)
        assert result.order.filled_quantity == 0

    def test_without_partial_fills_size_does_not_matter(self) -> None:
        result = submit(self.fok(), make_quote(ask_size="1"))

        assert result.order.status == S.FILLED

    def test_not_marketable_is_canceled(self) -> None:
        result = submit(self.fok(order_type=OrderType.LIMIT, limit_price=D("90.00")), make_quote())

        assert (result.order.status, result.reason) == (S.CANCELED, Reason.FOK_UNFILLABLE)

    def test_bar_volume_decides_with_partial_fills(self) -> None:
        enough = submit(self.fok(), make_bar("10.00", "10.00", "10.00", volume="1000"), PARTIAL)
        short = submit(self.fok(), make_bar("10.00", "10.00", "10.00", volume="999"), PARTIAL)

        assert enough.order.status == S.FILLED
        assert short.order.status == S.CANCELED


# --- partial fills -------------------------------------------------------------------------------------


class TestPartialFills:
    def test_quote_size_limits_each_fill_and_sequences_count_up(self) -> None:
        order = make_order()

        first = feed(order, make_quote(ask="100.00", ask_size="30"), PARTIAL)
        second = feed(first.order, make_quote(ask="101.00", ask_size="500"), PARTIAL)

        assert (first.order.status, first.statuses) == (S.PARTIALLY_FILLED, (S.PARTIALLY_FILLED,))
        assert second.order.status == S.FILLED
        assert [(f.quantity, f.price, f.sequence) for f in (*first.fills, *second.fills)] == [
            (D("30"), D("100.00"), 1),
            (D("70"), D("101.00"), 2),
        ]
        assert first.order.average_fill_price == D("100.0000000000")
        assert second.order.average_fill_price == D("100.7000000000")
        assert second.order.fill_count == 2

    def test_sells_take_the_bid_size(self) -> None:
        result = feed(make_order(side=Side.SELL), make_quote(bid_size="25"), PARTIAL)

        assert [fill.quantity for fill in result.fills] == [D("25")]

    @pytest.mark.parametrize(
        ("volume", "lot", "expected"),
        [("555", "1", "55"), ("555", "10", "50"), ("9", "1", None), ("5000", "1", "100")],
    )
    def test_bar_offers_a_share_of_its_volume_floored_to_the_lot(
        self, volume: str, lot: str, expected: str | None
    ) -> None:
        result = feed(make_order(), make_bar("10.00", "10.00", "10.00", volume=volume), PARTIAL, D(lot))

        assert [fill.quantity for fill in result.fills] == ([] if expected is None else [D(expected)])

    def test_participation_is_configurable(self) -> None:
        config = ExecutionConfig(partial_fills=True, volume_participation=D("0.5"))

        result = feed(make_order(), make_bar("10.00", "10.00", "10.00", volume="100"), config)

        assert [fill.quantity for fill in result.fills] == [D("50")]

    @pytest.mark.parametrize("participation", ["0", "-0.1", "1.01"])
    def test_participation_out_of_range_is_refused(self, participation: str) -> None:
        with pytest.raises(ValueError, match="volume_participation"):
            ExecutionConfig(volume_participation=D(participation))

    def test_without_partial_fills_sizes_are_ignored(self) -> None:
        result = feed(make_order(), make_quote(ask_size="0"))

        assert result.order.status == S.FILLED

    def test_average_price_is_exact_to_ten_places(self) -> None:
        order = make_order(quantity=D("3"))
        prices = ["10.00", "10.00", "10.01"]
        for price in prices:
            order = feed(order, make_quote(ask=price, ask_size="1"), PARTIAL).order

        assert order.average_fill_price == D("10.0033333333")

    def test_a_pending_cancel_can_still_be_filled(self) -> None:
        result = feed(make_order(status=S.PENDING_CANCEL), make_quote())

        assert result.statuses == (S.FILLED,)


# --- statuses the engine does not match ----------------------------------------------------------------


class TestUnmatchedStatuses:
    @pytest.mark.parametrize("status", [S.FILLED, S.CANCELED, S.REPLACED, S.EXPIRED, S.REJECTED, S.HELD])
    def test_terminal_and_held_orders_come_back_unchanged(self, status: OrderStatus) -> None:
        order = make_order(status=status)

        for result in (feed(order, make_quote()), submit(order, make_quote()), submit(order, None)):
            assert (result.order, result.changed, result.fills, result.statuses) == (order, False, (), ())
            assert result.order is order

    def test_new_orders_must_be_submitted_first(self) -> None:
        with pytest.raises(ValueError, match="on_submit"):
            feed(make_order(status=S.NEW), make_quote())

    def test_on_submit_refuses_an_order_already_working(self) -> None:
        with pytest.raises(ValueError, match="new or accepted"):
            submit(make_order(status=S.PARTIALLY_FILLED), make_quote())

    def test_an_event_for_another_symbol_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="MSFT"):
            feed(make_order(symbol="MSFT"), make_quote())

    def test_nothing_happening_returns_the_same_order(self) -> None:
        order = make_order(order_type=OrderType.LIMIT, limit_price=D("50.00"))

        result = feed(order, make_quote())

        assert result == MatchResult(order)
        assert result.order is order

    def test_statuses_replay_to_the_final_status(self) -> None:
        result = submit(
            make_order(status=S.NEW, time_in_force=TimeInForce.IOC), make_quote(ask_size="10"), PARTIAL
        )

        assert replay(result.statuses) == result.order.status == S.CANCELED

    def test_plain_string_enums_from_the_database_match_the_same(self) -> None:
        order = make_order(side="sell", order_type="limit", limit_price=D("99.00"), status="accepted")

        result = feed(order, make_quote())

        assert fill_prices(result) == [D("99.98")]


class TestCancelOrder:
    @pytest.mark.parametrize(
        ("status", "statuses"),
        [
            (S.ACCEPTED, (S.CANCELED,)),
            (S.HELD, (S.CANCELED,)),
            (S.PARTIALLY_FILLED, (S.CANCELED,)),
            (S.PENDING_CANCEL, (S.CANCELED,)),
            (S.PENDING_REPLACE, (S.ACCEPTED, S.CANCELED)),
        ],
    )
    def test_cancel_follows_legal_transitions(
        self, status: OrderStatus, statuses: tuple[OrderStatus]
    ) -> None:
        result = cancel_order(make_order(status=status), Reason.USER_CANCELED)

        assert (result.statuses, result.order.status, result.reason) == (
            statuses,
            S.CANCELED,
            Reason.USER_CANCELED,
        )

    def test_canceling_a_terminal_order_changes_nothing(self) -> None:
        order = make_order(status=S.FILLED)

        assert cancel_order(order, Reason.USER_CANCELED) == MatchResult(order)


# --- validation ------------------------------------------------------------------------------------------


def codes(
    order: WorkingOrder, *, tick: str = "0.01", lot: str = "1", minimum: str = "1"
) -> set[tuple[str, str]]:
    problems = validate_order(order, tick_size=D(tick), lot_size=D(lot), min_quantity=D(minimum))
    return {(problem.field, problem.code) for problem in problems}


class TestValidateOrder:
    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({}, set()),
            ({"quantity": D("0")}, {("quantity", "invalid_quantity")}),
            ({"quantity": D("-5")}, {("quantity", "invalid_quantity")}),
            ({"quantity": D("10.5")}, {("quantity", "off_lot_size")}),
            ({"limit_price": D("10.00")}, {("limit_price", "unexpected_price")}),
            ({"stop_price": D("10.00")}, {("stop_price", "unexpected_price")}),
            ({"trail_amount": D("1.00")}, {("trail_amount", "unexpected_price")}),
            ({"trail_percent": D("1")}, {("trail_percent", "unexpected_price")}),
            ({"order_type": OrderType.LIMIT}, {("limit_price", "missing_limit_price")}),
            ({"order_type": OrderType.LIMIT, "limit_price": D("10.005")}, {("limit_price", "off_tick_size")}),
            ({"order_type": OrderType.LIMIT, "limit_price": D("0")}, {("limit_price", "invalid_price")}),
            (
                {"order_type": OrderType.LIMIT, "limit_price": D("10.00"), "stop_price": D("9.00")},
                {("stop_price", "unexpected_price")},
            ),
            ({"order_type": OrderType.STOP}, {("stop_price", "missing_stop_price")}),
            ({"order_type": OrderType.STOP, "stop_price": D("-1.00")}, {("stop_price", "invalid_price")}),
            (
                {"order_type": OrderType.STOP_LIMIT},
                {("limit_price", "missing_limit_price"), ("stop_price", "missing_stop_price")},
            ),
            (
                {"order_type": OrderType.STOP_LIMIT, "stop_price": D("10.00"), "limit_price": D("9.99")},
                {("limit_price", "inconsistent_prices")},
            ),
            (
                {"order_type": OrderType.STOP_LIMIT, "stop_price": D("10.00"), "limit_price": D("10.00")},
                set(),
            ),
            (
                {
                    "side": Side.SELL,
                    "order_type": OrderType.STOP_LIMIT,
                    "stop_price": D("10.00"),
                    "limit_price": D("10.01"),
                },
                {("limit_price", "inconsistent_prices")},
            ),
            (
                {
                    "side": Side.SELL,
                    "order_type": OrderType.STOP_LIMIT,
                    "stop_price": D("10.00"),
                    "limit_price": D("9.9"),
                },
                set(),
            ),
            ({"order_type": OrderType.TRAILING_STOP}, {("trail_amount", "invalid_trail")}),
            (
                {"order_type": OrderType.TRAILING_STOP, "trail_amount": D("1"), "trail_percent": D("1")},
                {("trail_amount", "invalid_trail")},
            ),
            (
                {"order_type": OrderType.TRAILING_STOP, "trail_amount": D("0")},
                {("trail_amount", "invalid_trail")},
            ),
            (
                {"order_type": OrderType.TRAILING_STOP, "trail_amount": D("0.015")},
                {("trail_amount", "off_tick_size")},
            ),
            ({"order_type": OrderType.TRAILING_STOP, "trail_amount": D("0.50")}, set()),
            ({"order_type": OrderType.TRAILING_STOP, "trail_percent": D("2.5")}, set()),
            (
                {"order_type": OrderType.TRAILING_STOP, "trail_percent": D("100")},
                {("trail_percent", "invalid_trail")},
            ),
            (
                {"order_type": OrderType.TRAILING_STOP, "trail_percent": D("0")},
                {("trail_percent", "invalid_trail")},
            ),
            (
                {"order_type": OrderType.TRAILING_STOP, "trail_percent": D("1"), "stop_price": D("5.00")},
                {("stop_price", "unexpected_price")},
            ),
        ],
    )
    def test_codes(self, changes: dict[str, object], expected: set[tuple[str, str]]) -> None:
        assert codes(make_order(**changes)) == expected

    def test_below_minimum_quantity(self) -> None:
        assert codes(make_order(quantity=D("5")), minimum="10") == {("quantity", "below_min_quantity")}

    def test_fractional_lots(self) -> None:
        assert codes(make_order(quantity=D("0.0015")), lot="0.0001", minimum="0.001") == set()
        assert codes(make_order(quantity=D("0.00155")), lot="0.0001", minimum="0.001") == {
            ("quantity", "off_lot_size")
        }

    def test_problems_carry_a_message(self) -> None:
        (problem,) = validate_order(
            make_order(quantity=D("0")), tick_size=TICK, lot_size=LOT, min_quantity=LOT
        )

        assert problem.field == "quantity"
        assert "positive" in problem.message
