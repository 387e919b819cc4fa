"""A new quote reaches resting orders through the real path: the feed's quote hook enqueues
orders.evaluate_symbol on the broker, a real Celery worker fills the order."""

import pytest

from marketdata.hooks import dispatch_quotes
from marketdata.quotes import store_quotes
from orders.tests.factories import place, quote_at
from tradeapp.testing.wait import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_a_quote_through_the_hook_fills_a_resting_limit_on_a_worker(
    account, btc, quote, celery_worker_thread
):
    quote("BTC/USD", bid="100.00", ask="100.10")
    order = place(account, order_type="limit", quantity="1", limit_price="99.00")

    crossing = quote_at("BTC/USD", bid="98.80", ask="98.90")
    store_quotes([crossing])
    dispatch_quotes([crossing])

    def filled() -> bool:
        order.refresh_from_db()
        return order.status == "filled"

    wait_until(filled, message=lambda: f"order still {order.status}")
    assert (order.status, str(order.average_fill_price.normalize())) == ("filled", "98.9")
