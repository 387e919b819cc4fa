"""Bracket, OCO and OTO group rules (pure, no Django): which legs to activate, resize or cancel.

The functions look at a :class:`ContingentGroup` (the CURRENT state of every order in it, after the
event was applied) and answer with a list of actions; :func:`apply_action` turns one action into the
order's next state. The caller (paper venue, backtester) persists that state and its events.

Rules, with ``position = parent.filled_quantity - sum(leg.filled_quantity)`` for bracket and OTO:

- Bracket = entry + take-profit (limit) + stop-loss (stop, stop-limit or trailing stop), the legs on
  the opposite side of the entry. Legs start HELD (``new -> held``, :func:`open_leg`) and never match
  while held.
- When the entry fills, fully or partially, every held leg is activated (``ActivateLeg``) and every
  active leg resized (``ResizeLeg``) so that its remaining quantity equals ``position``: the legs always
  protect exactly what the entry has bought (or sold) and not yet closed.
- The two legs are one-cancels-other: when a leg fills COMPLETELY, its sibling is canceled
  (``oco_sibling_filled``) and an entry that is still working is canceled too (``bracket_exit_filled``:
  the round trip is over and a later entry fill would be unprotected). When a leg fills PARTIALLY, its
  sibling is resized to the remaining position.
- Canceling (or expiry / rejection of) the entry before any fill cancels the legs (``parent_canceled``);
  after a partial fill the legs stay, sized to the position. Canceling a leg by hand touches nothing
  else.
- OTO = parent + one child: the child is held and activated on the parent's fill, sized like a bracket
  leg (its quantity follows the parent's filled quantity); the child's own fills do not affect the
  parent. Parent canceled before any fill -> child canceled (``parent_canceled``).
- OCO = two working orders: any fill on one (even partial) cancels the other (``oco_sibling_filled``).
  Unlike bracket legs a plain OCO knows no position, so it cannot resize.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from orders.matching import MatchResult, OrderProblem, WorkingOrder, cancel_order
from orders.states import (
    TERMINAL_STATUSES,
    OrderClass,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    is_open,
    transition,
)

_LEG_COUNT = {OrderClass.BRACKET: 2, OrderClass.OTO: 1, OrderClass.OCO: 2}
_STOP_LOSS_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})


@dataclass(frozen=True, slots=True)
class ContingentGroup:
    """Orders linked by a contingency. ``parent`` is the bracket entry / OTO parent (None for OCO);
    ``legs`` are ``(take_profit, stop_loss)`` for a bracket, ``(child,)`` for OTO, the two orders for
    OCO. Build with :func:`bracket`, :func:`oto` or :func:`oco`."""

    order_class: OrderClass
    parent: WorkingOrder | None
    legs: tuple[WorkingOrder, ...]

    def __post_init__(self) -> None:
        if self.order_class not in _LEG_COUNT:
            raise ValueError(f"{self.order_class} is not a contingent order class")
        if len(self.legs) != _LEG_COUNT[self.order_class]:
            raise ValueError(f"a {self.order_class} group has {_LEG_COUNT[self.order_class]} legs")
        if (self.parent is None) != (self.order_class == OrderClass.OCO):
            raise ValueError("bracket and OTO groups have a parent; OCO groups do not")
        ids = [order.order_id for order in self.orders]
        if len(set(ids)) != len(ids):
            raise ValueError("order ids in a group must be distinct")

    @property
    def orders(self) -> tuple[WorkingOrder, ...]:
        return self.legs if self.parent is None else (self.parent, *self.legs)

    @property
    def position(self) -> Decimal:
        """Bracket / OTO: quantity the parent has filled that the legs have not yet closed."""
        if self.parent is None:
            raise ValueError("an OCO group has no parent position")
        return self.parent.filled_quantity - sum((leg.filled_quantity for leg in self.legs), Decimal(0))

    def order(self, order_id: str) -> WorkingOrder:
        for order in self.orders:
            if order.order_id == order_id:
                return order
        raise ValueError(f"order {order_id} is not in this group")

    def with_order(self, order: WorkingOrder) -> ContingentGroup:
        """The group with ``order`` (same id) replaced by its new state."""
        self.order(order.order_id)
        if self.parent is not None and self.parent.order_id == order.order_id:
            return dataclasses.replace(self, parent=order)
        legs = tuple(order if leg.order_id == order.order_id else leg for leg in self.legs)
        return dataclasses.replace(self, legs=legs)


def bracket(entry: WorkingOrder, take_profit: WorkingOrder, stop_loss: WorkingOrder) -> ContingentGroup:
    return ContingentGroup(OrderClass.BRACKET, entry, (take_profit, stop_loss))


def oto(parent: WorkingOrder, child: WorkingOrder) -> ContingentGroup:
    return ContingentGroup(OrderClass.OTO, parent, (child,))


def oco(first: WorkingOrder, second: WorkingOrder) -> ContingentGroup:
    return ContingentGroup(OrderClass.OCO, None, (first, second))


def open_leg(leg: WorkingOrder, order_class: OrderClass) -> MatchResult:
    """A new leg's first status: the second order of an OCO works at once (``new -> accepted``); a
    bracket or OTO leg waits for its entry's fill (``new -> held``)."""
    target = OrderStatus.ACCEPTED if order_class == OrderClass.OCO else OrderStatus.HELD
    status = transition(leg.status, target)
    return MatchResult(dataclasses.replace(leg, status=status), changed=True, statuses=(status,))


