"""The engine's own status changes go through orders.states.transition, the one writer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtests.engine.state import SimulatedOrder, move
from orders.states import IllegalTransition, OrderStatus, OrderType, Side
from strategies.sdk import OrderRequest


def new_order() -> SimulatedOrder:
    return SimulatedOrder("1", 0, OrderRequest("TEST", Side.BUY, OrderType.MARKET, Decimal(1)), 0)


def test_move_records_each_legal_step():
    order = new_order()

    move(order, OrderStatus.ACCEPTED, OrderStatus.FILLED)

    assert order.status == OrderStatus.FILLED
    assert order.statuses == [OrderStatus.ACCEPTED, OrderStatus.FILLED]


def test_move_refuses_an_illegal_step_and_changes_nothing_after_it():
    order = new_order()
    move(order, OrderStatus.REJECTED)

    with pytest.raises(IllegalTransition):
        move(order, OrderStatus.ACCEPTED)

    assert order.status == OrderStatus.REJECTED
    assert order.statuses == [OrderStatus.REJECTED]
