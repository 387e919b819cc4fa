"""Bracket, OCO and OTO rules of orders.contingent: activation, resizing, sibling and parent cancels."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marketdata.domain import Bar, Timeframe
from orders.contingent import (
    Action,
    ActivateLeg,
    CancelOrder,
    ContingentGroup,
    ResizeLeg,
    after_cancel,
    after_fill,
    apply_action,
    bracket,
    group_problems,
    oco,
    oto,
)
from orders.matching import ExecutionConfig, WorkingOrder, on_market_event, on_submit
from orders.states import IllegalTransition, OrderClass, OrderStatus, OrderType, Reason, Side
from orders.tests.working import working_order

D = Decimal
S = OrderStatus
T0 = datetime(2025, 11, 26, 14, 30, tzinfo=UTC)


def make_order(order_id: str, **changes: object) -> WorkingOrder:
    """A resting limit buy of 100 at 100.00 named ``order_id`` unless changed."""
    defaults: dict[str, object] = {"order_type": OrderType.LIMIT, "limit_price": D("100.00")}
    return working_order(order_id=order_id, **(defaults | changes))


def filled(order: WorkingOrder, quantity: str) -> WorkingOrder:
    """``order`` after fills totalling ``quantity``."""
    total = D(quantity)
    status = S.FILLED if total == order.quantity else S.PARTIALLY_FILLED
    return dataclasses.replace(order, filled_quantity=total, status=status)


def long_bracket(**entry_changes: object) -> ContingentGroup:
    entry = make_order("entry", **entry_changes)
    take_profit = make_order("tp", side=Side.SELL, limit_price=D("105.00"), status=S.HELD)
    stop_loss = make_order(
        "sl",
        side=Side.SELL,
        order_type=OrderType.STOP,
        limit_price=None,
        stop_price=D("95.00"),
        status=S.HELD,
    )
    return bracket(entry, take_profit, stop_loss)


def apply_all(group: ContingentGroup, actions: list[Action]) -> ContingentGroup:
    for action in actions:
        group = group.with_order(apply_action(group.order(action.order_id), action).order)
    return group


class TestBracket:
    def test_entry_fill_activates_the_legs_for_the_filled_quantity_then_resizes_them(self) -> None:
        group = long_bracket()

        group = group.with_order(filled(group.order("entry"), "40"))
        first = after_fill(group, "entry")
        group = apply_all(group, first)
        group = group.with_order(filled(group.order("entry"), "100"))
        second = after_fill(group, "entry")
        group = apply_all(group, second)

        assert first == [ActivateLeg("tp", D("40")), ActivateLeg("sl", D("40"))]
        assert second == [ResizeLeg("tp", D("100")), ResizeLeg("sl", D("100"))]
        assert [(leg.status, leg.quantity) for leg in group.legs] == [(S.ACCEPTED, D("100"))] * 2

    def test_a_partial_exit_resizes_the_sibling_to_the_remaining_position(self) -> None:
        group = long_bracket()
        group = group.with_order(filled(group.order("entry"), "100"))
        group = apply_all(group, after_fill(group, "entry"))

        group = group.with_order(filled(group.order("tp"), "30"))
        actions = after_fill(group, "tp")

        assert actions == [ResizeLeg("sl", D("70"))]
        assert group.position == D("70")

    def test_a_complete_exit_cancels_the_sibling(self) -> None:
        group = long_bracket()
        group = group.with_order(filled(group.order("entry"), "100"))
        group = apply_all(group, after_fill(group, "entry"))

        group = group.with_order(filled(group.order("sl"), "100"))
        actions = after_fill(group, "sl")
        group = apply_all(group, actions)

        assert actions == [CancelOrder("tp", Reason.OCO_SIBLING_FILLED)]
        assert group.order("tp").status == S.CANCELED

    def test_an_exit_closing_a_partial_entry_cancels_the_entry_remainder_too(self) -> None:
        group = long_bracket()
        group = group.with_order(filled(group.order("entry"), "40"))
        group = apply_all(group, after_fill(group, "entry"))

        group = group.with_order(filled(group.order("tp"), "40"))
        actions = after_fill(group, "tp")

        assert actions == [
            CancelOrder("sl", Reason.OCO_SIBLING_FILLED),
            CancelOrder("entry", Reason.BRACKET_EXIT_FILLED),
        ]

    def test_legs_track_the_position_when_entry_and_exit_fill_in_turns(self) -> None:
        group = long_bracket()
        group = group.with_order(filled(group.order("entry"), "40"))
        group = apply_all(group, after_fill(group, "entry"))  # legs at 40
        group = group.with_order(filled(group.order("tp"), "10"))
        group = apply_all(group, after_fill(group, "tp"))  # position 30: sl resized to 30

        group = group.with_order(filled(group.order("entry"), "100"))  # position 90
        actions = after_fill(group, "entry")

        assert actions == [ResizeLeg("tp", D("100")), ResizeLeg("sl", D("90"))]
        group = apply_all(group, actions)
        assert [leg.remaining_quantity for leg in group.legs] == [D("90"), D("90")]

    @pytest.mark.parametrize("ended", [S.CANCELED, S.EXPIRED, S.REJECTED])
    def test_entry_ending_before_any_fill_cancels_the_legs(self, ended: OrderStatus) -> None:
        group = long_bracket()
        group = group.with_order(dataclasses.replace(group.order("entry"), status=ended))

        actions = after_cancel(group, "entry")
        group = apply_all(group, actions)

        assert actions == [
            CancelOrder("tp", Reason.PARENT_CANCELED),
            CancelOrder("sl", Reason.PARENT_CANCELED),
        ]
        assert [leg.status for leg in group.legs] == [S.CANCELED, S.CANCELED]

    def test_entry_canceled_after_a_partial_fill_leaves_the_legs_protecting_it(self) -> None:
        group = long_bracket()
        group = group.with_order(filled(group.order("entry"), "40"))
        group = apply_all(group, after_fill(group, "entry"))
        group = group.with_order(dataclasses.replace(group.order("entry"), status=S.CANCELED))

        assert after_cancel(group, "entry") == []

    def test_canceling_a_leg_by_hand_touches_nothing_else(self) -> None:
        group = long_bracket()
        group = group.with_order(filled(group.order("entry"), "100"))
        group = apply_all(group, after_fill(group, "entry"))

        assert after_cancel(group, "tp") == []

    def test_full_lifecycle_through_the_matching_engine(self) -> None:
        """Entry fills at the next bar's open; the stop-loss triggers later; the take-profit is canceled."""
        config = ExecutionConfig()
        tick, lot = D("0.01"), D("1")
        group = long_bracket(status=S.NEW, order_type=OrderType.MARKET, limit_price=None)

        def bar(minute: int, open_: str, high: str, low: str) -> Bar:
            at = T0 + timedelta(minutes=minute)
            return Bar("AAPL", Timeframe.M1, at, D(open_), D(high), D(low), D(open_), D("1000"))

        entry = on_submit(
            group.order("entry"),
            bar(0, "100.00", "100.50", "99.50"),
            config=config,
            tick_size=tick,
            lot_size=lot,
        )
        group = group.with_order(entry.order)
        group = apply_all(group, after_fill(group, "entry"))
        events: list[tuple[str, Reason | None]] = []
        for minute, prices in enumerate(
            [("100.00", "104.00", "98.00"), ("97.00", "97.50", "94.00")], start=1
        ):
            for leg in group.legs:
                result = on_market_event(
                    group.order(leg.order_id),
                    bar(minute, *prices),
                    config=config,
                    tick_size=tick,
                    lot_size=lot,
                )
                group = group.with_order(result.order)
                if result.fills:
                    events.append((leg.order_id, None))
                    actions = after_fill(group, leg.order_id)
                    events.extend(
                        (action.order_id, action.reason)
                        for action in actions
                        if isinstance(action, CancelOrder)
                    )
                    group = apply_all(group, actions)

        assert entry.fills[0].price == D("100.00")
        assert events == [("sl", None), ("tp", Reason.OCO_SIBLING_FILLED)]
        assert group.order("sl").average_fill_price == D("95.00")
        assert group.position == 0
        assert [order.status for order in group.orders] == [S.FILLED, S.CANCELED, S.FILLED]


