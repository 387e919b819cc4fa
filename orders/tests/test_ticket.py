"""The order ticket's review estimate: the one reference-price rule, times the quantity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.tests.factories import quote_at
from orders.ticket import estimate_order

QUOTE = quote_at("BTC/USD", bid="99.00", ask="101.00")


def ticket(order_type: str, side: str = "buy", **fields: str) -> dict[str, object]:
    data: dict[str, object] = {"order_type": order_type, "side": side, "quantity": Decimal(2)}
    data.update({name: Decimal(value) for name, value in fields.items()})
    return data


@pytest.mark.parametrize(
    ("data", "quote", "price"),
    [
        (ticket("market"), QUOTE, Decimal("101.00")),  # a buy takes the ask
        (ticket("market", "sell"), QUOTE, Decimal("99.00")),  # a sell the bid
        (ticket("market"), None, None),  # no quote, no estimate
        (ticket("limit", limit_price="95.00"), QUOTE, Decimal("95.00")),
        (ticket("stop_limit", "sell", limit_price="90.00", stop_price="91.00"), QUOTE, Decimal("90.00")),
        # a stop at the book or its stop, whichever is worse for the account
        (ticket("stop", stop_price="105.00"), QUOTE, Decimal("105.00")),
        (ticket("stop", stop_price="100.00"), QUOTE, Decimal("101.00")),
        (ticket("stop", "sell", stop_price="98.00"), None, Decimal("98.00")),
        (ticket("trailing_stop", "sell", trail="1.00"), QUOTE, Decimal("99.00")),
    ],
)
def test_the_estimate_uses_the_reference_price_rule(data, quote, price):
    estimate = estimate_order(data, quote)

    assert estimate["price"] == price
    assert estimate["amount"] == (None if price is None else price * 2)


def test_a_dollar_amount_is_the_estimate_amount():
    data = {"order_type": "market", "side": "buy", "quantity": None, "notional": Decimal("500.00")}

    assert estimate_order(data, QUOTE) == {"price": Decimal("101.00"), "amount": Decimal("500.00")}
