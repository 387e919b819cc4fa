"""Properties of the position ledger over random fill sequences: replay, conservation of P&L and cash."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from orders.states import Side
from portfolio.ledger import (
    FillEffect,
    FillTuple,
    PositionState,
    apply_fill,
    balance,
    fill_entries,
    market_value,
    replay,
    unrealized_pnl,
)

# Each fill that sets the average cost may round it by at most half a unit of the 10th place.
HALF_UNIT = Decimal("0.00000000005")

sides = st.sampled_from([Side.BUY, Side.SELL])
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10000), places=4)
commissions = st.decimals(min_value=Decimal(0), max_value=Decimal(5), places=2)
fill_tuples = st.tuples(sides, quantities, prices, commissions)
fill_sequences = st.lists(fill_tuples, max_size=25)

fast = settings(max_examples=150, deadline=None)


def fold(fills: list[FillTuple]) -> tuple[PositionState, list[FillEffect]]:
    position = PositionState()
    effects = []
    for side, quantity, price, commission in fills:
        effect = apply_fill(position, side=side, quantity=quantity, price=price, commission=commission)
        effects.append(effect)
        position = effect.position
    return position, effects


def signed(side: Side, quantity: Decimal) -> Decimal:
    return quantity if side == Side.BUY else -quantity


@fast
@given(fill_sequences)
def test_replay_equals_folding_apply_fill(fills):
    folded, _ = fold(fills)

    assert replay(fills) == folded


@fast
@given(fill_sequences)
def test_quantity_is_the_signed_sum_of_fill_quantities(fills):
    position = replay(fills)

    assert position.quantity == sum((signed(side, quantity) for side, quantity, _, _ in fills), Decimal(0))


@fast
@given(fill_sequences)
def test_realised_pnl_and_commission_are_sums_over_fills(fills):
    position, effects = fold(fills)

    assert position.realized_pnl == balance(effect.realized_pnl for effect in effects)
    assert position.total_commission == balance(commission for *_, commission in fills)


@fast
@given(fill_sequences, prices)
def test_total_pnl_is_conserved_up_to_average_cost_rounding(fills, mark):
    position, effects = fold(fills)

    # Everything the trades earned, counted two ways: P&L booked by the ledger vs cash flows plus the
    # value of what is still held.
    pnl = position.realized_pnl + unrealized_pnl(position, mark)
    cash = balance(effect.cash_delta for effect in effects) + market_value(position, mark)
    tolerance = balance(
        HALF_UNIT * abs(effect.position.quantity) for effect in effects if effect.opened_quantity > 0
    )

    assert abs(pnl - cash) <= tolerance


@fast
@given(st.lists(st.tuples(sides, quantities, commissions), max_size=25), prices, prices)
def test_total_pnl_is_conserved_exactly_when_nothing_is_averaged(fills, price, mark):
    # One price for every fill: every average is that price, so nothing is rounded.
    position, effects = fold([(side, quantity, price, commission) for side, quantity, commission in fills])

    pnl = position.realized_pnl + unrealized_pnl(position, mark)
    cash = balance(effect.cash_delta for effect in effects) + market_value(position, mark)

    assert pnl == cash
    assert position.average_cost == (0 if position.is_flat else price)


@fast
@given(fill_sequences)
def test_every_fill_keeps_the_position_invariants(fills):
    position = PositionState()
    for side, quantity, price, commission in fills:
        effect = apply_fill(position, side=side, quantity=quantity, price=price, commission=commission)
        after = effect.position

        assert effect.opened_quantity >= 0
        assert effect.closed_quantity >= 0
        assert effect.opened_quantity + effect.closed_quantity == quantity
        assert effect.closed_quantity <= abs(position.quantity)
        assert after.quantity == position.quantity + signed(side, quantity)
        assert (after.quantity == 0) == (after.average_cost == 0)
        assert after.average_cost >= 0
        if effect.opened_quantity == 0:
            assert after.average_cost in (0, position.average_cost)  # reducing keeps the average
        assert effect.realized_pnl == after.realized_pnl - position.realized_pnl
        lines = fill_entries(side=side, quantity=quantity, price=price, commission=commission)
        assert balance(lines) == effect.cash_delta
        position = after


@fast
@given(fill_sequences)
def test_average_cost_of_a_position_lies_within_its_entry_prices(fills):
    position = PositionState()
    entry_prices: list[Decimal] = []
    for side, quantity, price, commission in fills:
        effect = apply_fill(position, side=side, quantity=quantity, price=price, commission=commission)
        if effect.closed_quantity > 0:
            entry_prices = entry_prices if effect.opened_quantity == 0 else []
        if effect.opened_quantity > 0:
            entry_prices.append(price)
        position = effect.position
        if not position.is_flat:
            assert min(entry_prices) - HALF_UNIT <= position.average_cost <= max(entry_prices) + HALF_UNIT