class TestOco:
    def test_any_fill_on_one_cancels_the_other(self) -> None:
        group = oco(
            make_order("a", side=Side.SELL, limit_price=D("110.00")),
            make_order(
                "b", side=Side.SELL, order_type=OrderType.STOP, limit_price=None, stop_price=D("90.00")
            ),
        )

        group = group.with_order(filled(group.order("a"), "1"))
        actions = after_fill(group, "a")
        group = apply_all(group, actions)

        assert actions == [CancelOrder("b", Reason.OCO_SIBLING_FILLED)]
        assert group.order("b").status == S.CANCELED

    def test_nothing_to_cancel_when_the_other_is_already_done(self) -> None:
        group = oco(filled(make_order("a"), "100"), dataclasses.replace(make_order("b"), status=S.CANCELED))

        assert after_fill(group, "a") == []

    def test_canceling_one_leaves_the_other(self) -> None:
        group = oco(dataclasses.replace(make_order("a"), status=S.CANCELED), make_order("b"))

        assert after_cancel(group, "a") == []


class TestOto:
    @staticmethod
    def group() -> ContingentGroup:
        child = make_order("child", side=Side.SELL, limit_price=D("110.00"), status=S.HELD)
        return oto(make_order("parent"), child)

    def test_the_child_activates_on_the_parents_fill_and_follows_it(self) -> None:
        group = self.group()

        group = group.with_order(filled(group.order("parent"), "25"))
        first = after_fill(group, "parent")
        group = apply_all(group, first)
        group = group.with_order(filled(group.order("parent"), "100"))
        second = after_fill(group, "parent")

        assert first == [ActivateLeg("child", D("25"))]
        assert second == [ResizeLeg("child", D("100"))]

    def test_the_childs_fills_do_not_touch_the_parent(self) -> None:
        group = self.group()
        group = group.with_order(filled(group.order("parent"), "50"))
        group = apply_all(group, after_fill(group, "parent"))

        group = group.with_order(filled(group.order("child"), "50"))

        assert after_fill(group, "child") == []

    def test_parent_canceled_before_a_fill_cancels_the_child(self) -> None:
        group = self.group()
        group = group.with_order(dataclasses.replace(group.order("parent"), status=S.CANCELED))

        assert after_cancel(group, "parent") == [CancelOrder("child", Reason.PARENT_CANCELED)]


