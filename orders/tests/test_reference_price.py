"""The one reference-price rule (orders.matching.reference_price / expected_fill_price)."""

from decimal import Decimal

import pytest

from orders.matching import BpsSlippage, NoSlippage, expected_fill_price, reference_price
from orders.states import OrderType, Side


@pytest.mark.parametrize(
    ("side", "order_type", "limit", "stop", "book", "expected"),
    [
        (Side.BUY, OrderType.MARKET, None, None, Decimal("10.05"), Decimal("10.05")),
        (Side.SELL, OrderType.MARKET, None, None, None, None),
        (Side.BUY, OrderType.LIMIT, Decimal("9.50"), None, Decimal("10.05"), Decimal("9.50")),
        (
            Side.SELL,
            OrderType.STOP_LIMIT,
            Decimal("9.00"),
            Decimal("9.10"),
            Decimal("10.00"),
            Decimal("9.00"),
        ),
        # a stop is assumed at the book or its stop, whichever is worse for the account
        (Side.BUY, OrderType.STOP, None, Decimal("11.00"), Decimal("10.05"), Decimal("11.00")),
        (Side.BUY, OrderType.STOP, None, Decimal("9.00"), Decimal("10.05"), Decimal("10.05")),
        (Side.SELL, OrderType.STOP, None, Decimal("9.00"), Decimal("10.00"), Decimal("9.00")),
        (Side.SELL, OrderType.STOP, None, Decimal("9.00"), None, Decimal("9.00")),
        (Side.SELL, OrderType.TRAILING_STOP, None, None, Decimal("10.00"), Decimal("10.00")),
    ],
)
def test_reference_price(side, order_type, limit, stop, book, expected):
    assert reference_price(side, order_type, limit_price=limit, stop_price=stop, book=book) == expected


def test_expected_fill_price_adds_slippage_only_to_marketable_orders():
    slippage = BpsSlippage(Decimal(100))
    market = expected_fill_price(
        Side.BUY,
        OrderType.MARKET,
        limit_price=None,
        stop_price=None,
        book=Decimal("10.00"),
        slippage=slippage,
        tick_size=Decimal("0.01"),
    )
    limit = expected_fill_price(
        Side.BUY,
        OrderType.LIMIT,
        limit_price=Decimal("9.99"),
        stop_price=None,
        book=Decimal("10.00"),
        slippage=slippage,
        tick_size=Decimal("0.01"),
    )
    stop = expected_fill_price(
        Side.SELL,
        OrderType.STOP,
        limit_price=None,
        stop_price=Decimal("9.00"),
        book=Decimal("10.00"),
        slippage=NoSlippage(),
        tick_size=Decimal("0.01"),
    )
    assert (market, limit, stop) == (Decimal("10.10"), Decimal("9.99"), Decimal("9.00"))
