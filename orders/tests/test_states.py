"""The order state machine: every legal transition works, every other pair raises, replay rebuilds."""

from __future__ import annotations

import itertools

import pytest

from orders.states import (
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    IllegalTransition,
    OrderStatus,
    is_open,
    is_terminal,
    replay,
    transition,
)

S = OrderStatus
ALL_PAIRS = list(itertools.product(S, S))
LEGAL = [(current, target) for current, target in ALL_PAIRS if target in TRANSITIONS[current]]
ILLEGAL = [(current, target) for current, target in ALL_PAIRS if target not in TRANSITIONS[current]]

EXPECTED_TABLE = {
    S.NEW: {S.ACCEPTED, S.REJECTED, S.HELD},
    S.HELD: {S.ACCEPTED, S.CANCELED, S.EXPIRED},
    S.ACCEPTED: {
        S.PARTIALLY_FILLED,
        S.FILLED,
        S.PENDING_CANCEL,
        S.CANCELED,
        S.PENDING_REPLACE,
        S.REPLACED,
        S.EXPIRED,
        S.REJECTED,
    },
    S.PARTIALLY_FILLED: {
        S.PARTIALLY_FILLED,
        S.FILLED,
        S.PENDING_CANCEL,
        S.CANCELED,
        S.PENDING_REPLACE,
        S.REPLACED,
        S.EXPIRED,
    },
    S.PENDING_CANCEL: {S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.ACCEPTED},
    S.PENDING_REPLACE: {S.REPLACED, S.PARTIALLY_FILLED, S.FILLED, S.ACCEPTED},
    S.FILLED: set(),
    S.CANCELED: set(),
    S.REPLACED: set(),
    S.EXPIRED: set(),
    S.REJECTED: set(),
}


def test_the_table_is_the_documented_one() -> None:
    assert {status: set(targets) for status, targets in TRANSITIONS.items()} == EXPECTED_TABLE


def test_the_table_covers_every_status_and_cannot_be_edited() -> None:
    assert set(TRANSITIONS) == set(S)
    with pytest.raises(TypeError):
        TRANSITIONS[S.NEW] = frozenset()  # type: ignore[index]


def test_open_and_terminal_statuses_partition_all_statuses() -> None:
    assert set(S) == OPEN_STATUSES | TERMINAL_STATUSES
    assert not OPEN_STATUSES & TERMINAL_STATUSES
    assert {S.FILLED, S.CANCELED, S.REPLACED, S.EXPIRED, S.REJECTED} == TERMINAL_STATUSES


@pytest.mark.parametrize("status", list(S))
def test_terminal_statuses_have_no_way_out_and_open_ones_do(status: OrderStatus) -> None:
    assert is_terminal(status) == (not TRANSITIONS[status])
    assert is_open(status) == (not is_terminal(status))


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{c}->{t}" for c, t in LEGAL])
def test_legal_transition_returns_the_target(current: OrderStatus, target: OrderStatus) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{c}->{t}" for c, t in ILLEGAL])
def test_illegal_transition_raises_with_both_ends(current: OrderStatus, target: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(current, target)

    assert (caught.value.current, caught.value.target) == (current, target)
    assert isinstance(caught.value, ValueError)
    assert f"{current} -> {target}" in str(caught.value)


def test_transition_accepts_plain_strings_from_the_database() -> None:
    assert transition("accepted", "filled") == S.FILLED  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("events", "final"),
    [
        ([], S.NEW),
        ([S.NEW], S.NEW),
        ([S.NEW, S.ACCEPTED], S.ACCEPTED),
        ([S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED], S.FILLED),
        ([S.NEW, S.HELD, S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.CANCELED], S.CANCELED),
        ([S.ACCEPTED, S.PENDING_CANCEL, S.FILLED], S.FILLED),
        ([S.ACCEPTED, S.PENDING_CANCEL, S.ACCEPTED, S.EXPIRED], S.EXPIRED),
        ([S.ACCEPTED, S.PENDING_REPLACE, S.REPLACED], S.REPLACED),
        ([S.HELD, S.CANCELED], S.CANCELED),
        (["new", "rejected"], S.REJECTED),
    ],
)
def test_replay_rebuilds_the_final_status(events: list[OrderStatus], final: OrderStatus) -> None:
    assert replay(events) == final


@pytest.mark.parametrize(
    "events",
    [
        [S.FILLED],
        [S.ACCEPTED, S.FILLED, S.CANCELED],
        [S.ACCEPTED, S.NEW],
        [S.HELD, S.FILLED],
        [S.NEW, S.NEW],
        [S.ACCEPTED, S.REJECTED, S.ACCEPTED],
    ],
)
def test_replay_refuses_an_impossible_history(events: list[OrderStatus]) -> None:
    with pytest.raises(IllegalTransition):
        replay(events)


def test_replay_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="is not a valid OrderStatus"):
        replay(["new", "sent"])  # type: ignore[list-item]
