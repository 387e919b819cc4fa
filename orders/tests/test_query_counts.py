"""The order round trip stays cheap: each use case runs within a fixed budget of SQL statements
(savepoints included), measured when the budgets were set; a change that adds a query per order
fails here first. Lower the budgets when a change saves queries."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order
from orders.tests.factories import place, request
from tradeapp.core import clock

pytestmark = pytest.mark.django_db


def test_a_market_order_that_fills(account, btc, quote, django_assert_max_num_queries):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="1")  # the first fill creates the position row

    with django_assert_max_num_queries(13):
        place(account, quantity="1")


def test_a_resting_limit_order(account, btc, quote, django_assert_max_num_queries):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, order_type="limit", quantity="1", limit_price="90.00")

    with django_assert_max_num_queries(9):
        place(account, order_type="limit", quantity="1", limit_price="90.00")


def test_replace_then_cancel(account, btc, quote, django_assert_max_num_queries):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(account, order_type="limit", quantity="1", limit_price="90.00")

    with django_assert_max_num_queries(13):
        new = services.replace_order(
            account=account, order_id=order.pk, changes=services.Replacement(limit_price=Decimal("91.00"))
        )
    with django_assert_max_num_queries(7):
        services.cancel_order(account=account, order_id=new.pk)

    assert list(Order.objects.order_by("created_at").values_list("status", flat=True)) == [
        "replaced",
        "canceled",
    ]


def test_evaluation_that_fills_a_resting_order(account, btc, quote, django_assert_max_num_queries):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="1")
    place(account, order_type="limit", quantity="1", limit_price="90.00")
    quote("BTC/USD", bid="89.00", ask="89.10")

    with django_assert_max_num_queries(17):
        assert services.evaluate_symbol("BTC/USD") == 1


def test_a_bracket_whose_entry_fills(account, btc, quote, django_assert_max_num_queries):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="1")
    bracket = request(
        quantity="1",
        order_class="bracket",
        take_profit=services.LegRequest(order_type="limit", limit_price=Decimal("120.00")),
        stop_loss=services.LegRequest(order_type="stop", stop_price=Decimal("80.00")),
    )

    with django_assert_max_num_queries(24):
        services.place_order(account=account, request=bracket)

    assert set(Order.objects.filter(parent__isnull=False).values_list("status", flat=True)) == {"accepted"}


def test_a_reported_fill_and_its_redelivery(account, btc, quote, django_assert_max_num_queries):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="1")
    order = place(account, order_type="limit", quantity="2", limit_price="90.00")
    report = services.ReportedFill(
        order_id=str(order.pk),
        sequence=1,
        quantity=Decimal(1),
        price=Decimal("90.00"),
        commission=Decimal(0),
        executed_at=clock.now(),
    )

    with django_assert_max_num_queries(14):
        assert services.record_fill(report) is True
    with django_assert_max_num_queries(6):
        assert services.record_fill(report) is False