@dataclass(frozen=True, slots=True)
class ActivateLeg:
    """Held leg -> accepted, with ``quantity`` as its (total) quantity."""

    order_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class ResizeLeg:
    """Set an active leg's total ``quantity`` (always above what it has filled)."""

    order_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str
    reason: Reason


Action: TypeAlias = ActivateLeg | ResizeLeg | CancelOrder


def after_fill(group: ContingentGroup, filled_order_id: str) -> list[Action]:
    """Actions after ``filled_order_id`` received a fill; ``group`` already holds its new state."""
    filled = group.order(filled_order_id)
    if group.parent is None:  # OCO
        (other,) = (leg for leg in group.legs if leg.order_id != filled_order_id)
        if filled.filled_quantity > 0 and is_open(other.status):
            return [CancelOrder(other.order_id, Reason.OCO_SIBLING_FILLED)]
        return []
    if filled.order_id == group.parent.order_id:
        return _size_legs(group)
    if group.order_class == OrderClass.OTO:
        return []  # the child's fills do not concern the parent

    parent = group.parent
    (sibling,) = (leg for leg in group.legs if leg.order_id != filled_order_id)
    actions: list[Action] = []
    if filled.status == OrderStatus.FILLED or group.position <= 0:
        if is_open(sibling.status):
            actions.append(CancelOrder(sibling.order_id, Reason.OCO_SIBLING_FILLED))
        if is_open(parent.status):
            actions.append(CancelOrder(parent.order_id, Reason.BRACKET_EXIT_FILLED))
        return actions
    return _size_legs(group)


def after_cancel(group: ContingentGroup, order_id: str) -> list[Action]:
    """Actions after ``order_id`` ended without a complete fill (canceled, expired or rejected)."""
    order = group.order(order_id)
    parent = group.parent
    if parent is None or order.order_id != parent.order_id or parent.filled_quantity > 0:
        return []
    return [CancelOrder(leg.order_id, Reason.PARENT_CANCELED) for leg in group.legs if is_open(leg.status)]


def _size_legs(group: ContingentGroup) -> list[Action]:
    """Activate held legs / resize active ones so each leg's remaining quantity equals the position."""
    position = group.position
    actions: list[Action] = []
    for leg in group.legs:
        if leg.status in TERMINAL_STATUSES:
            continue
        target = leg.filled_quantity + position
        if leg.status == OrderStatus.HELD:
            if position > 0:
                actions.append(ActivateLeg(leg.order_id, target))
        elif target != leg.quantity and target > leg.filled_quantity:
            actions.append(ResizeLeg(leg.order_id, target))
    return actions


