"""The one equity-percent sizing rule (sdk.size_equity_percent) the engine and the runtime share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.matching import BpsCommission, NoCommission
from strategies import sdk


def test_sizes_the_largest_lot_multiple_whose_cost_and_commission_fit():
    quantity = sdk.size_equity_percent(
        Decimal(50),
        equity=Decimal(10_000),
        price=Decimal("99.00"),
        lot_size=Decimal(1),
        min_quantity=Decimal(1),
        commission=BpsCommission(Decimal(10)),
    )

    assert quantity == sdk.size_for_budget(
        Decimal(5_000), Decimal("99.00"), lot_size=Decimal(1), commission=BpsCommission(Decimal(10))
    )
    assert quantity == 50  # 50 * 99 * 1.001 = 4,954.95 fits, 51 does not


def test_below_the_minimum_quantity_is_a_stated_problem():
    with pytest.raises(sdk.StrategyProblem) as raised:
        sdk.size_equity_percent(
            Decimal(1),
            equity=Decimal(1_000),
            price=Decimal("250.00"),
            lot_size=Decimal(1),
            min_quantity=Decimal(1),
            commission=NoCommission(),
        )

    assert (raised.value.code, raised.value.field) == ("below_min_quantity", "equity_percent")
    assert raised.value.message == (
        "1% of equity (10.00) buys less than the minimum quantity of 1 at 250.00."
    )
