"""The order vocabulary and its one state machine (pure, no Django): statuses, transitions, reasons.

Every status change of an order goes through :func:`transition`, which checks it against the single
table :data:`TRANSITIONS` and raises :class:`IllegalTransition` otherwise. An order's status can be
rebuilt from its event log with :func:`replay`. Models build their ``TextChoices`` from these values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

# the side of an order is the ledger's word for the side of a fill (re-exported here)
from portfolio.ledger import Side as Side


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


class OrderStatus(StrEnum):
    """``held`` is a contingent leg waiting for its parent (bracket/OTO legs before the entry fills)."""

    NEW = "new"
    HELD = "held"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    EXPIRED = "expired"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why an order ended (canceled, expired, rejected or replaced): stored on the order and its event.

    Only ``user_canceled`` means the owner asked; every cancel the system makes on its own names its
    cause, so the audit trail never says "at your request" for something the user did not do."""

    IOC_UNFILLED = "ioc_unfilled"
    FOK_UNFILLABLE = "fok_unfillable"
    DAY_SESSION_CLOSED = "day_session_closed"
    EXPIRY_REACHED = "expiry_reached"  # a non-DAY order carrying an explicit ``expires_at``
    OCO_SIBLING_FILLED = "oco_sibling_filled"
    BRACKET_EXIT_FILLED = "bracket_exit_filled"  # an exit leg closed the position: entry remainder off
    PARENT_CANCELED = "parent_canceled"
    USER_CANCELED = "user_canceled"
    REPLACED = "replaced"  # a modified order took its place
    # system cancels
    INSUFFICIENT_BUYING_POWER = "insufficient_buying_power"  # its fill would take cash below zero
    KILL_SWITCH = "kill_switch"  # the platform's kill switch was engaged
    ACCOUNT_HALTED = "account_halted"  # an administrator halted the account
    POSITION_EXIT = "position_exit"  # the position's stop-loss / take-profit closed it
    # reported by a broker venue
    VENUE_REJECTED = "venue_rejected"
    VENUE_CANCELED = "venue_canceled"


_S = OrderStatus

TERMINAL_STATUSES: frozenset[OrderStatus] = frozenset(
    {_S.FILLED, _S.CANCELED, _S.REPLACED, _S.EXPIRED, _S.REJECTED}
)
OPEN_STATUSES: frozenset[OrderStatus] = frozenset(
    {_S.NEW, _S.HELD, _S.ACCEPTED, _S.PARTIALLY_FILLED, _S.PENDING_CANCEL, _S.PENDING_REPLACE}
)

TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.NEW: frozenset({_S.ACCEPTED, _S.REJECTED, _S.HELD}),
        _S.HELD: frozenset({_S.ACCEPTED, _S.CANCELED, _S.EXPIRED}),
        _S.ACCEPTED: frozenset(
            {
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.PENDING_CANCEL,
                _S.CANCELED,
                _S.PENDING_REPLACE,
                _S.REPLACED,
                _S.EXPIRED,
                _S.REJECTED,
            }
        ),
        _S.PARTIALLY_FILLED: frozenset(
            {
                _S.PARTIALLY_FILLED,
                _S.FILLED,
                _S.PENDING_CANCEL,
                _S.CANCELED,
                _S.PENDING_REPLACE,
                _S.REPLACED,
                _S.EXPIRED,
            }
        ),
        # a fill can race a cancel; a cancel the venue refuses returns the order to accepted
        _S.PENDING_CANCEL: frozenset({_S.CANCELED, _S.PARTIALLY_FILLED, _S.FILLED, _S.ACCEPTED}),
        _S.PENDING_REPLACE: frozenset({_S.REPLACED, _S.PARTIALLY_FILLED, _S.FILLED, _S.ACCEPTED}),
        **{status: frozenset() for status in TERMINAL_STATUSES},
    }
)


class IllegalTransition(ValueError):
    """``current -> target`` is not in :data:`TRANSITIONS`."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"illegal order transition {current} -> {target}")
        self.current = current
        self.target = target


def transition(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """Return ``target`` when ``current -> target`` is legal, else raise :class:`IllegalTransition`."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def is_terminal(status: OrderStatus) -> bool:
    return status in TERMINAL_STATUSES


def is_open(status: OrderStatus) -> bool:
    return status in OPEN_STATUSES


def replay(statuses: Iterable[OrderStatus]) -> OrderStatus:
    """Rebuild the final status from an order's event sequence, starting at NEW, checking every step.

    The sequence holds the statuses the order moved INTO (a leading ``new`` is accepted and skipped, so
    both ``[new, accepted]`` and ``[accepted]`` give ``accepted``); an illegal step raises.
    """
    current = OrderStatus.NEW
    for index, value in enumerate(statuses):
        status = OrderStatus(value)
        if index == 0 and status == OrderStatus.NEW:
            continue
        current = transition(current, status)
    return current
