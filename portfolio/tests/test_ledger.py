"""Position and cash arithmetic of one fill: averages, realised P&L, commissions, cash lines, replay."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, Inexact

import pytest

from orders.states import Side
from portfolio.ledger import (
    EntryKind,
    FillEffect,
    LedgerLine,
    PositionState,
    apply_fill,
    balance,
    fill_entries,
    market_value,
    replay,
    unrealized_pnl,
)

D = Decimal
FLAT = PositionState()


def fill(position: PositionState, side: Side, quantity: str, price: str, commission: str = "0") -> FillEffect:
    return apply_fill(position, side=side, quantity=D(quantity), price=D(price), commission=D(commission))


def position_after(*fills: tuple[Side, str, str, str]) -> PositionState:
    position = FLAT
    for side, quantity, price, commission in fills:
        position = fill(position, side, quantity, price, commission).position
    return position


# --- opening and adding ------------------------------------------------------------------------------


def test_flat_position_is_all_zero():
    assert PositionState(D(0), D(0), D(0), D(0)) == FLAT
    assert FLAT.is_flat


def test_buy_from_flat_opens_long_at_fill_price_and_charges_commission():
    effect = fill(FLAT, Side.BUY, "10", "100", "1.25")

    assert effect.position == PositionState(
        quantity=D(10), average_cost=D(100), realized_pnl=D("-1.25"), total_commission=D("1.25")
    )
    assert effect.realized_pnl == D("-1.25")
    assert effect.cash_delta == D("-1001.25")
    assert (effect.opened_quantity, effect.closed_quantity) == (D(10), D(0))


def test_sell_from_flat_opens_short_and_credits_proceeds():
    effect = fill(FLAT, Side.SELL, "4", "50", "1")

    assert effect.position.quantity == D(-4)
    assert effect.position.average_cost == D(50)
    assert effect.cash_delta == D(199)
    assert effect.realized_pnl == D(-1)
    assert (effect.opened_quantity, effect.closed_quantity) == (D(4), D(0))


def test_adding_to_long_recomputes_weighted_average():
    long_10 = fill(FLAT, Side.BUY, "10", "100").position

    effect = fill(long_10, Side.BUY, "30", "104")

    assert effect.position.quantity == D(40)
    assert effect.position.average_cost == D(103)  # (10*100 + 30*104) / 40
    assert effect.realized_pnl == D(0)
    assert effect.cash_delta == D(-3120)


def test_adding_to_short_recomputes_weighted_average():
    short_2 = fill(FLAT, Side.SELL, "2", "10").position

    effect = fill(short_2, Side.SELL, "6", "12")

    assert effect.position.quantity == D(-8)
    assert effect.position.average_cost == D("11.5")  # (2*10 + 6*12) / 8


def test_average_cost_is_rounded_to_ten_places():
    long_1 = fill(FLAT, Side.BUY, "1", "10").position

    position = fill(long_1, Side.BUY, "2", "11").position  # 32 / 3

    assert position.average_cost == D("10.6666666667")
    assert position.average_cost.as_tuple().exponent == -10


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("1.0000000000", "1.0000000001", "1.0000000000"),  # 1.00000000005: tie rounds to even 0
        ("1.0000000001", "1.0000000002", "1.0000000002"),  # 1.00000000015: tie rounds to even 2
        ("1.0000000001", "1.0000000004", "1.0000000002"),  # 1.00000000025: tie rounds to even 2
        ("1.0000000000", "1.0000000003", "1.0000000002"),  # 1.00000000015 -> 2
    ],
)
def test_average_cost_ties_round_half_even(first, second, expected):
    position = position_after((Side.BUY, "1", first, "0"), (Side.BUY, "1", second, "0"))

    assert position.average_cost == D(expected)


def test_average_cost_is_rounded_once_not_twice():
    # Cutting the quotient to 28 digits first would give ...89150000000 and then round the tie up to
    # ...892; the exact value is below the half, so one correct rounding gives ...891.
    price = D("123456789.123456789149999999997")

    position = fill(FLAT, Side.BUY, "3", str(price)).position

    assert position.average_cost == D("123456789.1234567891")


def test_price_with_more_than_ten_places_opens_at_rounded_average():
    position = fill(FLAT, Side.BUY, "1", "2.00000000016").position

    assert position.average_cost == D("2.0000000002")


# --- reducing, closing, flipping ---------------------------------------------------------------------


def test_partial_sell_of_long_realises_profit_and_keeps_average():
    long_10 = fill(FLAT, Side.BUY, "10", "100").position

    effect = fill(long_10, Side.SELL, "4", "110", "2")

    assert effect.position.quantity == D(6)
    assert effect.position.average_cost == D(100)
    assert effect.realized_pnl == D(38)  # (110 - 100) * 4 - 2
    assert effect.position.realized_pnl == D(38)
    assert effect.cash_delta == D(438)
    assert (effect.opened_quantity, effect.closed_quantity) == (D(0), D(4))


def test_selling_long_below_cost_realises_loss():
    long_10 = fill(FLAT, Side.BUY, "10", "100").position

    effect = fill(long_10, Side.SELL, "10", "95")

    assert effect.realized_pnl == D(-50)
    assert effect.position == PositionState(D(0), D(0), D(-50), D(0))


def test_closing_long_goes_flat_with_zero_average():
    long_10 = fill(FLAT, Side.BUY, "10", "100", "1").position

    effect = fill(long_10, Side.SELL, "10", "120", "1")

    assert effect.position.quantity == 0
    assert effect.position.average_cost == 0
    assert effect.position.is_flat
    assert effect.position.realized_pnl == D(198)  # 200 gain - 2 commissions
    assert effect.position.total_commission == D(2)


def test_covering_short_below_entry_realises_profit():
    short_10 = fill(FLAT, Side.SELL, "10", "50").position

    effect = fill(short_10, Side.BUY, "4", "45", "1")

    assert effect.position.quantity == D(-6)
    assert effect.position.average_cost == D(50)
    assert effect.realized_pnl == D(19)  # (50 - 45) * 4 - 1
    assert effect.cash_delta == D(-181)


def test_covering_short_above_entry_realises_loss_and_closing_goes_flat():
    short_10 = fill(FLAT, Side.SELL, "10", "50").position

    effect = fill(short_10, Side.BUY, "10", "53")

    assert effect.realized_pnl == D(-30)
    assert effect.position == PositionState(D(0), D(0), D(-30), D(0))


def test_selling_through_zero_closes_long_and_opens_short_at_fill_price():
    long_10 = fill(FLAT, Side.BUY, "10", "100").position

    effect = fill(long_10, Side.SELL, "15", "104", "3")

    assert effect.closed_quantity == D(10)
    assert effect.opened_quantity == D(5)
    assert effect.realized_pnl == D(37)  # (104 - 100) * 10, minus the whole commission 3
    assert effect.position.quantity == D(-5)
    assert effect.position.average_cost == D(104)
    assert effect.cash_delta == D(1557)  # 15 * 104 - 3


def test_buying_through_zero_closes_short_and_opens_long_at_fill_price():
    short_3 = fill(FLAT, Side.SELL, "3", "20").position

    effect = fill(short_3, Side.BUY, "5", "22")

    assert effect.closed_quantity == D(3)
    assert effect.opened_quantity == D(2)
    assert effect.realized_pnl == D(-6)
    assert effect.position.quantity == D(2)
    assert effect.position.average_cost == D(22)


def test_realised_pnl_and_commission_accumulate_over_round_trips():
    position = position_after(
        (Side.BUY, "10", "10", "1"),
        (Side.SELL, "10", "12", "1"),  # +20 gross
        (Side.SELL, "5", "12", "0.5"),
        (Side.BUY, "5", "13", "0.5"),  # -5 gross
    )

    assert position.quantity == 0
    assert position.total_commission == D(3)
    assert position.realized_pnl == D(12)  # 20 - 5 - 3


# --- exact decimals ----------------------------------------------------------------------------------


def test_decimal_quantities_add_up_exactly():
    position = position_after((Side.BUY, "0.1", "3", "0"), (Side.BUY, "0.2", "3", "0"))

    assert position.quantity == D("0.3")
    flat = fill(position, Side.SELL, "0.3", "3").position
    assert flat.quantity == 0
    assert flat.is_flat
    assert flat.realized_pnl == 0


def test_cash_deltas_are_exact_with_fractional_prices():
    effects = [
        fill(FLAT, Side.BUY, "1", "0.1"),
        fill(FLAT, Side.BUY, "1", "0.2"),
    ]

    assert balance(effect.cash_delta for effect in effects) == D("-0.3")


def test_satoshi_sized_crypto_fill_is_exact():
    effect = fill(FLAT, Side.BUY, "0.00000001", "65432.1234567891", "0.0000000001")

    assert effect.cash_delta == D("-0.000654321234567891") - D("0.0000000001")
    assert effect.position.average_cost == D("65432.1234567891")


def test_large_products_are_not_rounded_to_28_digits():
    effect = fill(FLAT, Side.BUY, "123456789012345678.1234567891", "98765432.1234567891")

    assert effect.cash_delta == D("-12193263115378752997256516.78917847977488187881")
    # What the default 28-digit context would have produced:
    assert effect.cash_delta != -(D("123456789012345678.1234567891") * D("98765432.1234567891"))


def test_arithmetic_that_would_need_rounding_raises_instead_of_drifting():
    too_precise = D("1." + "1" * 60)

    with pytest.raises(Inexact):
        apply_fill(FLAT, side=Side.BUY, quantity=too_precise, price=too_precise, commission=D(0))


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("quantity", D(0), ValueError),
        ("quantity", D(-1), ValueError),
        ("quantity", D("NaN"), ValueError),
        ("quantity", D("Infinity"), ValueError),
        ("price", D(0), ValueError),
        ("price", D("-0.01"), ValueError),
        ("price", D("sNaN"), ValueError),
        ("commission", D("-0.01"), ValueError),
        ("commission", D("-Infinity"), ValueError),
        ("quantity", 1.5, TypeError),
        ("price", 100, TypeError),
        ("commission", "1", TypeError),
    ],
)
def test_bad_amounts_are_refused(argument, value, error):
    arguments = {"quantity": D(1), "price": D(10), "commission": D(0), argument: value}

    with pytest.raises(error, match=argument):
        apply_fill(FLAT, side=Side.BUY, **arguments)
    with pytest.raises(error, match=argument):
        fill_entries(side=Side.BUY, **arguments)


def test_zero_commission_is_allowed():
    assert fill(FLAT, Side.BUY, "1", "10", "0").position.total_commission == 0


@pytest.mark.parametrize("side", ["hold", "BUY", "", None])
def test_unknown_side_is_refused(side):
    with pytest.raises(ValueError, match="side"):
        apply_fill(FLAT, side=side, quantity=D(1), price=D(1), commission=D(0))


def test_plain_strings_work_as_sides():
    by_string = apply_fill(FLAT, side="sell", quantity=D(1), price=D(5), commission=D(0))  # type: ignore[arg-type]

    assert by_string == fill(FLAT, Side.SELL, "1", "5")


def test_results_are_immutable():
    effect = fill(FLAT, Side.BUY, "1", "10")

    with pytest.raises(dataclasses.FrozenInstanceError):
        effect.position.quantity = D(2)  # type: ignore[misc]


# --- valuation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fills", "price", "expected_value", "expected_unrealized"),
    [
        ([(Side.BUY, "10", "100", "1")], "110", "1100", "100"),
        ([(Side.BUY, "10", "100", "0")], "90.5", "905", "-95"),
        ([(Side.SELL, "10", "100", "0")], "90", "-900", "100"),
        ([(Side.SELL, "10", "100", "0")], "101", "-1010", "-10"),
        ([(Side.BUY, "1", "100", "0"), (Side.SELL, "1", "120", "0")], "500", "0", "0"),
    ],
)
def test_market_value_and_unrealized_pnl(fills, price, expected_value, expected_unrealized):
    position = position_after(*fills)

    assert market_value(position, D(price)) == D(expected_value)
    assert unrealized_pnl(position, D(price)) == D(expected_unrealized)


# --- cash ledger lines -------------------------------------------------------------------------------


def test_buy_produces_trade_debit_and_commission_line():
    lines = fill_entries(side=Side.BUY, quantity=D(3), price=D("10.5"), commission=D("0.75"))

    assert lines == (
        LedgerLine(EntryKind.TRADE, D("-31.5")),
        LedgerLine(EntryKind.COMMISSION, D("-0.75")),
    )


def test_sell_without_commission_produces_only_a_trade_credit():
    lines = fill_entries(side=Side.SELL, quantity=D(3), price=D("10.5"), commission=D(0))

    assert lines == (LedgerLine(EntryKind.TRADE, D("31.5")),)


@pytest.mark.parametrize(
    ("start", "side", "quantity", "price", "commission"),
    [
        ([], Side.BUY, "10", "100", "1"),
        ([], Side.SELL, "0.3", "0.1", "0"),
        ([(Side.BUY, "10", "100", "0")], Side.SELL, "15", "104", "3"),
        ([(Side.SELL, "2", "7", "0")], Side.BUY, "2", "6.25", "0.01"),
    ],
)
def test_fill_entries_sum_to_the_fill_cash_delta(start, side, quantity, price, commission):
    position = position_after(*start)

    effect = fill(position, side, quantity, price, commission)
    lines = fill_entries(side=side, quantity=D(quantity), price=D(price), commission=D(commission))

    assert balance(lines) == effect.cash_delta


def test_balance_sums_lines_and_bare_amounts():
    lines = [
        LedgerLine(EntryKind.DEPOSIT, D("1000")),
        LedgerLine(EntryKind.WITHDRAWAL, D("-250.10")),
        D("0.1"),
        D("0.2"),
        LedgerLine(EntryKind.ADJUSTMENT, D("-0.3")),
    ]

    assert balance(lines) == D("749.90")
    assert balance([]) == 0


def test_entry_kinds_are_stable_strings():
    assert {kind.value for kind in EntryKind} == {
        "deposit",
        "withdrawal",
        "trade",
        "commission",
        "reset",
        "adjustment",
    }


# --- replay ------------------------------------------------------------------------------------------


def test_replay_of_no_fills_is_flat():
    assert replay([]) == FLAT


def test_replay_equals_applying_fills_one_by_one():
    fills = [
        (Side.BUY, D(10), D(100), D(1)),
        (Side.BUY, D(5), D("101.3"), D("0.5")),
        (Side.SELL, D(20), D(99), D(1)),
        (Side.BUY, D(2), D(98), D(0)),
    ]

    replayed = replay(fills)

    assert replayed == position_after(*[(s, str(q), str(p), str(c)) for s, q, p, c in fills])
    assert replayed.quantity == D(-3)
    assert replayed.average_cost == D(99)
    assert replayed.total_commission == D("2.5")


def test_replay_accepts_a_generator():
    fills = ((Side.BUY, D(1), D(price), D(0)) for price in ("1", "2", "3"))

    assert replay(fills) == PositionState(D(3), D(2), D(0), D(0))
