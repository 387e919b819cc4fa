"""The venue seam: paper accounts trade at the paper venue; a venue that answers like a broker (the
order stays new, its reports arrive later through the inbound path) plugs in without touching
placement or risk; system cancels name their own reasons in the order and its events."""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from accounts.models import AccountKind, TradingAccount
from accounts.tests.factories import TradingAccountFactory
from orders import services, venues
from orders.matching import MatchResult, WorkingOrder
from orders.models import Order, OrderEvent
from orders.states import OrderStatus, Reason, replay
from orders.tests.factories import place
from portfolio.models import Position
from portfolio.services import reconcile, set_position_exits
from tradeapp.core import clock

pytestmark = pytest.mark.django_db


@dataclass
class BrokerLikeVenue:
    """Answers the way a broker venue does: nothing is decided in the placing transaction."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def submit(self, order: WorkingOrder, *, instrument, quote, now) -> MatchResult:
        self.calls.append(("submit", order.order_id))
        return MatchResult(order)

    def cancel(self, order: WorkingOrder, *, reason: Reason) -> MatchResult:
        self.calls.append(("cancel", order.order_id))
        return MatchResult(order)  # the venue confirms through its stream

    def replace(self, old, new, *, instrument, quote, now):
        raise NotImplementedError


@pytest.fixture
def broker(monkeypatch) -> BrokerLikeVenue:
    venue = BrokerLikeVenue()
    monkeypatch.setitem(venues._VENUES, AccountKind.LIVE, lambda: venue)
    return venue


@pytest.fixture
def live_account(user) -> TradingAccount:
    return TradingAccountFactory(owner=user, name="Broker", kind=AccountKind.LIVE)


def statuses_of(order: Order) -> list[str]:
    return list(order.events.order_by("sequence").values_list("status", flat=True))


def test_a_paper_account_trades_at_the_paper_venue(account):
    assert isinstance(venues.venue_for(account), venues.PaperVenue)


def test_a_broker_venue_plugs_in_and_its_reports_drive_the_order(live_account, btc, quote, broker):
    quote("BTC/USD", bid="100.00", ask="100.10")

    order = place(live_account, order_type="limit", quantity="3", limit_price="99.00")

    order.refresh_from_db()
    assert broker.calls == [("submit", str(order.pk))]
    assert (order.status, order.reserved_cash, statuses_of(order)) == ("new", Decimal("297"), ["new"])

    accepted = services.ReportedStatus(order_id=str(order.pk), status=OrderStatus.ACCEPTED)
    assert [services.record_status(accepted), services.record_status(accepted)] == [True, False]
    fills = [
        services.ReportedFill(
            str(order.pk), sequence, Decimal(quantity), Decimal("98.50"), Decimal(0), clock.now()
        )
        for sequence, quantity in ((2, "2"), (1, "1"))
    ]
    assert [services.record_fill(fill) for fill in fills] == [True, True]

    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.reserved_cash) == ("filled", Decimal("3"), 0)
    assert statuses_of(order) == ["new", "accepted", "partially_filled", "filled"]
    assert Position.objects.get(account=live_account, instrument=btc).quantity == Decimal("3")
    assert reconcile(live_account) == []


def test_a_cancel_at_a_broker_venue_waits_for_its_confirmation(live_account, btc, quote, broker):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(live_account, order_type="limit", quantity="1", limit_price="99.00")
    services.record_status(services.ReportedStatus(order_id=str(order.pk), status=OrderStatus.ACCEPTED))

    services.cancel_order(account=live_account, order_id=order.pk)
    order.refresh_from_db()
    assert (broker.calls[-1], order.status) == (("cancel", str(order.pk)), "accepted")

    services.record_status(services.ReportedStatus(order_id=str(order.pk), status=OrderStatus.CANCELED))
    order.refresh_from_db()
    assert (order.status, order.reason_code, order.reserved_cash) == ("canceled", "venue_canceled", 0)


# --- system cancels say why ------------------------------------------------------------------------


def last_event(order: Order) -> OrderEvent:
    return order.events.order_by("-sequence").first()


def test_a_fill_the_cash_cannot_pay_cancels_with_its_own_reason(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(account, order_type="limit", quantity="1", limit_price="90.00")
    TradingAccount.objects.filter(pk=account.pk).update(cash=Decimal("10"))  # spent elsewhere

    quote("BTC/USD", bid="89.00", ask="89.10")
    assert services.evaluate_symbol("BTC/USD") == 1

    order.refresh_from_db()
    event = last_event(order)
    assert (order.status, order.reason_code) == ("canceled", "insufficient_buying_power")
    assert (event.reason_code, event.message) == ("insufficient_buying_power", order.reason_message)
    assert "this fill needs" in order.reason_message
    assert replay(statuses_of(order)) == OrderStatus.CANCELED


def test_the_kill_switch_and_a_halt_are_named_in_the_events(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    first = place(account, order_type="limit", quantity="1", limit_price="90.00")
    services.set_kill_switch(engaged=True, reason="drill")
    services.set_kill_switch(engaged=False)
    second = place(account, order_type="limit", quantity="1", limit_price="90.00")

    services.cancel_all_orders(account=account, note=("account_halted", "Canceled: the account was halted."))

    assert (last_event(first).reason_code, last_event(first).message) == (
        "kill_switch",
        "Canceled by the platform's kill switch.",
    )
    second.refresh_from_db()
    assert (second.reason_code, last_event(second).reason_code) == ("account_halted", "account_halted")


def test_a_position_exit_cancels_the_symbols_orders_as_a_position_exit(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="4")
    resting = place(account, side="sell", order_type="limit", quantity="4", limit_price="150.00")
    set_position_exits(
        account=account, symbol="BTC/USD", stop_loss_price=Decimal("90.00"), take_profit_price=None
    )

    quote("BTC/USD", bid="89.90", ask="90.00", last="89.95")
    services.evaluate_symbol("BTC/USD")

    resting.refresh_from_db()
    assert (resting.status, resting.reason_code, last_event(resting).reason_code) == (
        "canceled",
        Reason.POSITION_EXIT,
        Reason.POSITION_EXIT,
    )


def test_a_replaced_order_ends_through_the_state_machine(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    old = place(account, order_type="limit", quantity="1", limit_price="90.00")

    new = services.replace_order(
        account=account, order_id=old.pk, changes=services.Replacement(limit_price=Decimal("91.00"))
    )

    old.refresh_from_db()
    event = last_event(old)
    assert (old.status, old.reason_code, old.reserved_cash) == ("replaced", "replaced", 0)
    assert (event.kind, event.status, event.reason_code) == ("replace", "replaced", "replaced")
    assert (new.replaces_id, new.status, statuses_of(new)) == (old.pk, "accepted", ["new", "accepted"])


def test_a_partial_venue_fill_releases_the_filled_part_of_the_reservation(live_account, btc, quote, broker):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(live_account, order_type="limit", quantity="2", limit_price="95.00")
    services.record_status(services.ReportedStatus(order_id=str(order.pk), status=OrderStatus.ACCEPTED))

    services.record_fill(
        services.ReportedFill(str(order.pk), 1, Decimal(1), Decimal("95.00"), Decimal(0), clock.now())
    )

    order.refresh_from_db()
    # the cash paid for the filled unit left the account; only the unfilled unit is still held back
    assert (order.status, order.reserved_cash) == ("partially_filled", Decimal(95))
