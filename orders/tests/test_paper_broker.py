"""The paper broker through orders.services: fills against the latest quote, resting orders and
triggers on new quotes, brackets, cancel/replace, position exits, the books always reconcile."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Fill, Order, OrderEvent
from orders.states import OrderStatus, replay
from orders.tests.factories import place, request
from portfolio.models import CashEntry, Position
from portfolio.services import reconcile, set_position_exits
from tradeapp.core.errors import DomainError

pytestmark = pytest.mark.django_db


def position(account, instrument):
    return Position.objects.get(account=account, instrument=instrument)


def assert_books_balance(account):
    assert reconcile(account) == []
    for order in Order.objects.filter(account=account):
        statuses = [OrderStatus(e.status) for e in order.events.order_by("sequence")]
        assert replay(statuses) == order.status, f"events of {order.pk} do not rebuild its status"


def test_a_market_buy_fills_at_the_ask_and_moves_position_and_cash(account, btc, quote):
    quote("BTC/USD", bid="50000.00", ask="50010.00")

    order = place(account, quantity="0.5")

    order.refresh_from_db()
    account.refresh_from_db()
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        "filled",
        Decimal("0.5"),
        Decimal("50010"),
    )
    assert position(account, btc).quantity == Decimal("0.5")
    assert account.cash == Decimal("100000") - Decimal("25005")
    assert list(CashEntry.objects.filter(account=account).values_list("kind", "amount").order_by("id")) == [
        ("deposit", Decimal("100000")),
        ("trade", Decimal("-25005")),
    ]
    assert [e.status for e in order.events.order_by("sequence")] == ["new", "accepted", "filled"]
    assert_books_balance(account)


def test_a_limit_buy_rests_then_fills_when_the_ask_crosses(account, btc, quote):
    quote("BTC/USD", bid="50000.00", ask="50010.00")
    order = place(account, order_type="limit", quantity="1", limit_price="49900.00")
    order.refresh_from_db()
    assert order.status == "accepted"
    assert order.reserved_cash == Decimal("49900")

    quote("BTC/USD", bid="49880.00", ask="49890.00")
    assert services.evaluate_symbol("BTC/USD") == 1

    order.refresh_from_db()
    assert (order.status, order.average_fill_price, order.reserved_cash) == ("filled", Decimal("49890"), 0)
    assert_books_balance(account)


def test_a_stop_sell_triggers_on_the_last_price(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="2")
    stop = place(account, side="sell", order_type="stop", quantity="2", stop_price="95.00")

    quote("BTC/USD", bid="96.00", ask="96.10", last="96.00")
    services.evaluate_symbol("BTC/USD")
    stop.refresh_from_db()
    assert stop.status == "accepted"

    quote("BTC/USD", bid="94.50", ask="94.60", last="94.50")
    services.evaluate_symbol("BTC/USD")
    stop.refresh_from_db()
    assert (stop.status, stop.average_fill_price) == ("filled", Decimal("94.5"))
    assert position(account, btc).quantity == 0
    assert position(account, btc).realized_pnl == Decimal("-11.20")  # (94.50 - 100.10) * 2
    assert_books_balance(account)


def test_a_bracket_activates_its_legs_on_entry_and_one_exit_cancels_the_other(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")

    entry = services.place_order(
        account=account,
        request=request(
            quantity="3",
            order_class="bracket",
            take_profit=services.LegRequest(order_type="limit", limit_price=Decimal("110.00")),
            stop_loss=services.LegRequest(order_type="stop", stop_price=Decimal("95.00")),
        ),
    ).order

    take_profit, stop_loss = (
        Order.objects.get(parent=entry, leg_role=role) for role in ("take_profit", "stop_loss")
    )
    assert (take_profit.status, take_profit.quantity) == ("accepted", Decimal("3"))
    assert (stop_loss.status, stop_loss.side) == ("accepted", "sell")

    quote("BTC/USD", bid="110.50", ask="110.60", last="110.50")
    services.evaluate_symbol("BTC/USD")

    take_profit.refresh_from_db()
    stop_loss.refresh_from_db()
    assert take_profit.status == "filled"
    assert (stop_loss.status, stop_loss.reason_code) == ("canceled", "oco_sibling_filled")
    assert position(account, btc).quantity == 0
    assert_books_balance(account)


def test_a_bracket_entry_canceled_before_any_fill_cancels_its_held_legs(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    entry = services.place_order(
        account=account,
        request=request(
            order_type="limit",
            limit_price="90.00",
            order_class="bracket",
            take_profit=services.LegRequest(order_type="limit", limit_price=Decimal("120.00")),
            stop_loss=services.LegRequest(order_type="stop", stop_price=Decimal("80.00")),
        ),
    ).order
    assert set(Order.objects.filter(parent=entry).values_list("status", flat=True)) == {"held"}

    services.cancel_order(account=account, order_id=entry.pk)

    assert set(Order.objects.filter(parent=entry).values_list("status", "reason_code")) == {
        ("canceled", "parent_canceled")
    }
    assert_books_balance(account)


def test_replace_moves_the_limit_and_keeps_an_audit_trail(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    old = place(account, order_type="limit", quantity="1", limit_price="90.00")

    new = services.replace_order(
        account=account, order_id=old.pk, changes=services.Replacement(limit_price=Decimal("95.00"))
    )

    old.refresh_from_db()
    assert old.status == "replaced"
    assert (new.status, new.limit_price, new.replaces_id) == ("accepted", Decimal("95"), old.pk)
    assert old.events.last().kind == OrderEvent.Kind.REPLACE
    assert_books_balance(account)


def test_cancel_releases_the_reservation_and_a_second_cancel_is_a_conflict(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(account, order_type="limit", quantity="10", limit_price="90.00")

    services.cancel_order(account=account, order_id=order.pk)

    order.refresh_from_db()
    assert (order.status, order.reserved_cash, order.reason_code) == ("canceled", 0, "user_canceled")
    with pytest.raises(DomainError) as raised:
        services.cancel_order(account=account, order_id=order.pk)
    assert (raised.value.status, raised.value.code) == (409, "order_not_open")


def test_position_stop_loss_fires_a_closing_market_order(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="4")
    set_position_exits(
        account=account, symbol="BTC/USD", stop_loss_price=Decimal("90.00"), take_profit_price=None
    )

    quote("BTC/USD", bid="89.90", ask="90.00", last="89.95")
    services.evaluate_symbol("BTC/USD")

    exit_order = Order.objects.get(account=account, source="risk")
    assert (exit_order.side, exit_order.status, exit_order.quantity) == ("sell", "filled", Decimal("4"))
    held = position(account, btc)
    assert (held.quantity, held.stop_loss_price) == (0, None)
    assert_books_balance(account)


def test_a_reported_fill_delivered_twice_or_out_of_order_is_applied_once(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(account, order_type="limit", quantity="3", limit_price="95.00")
    first = services.ReportedFill(
        str(order.pk), 1, Decimal("1"), Decimal("94.00"), Decimal("0.10"), order.created_at
    )
    second = services.ReportedFill(
        str(order.pk), 2, Decimal("2"), Decimal("94.50"), Decimal("0.20"), order.created_at
    )

    results = [services.record_fill(report) for report in (second, first, second, first)]

    assert results == [True, True, False, False]
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        "filled",
        Decimal("3"),
        Decimal("94.3333333333"),
    )
    account.refresh_from_db()
    assert account.cash == Decimal("100000") - Decimal("94.00") - Decimal("189.00") - Decimal("0.30")
    assert Fill.objects.filter(order=order).count() == 2
    assert position(account, btc).quantity == Decimal("3")
    assert_books_balance(account)


def test_the_kill_switch_cancels_open_orders_and_refuses_new_ones(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    resting = place(account, order_type="limit", quantity="1", limit_price="90.00")

    services.set_kill_switch(engaged=True, reason="drill")

    resting.refresh_from_db()
    assert (resting.status, resting.reason_code) == ("canceled", "kill_switch")
    with pytest.raises(DomainError) as raised:
        place(account, quantity="1")
    assert (raised.value.code, raised.value.status) == ("kill_switch", 422)
    services.set_kill_switch(engaged=False)
    assert place(account, quantity="1").status == "filled"
