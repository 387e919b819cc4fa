"""The status changes outside matching on prices, as pure functions: expiry, replace, a new leg's
first status, and a broker venue's reports (fills in any order, statuses repeated or late)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders.contingent import open_leg
from orders.matching import (
    Fill,
    FillExceedsQuantity,
    MatchResult,
    WorkingOrder,
    apply_reported_fill,
    apply_reported_status,
    expire_order,
    replace_order,
)
from orders.states import (
    IllegalTransition,
    OrderClass,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
    replay,
)
from orders.tests.working import working_order

D = Decimal
S = OrderStatus
T0 = datetime(2025, 11, 26, 14, 30, tzinfo=UTC)


def make_order(**changes: object) -> WorkingOrder:
    """A resting limit buy of 10 at 100.00 unless changed."""
    defaults: dict[str, object] = {
        "order_type": OrderType.LIMIT,
        "quantity": D("10"),
        "limit_price": D("100.00"),
    }
    return working_order(**(defaults | changes))


def make_fill(sequence: int, quantity: str, price: str) -> Fill:
    return Fill("o-1", "AAPL", Side.BUY, D(quantity), D(price), D(0), T0, sequence)


# --- expiry ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_in_force", "reason"),
    [(TimeInForce.DAY, Reason.DAY_SESSION_CLOSED), (TimeInForce.GTC, Reason.EXPIRY_REACHED)],
)
def test_a_working_order_expires_at_its_expiry_with_the_reason_of_its_time_in_force(time_in_force, reason):
    order = make_order(time_in_force=time_in_force, expires_at=T0, status=S.PARTIALLY_FILLED)

    result = expire_order(order, T0)

    assert (result.order.status, result.reason, result.statuses, result.changed) == (
        S.EXPIRED,
        reason,
        (S.EXPIRED,),
        True,
    )


@pytest.mark.parametrize(
    "order",
    [
        make_order(expires_at=T0 + timedelta(seconds=1)),
        make_order(expires_at=None),
        make_order(expires_at=T0, status=S.HELD),
        make_order(expires_at=T0, status=S.NEW),
        make_order(expires_at=T0, status=S.FILLED),
    ],
)
def test_expiry_leaves_everything_else_unchanged(order):
    assert expire_order(order, T0) == MatchResult(order)


# --- replace ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_REPLACE])
def test_replace_ends_a_working_order_as_replaced_and_keeps_its_fills(status):
    order = make_order(status=status, filled_quantity=D("4"), average_fill_price=D("99"), fill_count=1)

    result = replace_order(order)

    assert result.order == dataclasses.replace(order, status=S.REPLACED)
    assert (result.reason, result.statuses, result.fills, result.changed) == (
        Reason.REPLACED,
        (S.REPLACED,),
        (),
        True,
    )


@pytest.mark.parametrize("status", [S.NEW, S.HELD, S.FILLED, S.CANCELED, S.REPLACED])
def test_an_order_that_is_not_working_cannot_be_replaced(status):
    with pytest.raises(IllegalTransition):
        replace_order(make_order(status=status))


# --- a new leg -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_class", "status"),
    [(OrderClass.BRACKET, S.HELD), (OrderClass.OTO, S.HELD), (OrderClass.OCO, S.ACCEPTED)],
)
def test_a_new_leg_waits_for_its_entry_unless_it_is_half_of_an_oco(order_class, status):
    leg = make_order(status=S.NEW)

    result = open_leg(leg, order_class)

    assert (result.order.status, result.statuses, result.changed) == (status, (status,), True)
    assert replay([S.NEW, *result.statuses]) == status


# --- fills a venue reports -------------------------------------------------------------------------


def test_a_reported_fill_moves_filled_quantity_average_and_count():
    order = make_order()

    first = apply_reported_fill(order, make_fill(1, "4", "100"))
    second = apply_reported_fill(first.order, make_fill(2, "6", "90"), [make_fill(1, "4", "100")])

    assert (first.order.status, first.order.filled_quantity, first.order.fill_count) == (
        S.PARTIALLY_FILLED,
        D("4"),
        1,
    )
    assert (second.order.status, second.order.filled_quantity, second.order.average_fill_price) == (
        S.FILLED,
        D("10"),
        D("94"),
    )
    assert second.fills == (make_fill(2, "6", "90"),)
    assert replay([S.NEW, S.ACCEPTED, *first.statuses, *second.statuses]) == S.FILLED


def test_reports_in_any_order_end_in_the_same_state():
    fills = [make_fill(1, "2", "100.01"), make_fill(2, "3", "99.97"), make_fill(3, "5", "100.05")]
    finals = set()
    for permutation in itertools.permutations(fills):
        order, stored = make_order(), []
        for fill in permutation:
            order = apply_reported_fill(order, fill, stored).order
            stored.append(fill)
        finals.add((order.status, order.filled_quantity, order.average_fill_price, order.fill_count))

    assert finals == {(S.FILLED, D("10"), D("100.018"), 3)}


def test_a_fill_on_an_order_not_yet_acknowledged_accepts_it_first():
    result = apply_reported_fill(make_order(status=S.NEW), make_fill(1, "10", "100"))

    assert result.statuses == (S.ACCEPTED, S.FILLED)


def test_a_fill_beyond_the_quantity_is_refused():
    with pytest.raises(FillExceedsQuantity):
        apply_reported_fill(make_order(), make_fill(2, "7", "100"), [make_fill(1, "4", "100")])


def test_a_fill_after_the_order_ended_is_an_illegal_transition():
    with pytest.raises(IllegalTransition):
        apply_reported_fill(make_order(status=S.CANCELED), make_fill(1, "1", "100"))


# --- statuses a venue reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "reported", "reason", "statuses"),
    [
        (S.NEW, S.ACCEPTED, None, (S.ACCEPTED,)),
        (S.PENDING_CANCEL, S.ACCEPTED, None, (S.ACCEPTED,)),  # the venue refused the cancel
        (S.NEW, S.REJECTED, Reason.VENUE_REJECTED, (S.REJECTED,)),
        (S.ACCEPTED, S.CANCELED, Reason.VENUE_CANCELED, (S.CANCELED,)),
        (S.NEW, S.CANCELED, Reason.VENUE_CANCELED, (S.ACCEPTED, S.CANCELED)),
        (S.PARTIALLY_FILLED, S.EXPIRED, Reason.EXPIRY_REACHED, (S.EXPIRED,)),
        (S.PENDING_CANCEL, S.CANCELED, Reason.VENUE_CANCELED, (S.CANCELED,)),
    ],
)
def test_a_reported_status_moves_the_order_along_legal_transitions(current, reported, reason, statuses):
    result = apply_reported_status(make_order(status=current), reported)

    assert (result.order.status, result.reason, result.statuses, result.changed) == (
        reported,
        reason,
        statuses,
        True,
    )


@pytest.mark.parametrize(
    ("current", "reported"),
    [
        (S.ACCEPTED, S.ACCEPTED),  # a repeat
        (S.PARTIALLY_FILLED, S.ACCEPTED),  # late: it has filled since
        (S.PARTIALLY_FILLED, S.REJECTED),
        (S.FILLED, S.CANCELED),  # the fill won the race
        (S.CANCELED, S.CANCELED),
    ],
)
def test_a_report_that_no_longer_applies_changes_nothing(current, reported):
    order = make_order(status=current)

    assert apply_reported_status(order, reported) == MatchResult(order)


def test_a_reported_status_keeps_the_venues_reason():
    result = apply_reported_status(make_order(), S.CANCELED, Reason.KILL_SWITCH)

    assert result.reason == Reason.KILL_SWITCH


def test_fills_are_not_reported_as_statuses():
    with pytest.raises(ValueError, match="apply_reported_fill"):
        apply_reported_status(make_order(), S.FILLED)