class TestApplyAction:
    def test_activation_moves_held_to_accepted_with_the_quantity(self) -> None:
        result = apply_action(make_order("x", status=S.HELD), ActivateLeg("x", D("40")))

        assert (result.order.status, result.order.quantity, result.statuses) == (
            S.ACCEPTED,
            D("40"),
            (S.ACCEPTED,),
        )
        assert result.changed

    def test_only_a_held_order_can_be_activated(self) -> None:
        with pytest.raises(IllegalTransition):
            apply_action(make_order("x", status=S.FILLED), ActivateLeg("x", D("40")))

    def test_resize_keeps_the_status(self) -> None:
        result = apply_action(filled(make_order("x"), "30"), ResizeLeg("x", D("70")))

        assert (result.order.status, result.order.quantity, result.statuses) == (
            S.PARTIALLY_FILLED,
            D("70"),
            (),
        )

    @pytest.mark.parametrize("quantity", ["30", "10"])
    def test_a_leg_cannot_shrink_to_what_it_has_filled(self, quantity: str) -> None:
        with pytest.raises(ValueError, match="filled more"):
            apply_action(filled(make_order("x"), "30"), ResizeLeg("x", D(quantity)))

    def test_a_terminal_order_cannot_be_resized(self) -> None:
        with pytest.raises(ValueError, match="cannot be resized"):
            apply_action(dataclasses.replace(make_order("x"), status=S.CANCELED), ResizeLeg("x", D("10")))

    def test_cancel_is_idempotent(self) -> None:
        done = filled(make_order("x"), "100")

        result = apply_action(done, CancelOrder("x", Reason.OCO_SIBLING_FILLED))

        assert (result.order, result.changed) == (done, False)

    def test_an_action_for_another_order_is_refused(self) -> None:
        with pytest.raises(ValueError, match="applied to order"):
            apply_action(make_order("x"), CancelOrder("y", Reason.USER_CANCELED))


