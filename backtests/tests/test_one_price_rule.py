"""One reference-price rule everywhere an order's price is assumed: the risk check and reservations,
the order ticket's estimate, the paper runtime's sizing and the backtester all answer what
``orders.matching.reference_price`` answers. A second implementation that diverged fails here."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtests.engine import account as engine_account, loop as engine_loop
from orders import matching
from orders.services import persistence
from orders.states import OrderType, Side, TimeInForce
from orders.tests.factories import quote_at
from orders.ticket import estimate_order
from strategies import runtime

CASES = [
    (Side.BUY, OrderType.MARKET, None, None),
    (Side.SELL, OrderType.MARKET, None, None),
    (Side.BUY, OrderType.LIMIT, "99.00", None),
    (Side.SELL, OrderType.STOP_LIMIT, "98.00", "98.50"),
    (Side.BUY, OrderType.STOP, None, "101.00"),
    (Side.BUY, OrderType.STOP, None, "99.00"),
    (Side.SELL, OrderType.STOP, None, "99.50"),
    (Side.SELL, OrderType.STOP, None, "101.00"),
]


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@pytest.mark.parametrize(("side", "order_type", "limit", "stop"), CASES)
@pytest.mark.parametrize("with_quote", [True, False])
def test_the_risk_check_and_the_ticket_price_an_order_by_the_one_rule(
    side, order_type, limit, stop, with_quote
):
    quote = quote_at("BTC/USD", bid="100.00", ask="100.10") if with_quote else None
    book = None if quote is None else (quote.ask if side == Side.BUY else quote.bid)
    expected = matching.reference_price(
        side, order_type, limit_price=_decimal(limit), stop_price=_decimal(stop), book=book
    )
    working = matching.WorkingOrder(
        order_id="o",
        symbol="BTC/USD",
        side=side,
        order_type=order_type,
        quantity=Decimal(1),
        time_in_force=TimeInForce.GTC,
        limit_price=_decimal(limit),
        stop_price=_decimal(stop),
    )
    ticket = {
        "side": side.value,
        "order_type": order_type.value,
        "limit_price": _decimal(limit),
        "stop_price": _decimal(stop),
        "quantity": Decimal(1),
    }

    assert persistence.reference_price(working, quote) == expected
    assert estimate_order(ticket, quote)["price"] == expected


def test_the_backtester_and_the_paper_runtime_call_the_one_rule():
    assert engine_account.reference_price is matching.reference_price
    assert engine_loop.expected_fill_price is matching.expected_fill_price
    assert runtime.expected_fill_price is matching.expected_fill_price
