"""Contingent orders in the backtest (pure, no Django): the legs a bracket, OTO or OCO request asks for,
validated and grouped by ``orders.contingent`` exactly as the paper broker groups them."""

from __future__ import annotations

from backtests.engine.state import Refusal, SimulatedOrder, SymbolData
from orders.contingent import ContingentGroup, bracket, group_problems, oco, oto
from orders.matching import WorkingOrder, validate_order
from orders.states import OrderType, Side, TimeInForce
from strategies.sdk import OrderRequest


def build_group(
    order: SimulatedOrder, symbol: SymbolData, entry: WorkingOrder
) -> tuple[ContingentGroup, list[SimulatedOrder]] | Refusal:
    """The group ``order`` (its request names take-profit / stop-loss legs or an OCO stop) forms with
    ``entry`` (its working order at the market), and the legs as orders of their own (ids
    ``"<entry id>.<role>"``, stop-loss first: matched before the take-profit). Legs inherit the
    entry's quantity, tag, expiry and a DAY time in force. A leg or group that fails validation
    refuses the entry."""
    request = order.request
    exit_side = Side.SELL if order.side == Side.BUY else Side.BUY
    leg_time_in_force = TimeInForce.DAY if order.time_in_force == TimeInForce.DAY else TimeInForce.GTC
    legs: list[SimulatedOrder] = []

    def leg(role: str, leg_request: OrderRequest) -> SimulatedOrder:
        member = SimulatedOrder(f"{order.order_id}.{role}", order.slot, leg_request, order.created_ns, role)
        member.parent_id = order.order_id
        return member

    if request.oco_stop_price is not None:  # the order is the limit side; the stop is its sibling
        legs.append(
            leg(
                "stop_loss",
                OrderRequest(
                    symbol=symbol.symbol,
                    side=order.side,
                    order_type=OrderType.STOP,
                    quantity=entry.quantity,
                    stop_price=request.oco_stop_price,
                    time_in_force=order.time_in_force,
                    tag=order.tag,
                ),
            )
        )
    else:
        if request.stop_loss is not None:  # stop-loss first: matched before the take-profit
            loss_type = OrderType.STOP if request.stop_loss_limit is None else OrderType.STOP_LIMIT
            legs.append(
                leg(
                    "stop_loss",
                    OrderRequest(
                        symbol=symbol.symbol,
                        side=exit_side,
                        order_type=loss_type,
                        quantity=entry.quantity,
                        stop_price=request.stop_loss,
                        limit_price=request.stop_loss_limit,
                        time_in_force=leg_time_in_force,
                        tag=order.tag,
                    ),
                )
            )
        if request.take_profit is not None:
            legs.append(
                leg(
                    "take_profit",
                    OrderRequest(
                        symbol=symbol.symbol,
                        side=exit_side,
                        order_type=OrderType.LIMIT,
                        quantity=entry.quantity,
                        limit_price=request.take_profit,
                        time_in_force=leg_time_in_force,
                        tag=order.tag,
                    ),
                )
            )
    workings: dict[str, WorkingOrder] = {}
    for member in legs:
        assert member.quantity is not None
        working = member.working_order(symbol.symbol, member.quantity, entry.expires_at)
        problems = validate_order(
            working, tick_size=symbol.tick, lot_size=symbol.lot, min_quantity=symbol.min_quantity
        )
        if problems:
            problem = problems[0]
            return Refusal(problem.code, f"{member.role.replace('_', '-')}: {problem.message}")
        workings[member.role] = working
    if request.oco_stop_price is not None:
        state = oco(entry, workings["stop_loss"])
    elif len(legs) == 2:
        state = bracket(entry, workings["take_profit"], workings["stop_loss"])
    else:
        state = oto(entry, next(iter(workings.values())))
    problems = group_problems(state)
    if problems:
        return Refusal(problems[0].code, problems[0].message)
    for member in legs:
        member.working = workings[member.role]
    return state, legs