class TestGroupShape:
    def test_the_number_of_legs_and_the_parent_are_checked(self) -> None:
        with pytest.raises(ValueError, match="2 legs"):
            ContingentGroup(OrderClass.BRACKET, make_order("e"), (make_order("tp"),))
        with pytest.raises(ValueError, match="parent"):
            ContingentGroup(OrderClass.OCO, make_order("p"), (make_order("a"), make_order("b")))
        with pytest.raises(ValueError, match="not a contingent"):
            ContingentGroup(OrderClass.SIMPLE, None, ())
        with pytest.raises(ValueError, match="distinct"):
            oco(make_order("a"), make_order("a"))

    def test_unknown_orders_are_refused(self) -> None:
        with pytest.raises(ValueError, match="not in this group"):
            long_bracket().with_order(make_order("stranger"))
        with pytest.raises(ValueError, match="not in this group"):
            after_fill(long_bracket(), "stranger")

    def test_an_oco_group_has_no_position(self) -> None:
        with pytest.raises(ValueError, match="no parent"):
            _ = oco(make_order("a"), make_order("b")).position


def problem_codes(group: ContingentGroup) -> set[tuple[str, str]]:
    return {(problem.field, problem.code) for problem in group_problems(group)}


class TestGroupProblems:
    def test_a_sound_bracket(self) -> None:
        assert problem_codes(long_bracket()) == set()

    def test_a_sound_short_bracket(self) -> None:
        entry = make_order("entry", side=Side.SELL)
        take_profit = make_order("tp", limit_price=D("95.00"), status=S.HELD)
        stop_loss = make_order(
            "sl", order_type=OrderType.TRAILING_STOP, limit_price=None, trail_amount=D("2.00")
        )

        assert problem_codes(bracket(entry, take_profit, stop_loss)) == set()

    def test_legs_on_the_entrys_side_of_the_wrong_type_or_size(self) -> None:
        entry = make_order("entry")
        take_profit = make_order("tp", order_type=OrderType.MARKET, limit_price=None)
        stop_loss = make_order("sl", side=Side.SELL, quantity=D("50"), limit_price=D("95.00"))

        assert problem_codes(bracket(entry, take_profit, stop_loss)) == {
            ("take_profit", "invalid_group"),
            ("stop_loss", "invalid_group"),
        }
        assert len(group_problems(bracket(entry, take_profit, stop_loss))) == 4

    @pytest.mark.parametrize(
        ("entry_limit", "profit", "loss"),
        [("100.00", "94.00", "95.00"), ("100.00", "95.00", "95.00"), ("96.00", "105.00", "97.00")],
    )
    def test_prices_out_of_order(self, entry_limit: str, profit: str, loss: str) -> None:
        group = long_bracket(limit_price=D(entry_limit))
        group = group.with_order(dataclasses.replace(group.order("tp"), limit_price=D(profit)))
        group = group.with_order(dataclasses.replace(group.order("sl"), stop_price=D(loss)))

        assert {code for _, code in problem_codes(group)} == {"inconsistent_prices"}

    def test_a_group_trades_one_symbol(self) -> None:
        group = oco(make_order("a"), make_order("b", symbol="MSFT"))

        assert problem_codes(group) == {("symbol", "invalid_group")}