def apply_action(order: WorkingOrder, action: Action) -> MatchResult:
    """The next state of ``order`` under ``action`` (checked against the transition table).

    ``statuses`` in the result lists the statuses entered, one ``OrderEvent`` each; a resize changes no
    status. Canceling a terminal order returns it unchanged. Raises ValueError when the action is for
    another order or would shrink a leg to or below its filled quantity.
    """
    if action.order_id != order.order_id:
        raise ValueError(f"action for {action.order_id} applied to order {order.order_id}")
    if isinstance(action, CancelOrder):
        return cancel_order(order, action.reason)
    if action.quantity <= order.filled_quantity:
        raise ValueError(f"order {order.order_id} cannot be sized to {action.quantity}: it filled more")
    if isinstance(action, ActivateLeg):
        status = transition(order.status, OrderStatus.ACCEPTED)
        activated = dataclasses.replace(order, status=status, quantity=action.quantity)
        return MatchResult(activated, changed=True, statuses=(status,))
    if order.status in TERMINAL_STATUSES:
        raise ValueError(f"order {order.order_id} is {order.status}: it cannot be resized")
    return MatchResult(dataclasses.replace(order, quantity=action.quantity), changed=True)


def group_problems(group: ContingentGroup) -> list[OrderProblem]:
    """Structural and price consistency of a group at placement; an empty list means sound.

    Codes: ``invalid_group`` (symbols differ; bracket legs on the entry's side, of the wrong type, or
    of another quantity) and ``inconsistent_prices`` (a bracket whose take-profit is not beyond its
    stop-loss, or whose limit entry is not between them)."""
    symbols = {order.symbol for order in group.orders}
    problems: list[OrderProblem] = []
    if len(symbols) > 1:
        problems.append(OrderProblem("symbol", "invalid_group", "all orders of a group trade one symbol"))
    if group.order_class == OrderClass.BRACKET and group.parent is not None:
        problems.extend(_bracket_problems(group.parent, *group.legs))
    return problems


def _bracket_problems(
    entry: WorkingOrder, take_profit: WorkingOrder, stop_loss: WorkingOrder
) -> list[OrderProblem]:
    problems: list[OrderProblem] = []
    for field, leg in (("take_profit", take_profit), ("stop_loss", stop_loss)):
        if leg.side == entry.side:
            problems.append(OrderProblem(field, "invalid_group", "a bracket leg trades against the entry"))
        if leg.quantity != entry.quantity:
            problems.append(OrderProblem(field, "invalid_group", "a bracket leg has the entry's quantity"))
    if take_profit.order_type != OrderType.LIMIT:
        problems.append(OrderProblem("take_profit", "invalid_group", "the take-profit is a limit order"))
    if stop_loss.order_type not in _STOP_LOSS_TYPES:
        problems.append(
            OrderProblem("stop_loss", "invalid_group", "the stop-loss is a stop, stop-limit or trailing stop")
        )
    profit, loss = take_profit.limit_price, stop_loss.stop_price
    if profit is None or loss is None:  # missing prices are validate_order's business
        return problems
    # a long entry exits higher at the profit target than at the stop; a short one mirrors it
    low, high = (loss, profit) if entry.side == Side.BUY else (profit, loss)
    if not low < high:
        problems.append(
            OrderProblem("take_profit", "inconsistent_prices", "take-profit must be beyond the stop-loss")
        )
    elif (
        entry.order_type == OrderType.LIMIT
        and entry.limit_price is not None
        and not low < entry.limit_price < high
    ):
        message = "a limit entry lies between stop-loss and take-profit"
        problems.append(OrderProblem("limit_price", "inconsistent_prices", message))
    return problems
