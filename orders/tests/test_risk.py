"""Pre-trade risk checks: every rejection code, the order the checks run in, reduce-only orders."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from orders.risk import (
    REJECTION_CODES,
    AccountSnapshot,
    OrderIntent,
    PositionExposure,
    RejectionCode,
    RiskLimits,
    RiskRejection,
    buying_power,
    check_order,
    reduces_only,
)
from orders.states import Side

D = Decimal


def make_intent(**overrides: Any) -> OrderIntent:
    values: dict[str, Any] = {
        "symbol": "AAPL",
        "asset_class": "stock",
        "side": Side.BUY,
        "quantity": D(10),
        "estimated_price": D(100),
        "shortable": True,
        "tradable": True,
    }
    values.update(overrides)
    return OrderIntent(**values)


def make_account(**overrides: Any) -> AccountSnapshot:
    values: dict[str, Any] = {
        "cash": D(100_000),
        "equity": D(100_000),
        "start_of_day_equity": D(100_000),
    }
    values.update(overrides)
    return AccountSnapshot(**values)


def holding(quantity: str, price: str = "100", asset_class: str = "stock") -> PositionExposure:
    return PositionExposure(
        quantity=D(quantity), market_value=D(quantity) * D(price), asset_class=asset_class
    )


def check(
    intent: OrderIntent | None = None,
    account: AccountSnapshot | None = None,
    limits: RiskLimits | None = None,
    *,
    kill_switch: bool = False,
) -> RiskRejection | None:
    return check_order(
        intent or make_intent(),
        account or make_account(),
        limits or RiskLimits(),
        kill_switch=kill_switch,
    )


# Each case: (intent overrides, account overrides, limits, kill switch, code, field, words in message).
REJECTIONS = {
    "kill switch": ({}, {}, RiskLimits(), True, "kill_switch", None, ["kill switch"]),
    "halted with reason": (
        {},
        {"halted": True, "halted_reason": "Margin call."},
        RiskLimits(),
        False,
        "account_halted",
        None,
        ["halted (Margin call)"],
    ),
    "halted without reason": (
        {},
        {"halted": True},
        RiskLimits(),
        False,
        "account_halted",
        None,
        ["This account is halted;"],
    ),
    "not tradable": (
        {"tradable": False},
        {},
        RiskLimits(),
        False,
        "instrument_not_tradable",
        None,
        ["AAPL is not tradable"],
    ),
    "open orders at the limit": (
        {},
        {"open_orders_count": 5},
        RiskLimits(max_open_orders=5),
        False,
        "max_open_orders",
        None,
        ["5 open orders", "limit is 5"],
    ),
    "zero open orders allowed": (
        {},
        {},
        RiskLimits(max_open_orders=0),
        False,
        "max_open_orders",
        None,
        ["0 open orders", "limit is 0"],
    ),
    "order notional above limit": (
        {"quantity": D(101)},
        {},
        RiskLimits(max_order_notional=D(10_000)),
        False,
        "max_order_notional",
        "quantity",
        ["10,100.00 USD", "10,000.00 USD"],
    ),
    "sell more than held, no shorting": (
        {"side": Side.SELL, "quantity": D(15)},
        {"positions": {"AAPL": holding("10")}},
        RiskLimits(allow_short=False),
        False,
        "insufficient_quantity",
        "quantity",
        ["hold 10 AAPL", "sells 15", "not enabled for this account", "at most 10"],
    ),
    "sell more than held, not shortable": (
        {"side": Side.SELL, "quantity": D("2.5"), "shortable": False},
        {"positions": {"AAPL": holding("0.5")}},
        RiskLimits(allow_short=True),
        False,
        "insufficient_quantity",
        "quantity",
        ["hold 0.5 AAPL", "AAPL cannot be sold short", "at most 0.5"],
    ),
    "sell with nothing held, no shorting": (
        {"side": Side.SELL},
        {},
        RiskLimits(allow_short=False),
        False,
        "short_selling_not_allowed",
        None,
        ["hold no AAPL", "not enabled", "cannot sell 10 AAPL"],
    ),
    "add to short, instrument not shortable": (
        {"side": Side.SELL, "shortable": False},
        {"positions": {"AAPL": holding("-3")}},
        RiskLimits(allow_short=True),
        False,
        "short_selling_not_allowed",
        None,
        ["already short 3 AAPL", "AAPL cannot be sold short"],
    ),
    "buy above buying power": (
        {"quantity": D(20)},
        {"cash": D("1234.50")},
        RiskLimits(),
        False,
        "insufficient_buying_power",
        "quantity",
        ["Buying power is 1,234.50 USD; this order needs 2,000.00 USD."],
    ),
    "buy with cash reserved by open orders": (
        {},
        {"cash": D(5_000), "reserved_buying_power": D("4500.01")},
        RiskLimits(),
        False,
        "insufficient_buying_power",
        "quantity",
        ["Buying power is 499.99 USD; this order needs 1,000.00 USD."],
    ),
    "cover of a short needs buying power": (
        {"quantity": D(3)},
        {"cash": D(250), "positions": {"AAPL": holding("-3")}},
        RiskLimits(allow_short=True),
        False,
        "insufficient_buying_power",
        "quantity",
        ["250.00 USD", "300.00 USD"],
    ),
    "short part of a sell needs buying power": (
        {"side": Side.SELL, "quantity": D(15)},
        {"cash": D(400), "positions": {"AAPL": holding("10")}},
        RiskLimits(allow_short=True),
        False,
        "insufficient_buying_power",
        "quantity",
        ["Buying power is 400.00 USD; selling 5 AAPL short needs 500.00 USD."],
    ),
    "daily loss reached": (
        {},
        {"equity": D(98_950), "start_of_day_equity": D(100_000)},
        RiskLimits(daily_loss_limit=D(1_000)),
        False,
        "daily_loss_limit",
        None,
        ["1,050.00 USD", "98,950.00 USD", "100,000.00 USD", "1,000.00 USD", "reduce a position"],
    ),
    "position above max pct": (
        {"quantity": D(300)},
        {},
        RiskLimits(max_position_pct=D(25)),
        False,
        "max_position_pct",
        "quantity",
        ["AAPL position would be worth 30,000.00 USD", "30.00% of equity (100,000.00 USD)", "25%"],
    ),
    "existing position pushed above max pct": (
        {"quantity": D(1)},
        {"positions": {"AAPL": holding("250")}},
        RiskLimits(max_position_pct=D(25)),
        False,
        "max_position_pct",
        "quantity",
        ["25,100.00 USD", "25.10%"],
    ),
    "position pct with no equity left": (
        {"quantity": D(1)},
        {"equity": D(-500)},
        RiskLimits(max_position_pct=D(25)),
        False,
        "max_position_pct",
        "quantity",
        ["equity is -500.00 USD", "25%"],
    ),
    "asset class exposure above limit": (
        {"quantity": D(100)},
        {
            "positions": {
                "MSFT": holding("200"),
                "SPY": holding("-150"),
                "BTCUSD": holding("9", "10000", "crypto"),
            }
        },
        RiskLimits(exposure_limit_pct={"stock": D(40)}),
        False,
        "exposure_limit",
        "quantity",
        ["stock exposure would be 45,000.00 USD", "45.00%", "limit for stock is 40%"],
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS.values()), ids=list(REJECTIONS))
def test_each_rejection_code(case):
    intent_overrides, account_overrides, limits, kill_switch, code, field, words = case

    rejection = check(
        make_intent(**intent_overrides), make_account(**account_overrides), limits, kill_switch=kill_switch
    )

    assert rejection is not None
    assert rejection.code == code
    assert rejection.field == field
    for word in words:
        assert word in rejection.message
    assert rejection.message.endswith(".")


def test_every_code_is_listed_and_covered_by_a_case():
    covered = {case[4] for case in REJECTIONS.values()}

    assert covered == REJECTION_CODES
    assert {code.value for code in RejectionCode} == REJECTION_CODES
    assert all(isinstance(code, str) for code in REJECTION_CODES)


def test_plain_order_within_all_limits_is_accepted():
    limits = RiskLimits(
        max_position_pct=D(25),
        max_order_notional=D(10_000),
        max_open_orders=5,
        daily_loss_limit=D(1_000),
        exposure_limit_pct={"stock": D(50)},
    )
    account = make_account(open_orders_count=4, positions={"MSFT": holding("100")})

    assert check(make_intent(), account, limits) is None


def test_no_limits_accepts_a_large_order():
    assert check(make_intent(quantity=D(999)), make_account(), RiskLimits()) is None


# --- boundaries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent_overrides", "account_overrides", "limits"),
    [
        pytest.param({}, {}, RiskLimits(max_order_notional=D(1_000)), id="notional at limit"),
        pytest.param({}, {"cash": D(1_000)}, RiskLimits(), id="buying power exactly enough"),
        pytest.param({}, {"open_orders_count": 4}, RiskLimits(max_open_orders=5), id="one order below max"),
        pytest.param({"quantity": D(250)}, {}, RiskLimits(max_position_pct=D(25)), id="position at pct"),
        pytest.param(
            {},
            {"equity": D("99000.01"), "start_of_day_equity": D(100_000), "cash": D("99000.01")},
            RiskLimits(daily_loss_limit=D(1_000)),
            id="loss just under limit",
        ),
        pytest.param(
            {"quantity": D(100)},
            {"positions": {"MSFT": holding("300")}},
            RiskLimits(exposure_limit_pct={"stock": D(40)}),
            id="exposure at limit",
        ),
        pytest.param(
            {"quantity": D(100)},
            {"positions": {"BTCUSD": holding("9", "10000", "crypto")}},
            RiskLimits(exposure_limit_pct={"stock": D(40), "crypto": D(1)}),
            id="other asset classes do not count",
        ),
        pytest.param(
            {"quantity": D(100), "asset_class": "etf"},
            {"positions": {"MSFT": holding("900")}},
            RiskLimits(exposure_limit_pct={"stock": D(1)}),
            id="asset class without a limit",
        ),
    ],
)
def test_orders_exactly_at_a_limit_are_accepted(intent_overrides, account_overrides, limits):
    assert check(make_intent(**intent_overrides), make_account(**account_overrides), limits) is None


def test_daily_loss_exactly_at_limit_blocks_new_exposure():
    account = make_account(equity=D(99_000), start_of_day_equity=D(100_000))

    rejection = check(make_intent(), account, RiskLimits(daily_loss_limit=D(1_000)))

    assert rejection is not None
    assert rejection.code == "daily_loss_limit"


def test_daily_profit_never_trips_the_loss_limit():
    account = make_account(equity=D(150_000), start_of_day_equity=D(100_000))

    assert check(make_intent(), account, RiskLimits(daily_loss_limit=D(1))) is None


def test_exposure_counts_shorts_gross_and_values_own_symbol_after_the_order():
    # AAPL held long 300 (30,000) is replaced by its value after selling 100: 200 * 100 = 20,000.
    account = make_account(positions={"AAPL": holding("300"), "TSLA": holding("-150")})
    intent = make_intent(side=Side.SELL, quantity=D(400))  # flips to short 100: 10,000

    accepted = check(intent, account, RiskLimits(allow_short=True, exposure_limit_pct={"stock": D(25)}))
    rejected = check(intent, account, RiskLimits(allow_short=True, exposure_limit_pct={"stock": D(24)}))

    assert accepted is None  # 10,000 + |-15,000| = 25,000 = 25 %
    assert rejected is not None
    assert rejected.code == "exposure_limit"


def test_amounts_with_more_than_cents_are_shown_in_full():
    account = make_account(cash=D("999.996"))

    rejection = check(make_intent(quantity=D(10)), account, RiskLimits())

    assert rejection is not None
    assert rejection.message == "Buying power is 999.996 USD; this order needs 1,000.00 USD."


def test_percentage_just_over_the_limit_never_displays_as_the_limit():
    rejection = check(make_intent(quantity=D("250.001")), make_account(), RiskLimits(max_position_pct=D(25)))

    assert rejection is not None
    assert "25.01% of equity" in rejection.message


def test_message_uses_the_account_currency():
    rejection = check(make_intent(), make_account(cash=D(10), currency="EUR"), RiskLimits())

    assert rejection is not None
    assert rejection.message == "Buying power is 10.00 EUR; this order needs 1,000.00 EUR."


# --- the order of the checks -------------------------------------------------------------------------


def test_checks_run_in_the_documented_order():
    # Start with an order that breaks every rule, then fix them one at a time: each fix must reveal the
    # next check in the documented order.
    intent = make_intent(side=Side.SELL, quantity=D(400), tradable=False, shortable=True)
    account = make_account(
        halted=True,
        open_orders_count=3,
        cash=D(100),
        equity=D(90_000),
        start_of_day_equity=D(100_000),
        positions={"AAPL": holding("100"), "MSFT": holding("500")},
    )
    limits = RiskLimits(
        max_open_orders=3,
        max_order_notional=D(10_000),
        allow_short=False,
        daily_loss_limit=D(5_000),
        max_position_pct=D(10),
        exposure_limit_pct={"stock": D(50)},
    )
    fixes = [
        ("kill_switch", lambda i, a, lim, k: (i, a, lim, False)),
        ("account_halted", lambda i, a, lim, k: (i, dataclasses.replace(a, halted=False), lim, k)),
        ("instrument_not_tradable", lambda i, a, lim, k: (dataclasses.replace(i, tradable=True), a, lim, k)),
        ("max_open_orders", lambda i, a, lim, k: (i, dataclasses.replace(a, open_orders_count=0), lim, k)),
        (
            "max_order_notional",
            lambda i, a, lim, k: (i, a, dataclasses.replace(lim, max_order_notional=None), k),
        ),
        ("insufficient_quantity", lambda i, a, lim, k: (i, a, dataclasses.replace(lim, allow_short=True), k)),
        (
            "insufficient_buying_power",
            lambda i, a, lim, k: (i, dataclasses.replace(a, cash=D(90_000)), lim, k),
        ),
        ("daily_loss_limit", lambda i, a, lim, k: (i, a, dataclasses.replace(lim, daily_loss_limit=None), k)),
        ("max_position_pct", lambda i, a, lim, k: (i, a, dataclasses.replace(lim, max_position_pct=None), k)),
        (
            "exposure_limit",
            lambda i, a, lim, k: (i, a, dataclasses.replace(lim, exposure_limit_pct={}), k),
        ),
    ]
    state = (intent, account, limits, True)
    seen = []
    for expected_code, fix in fixes:
        rejection = check_order(state[0], state[1], state[2], kill_switch=state[3])
        assert rejection is not None, f"expected {expected_code}, the order was accepted"
        seen.append(rejection.code)
        state = fix(*state)

    assert seen == [code for code, _ in fixes]
    assert check_order(state[0], state[1], state[2], kill_switch=state[3]) is None


def test_kill_switch_beats_everything():
    account = make_account(halted=True, cash=D(0), open_orders_count=99)
    limits = RiskLimits(max_open_orders=1, max_order_notional=D(1), daily_loss_limit=D(1))

    rejection = check(make_intent(tradable=False), account, limits, kill_switch=True)

    assert rejection is not None
    assert rejection.code == "kill_switch"


# --- reduce-only orders ------------------------------------------------------------------------------


def breached_account(position: str) -> AccountSnapshot:
    return make_account(
        equity=D(90_000),
        start_of_day_equity=D(100_000),
        positions={"AAPL": holding(position), "MSFT": holding("900")},
    )


BREACHED = RiskLimits(
    daily_loss_limit=D(1_000),
    max_position_pct=D(1),
    exposure_limit_pct={"stock": D(1)},
    allow_short=True,
)


@pytest.mark.parametrize(
    ("position", "side", "quantity"),
    [
        ("10", Side.SELL, "4"),
        ("10", Side.SELL, "10"),
        ("-10", Side.BUY, "3"),
        ("-10", Side.BUY, "10"),
    ],
)
def test_reduce_only_orders_pass_daily_loss_position_and_exposure_limits(position, side, quantity):
    intent = make_intent(side=side, quantity=D(quantity))
    account = breached_account(position)

    assert reduces_only(intent, account)
    assert check(intent, account, BREACHED) is None


@pytest.mark.parametrize(
    ("position", "side", "quantity"),
    [
        pytest.param("0", Side.BUY, "1", id="open long"),
        pytest.param("10", Side.BUY, "1", id="add to long"),
        pytest.param("10", Side.SELL, "11", id="flip long to short"),
        pytest.param("-10", Side.BUY, "11", id="flip short to long"),
        pytest.param("-10", Side.SELL, "1", id="add to short"),
    ],
)
def test_orders_that_increase_exposure_are_blocked_by_daily_loss(position, side, quantity):
    intent = make_intent(side=side, quantity=D(quantity))
    account = breached_account(position)

    rejection = check(intent, account, BREACHED)

    assert not reduces_only(intent, account)
    assert rejection is not None
    assert rejection.code == "daily_loss_limit"


def test_reduce_only_order_still_needs_buying_power_to_cover_a_short():
    account = make_account(
        cash=D(100), equity=D(90_000), start_of_day_equity=D(100_000), positions={"AAPL": holding("-10")}
    )

    rejection = check(make_intent(side=Side.BUY, quantity=D(5)), account, BREACHED)

    assert rejection is not None
    assert rejection.code == "insufficient_buying_power"


def test_selling_a_held_long_needs_no_buying_power():
    account = make_account(cash=D(0), reserved_buying_power=D(500), positions={"AAPL": holding("10")})

    assert check(make_intent(side=Side.SELL, quantity=D(10)), account, RiskLimits()) is None


def test_short_sale_allowed_when_account_and_instrument_allow_it():
    intent = make_intent(side=Side.SELL, quantity=D(5), shortable=True)

    assert check(intent, make_account(), RiskLimits(allow_short=True)) is None


# --- helpers and construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cash", "reserved", "expected"),
    [("1000", "0", "1000"), ("1000", "250.5", "749.5"), ("1000", "1000", "0"), ("100", "500", "0")],
)
def test_buying_power_is_unreserved_cash_never_negative(cash, reserved, expected):
    account = make_account(cash=D(cash), reserved_buying_power=D(reserved))

    assert buying_power(account) == D(expected)


@pytest.mark.parametrize(
    "limits",
    [
        {"max_position_pct": D(0)},
        {"max_position_pct": D(-5)},
        {"max_order_notional": D("NaN")},
        {"daily_loss_limit": D(0)},
        {"max_open_orders": -1},
        {"exposure_limit_pct": {"stock": D(0)}},
    ],
)
def test_nonsensical_limits_are_refused_on_construction(limits):
    with pytest.raises(ValueError, match=next(iter(limits))):
        RiskLimits(**limits)


@pytest.mark.parametrize(("quantity", "price"), [("0", "100"), ("-1", "100"), ("1", "0")])
def test_unvalidated_intent_is_a_programming_error(quantity, price):
    with pytest.raises(ValueError, match="quantity > 0"):
        check(make_intent(quantity=D(quantity), estimated_price=D(price)))


def test_plain_string_sides_behave_like_side_members():
    account = make_account(positions={"AAPL": holding("10")})
    intent = make_intent(side="sell", quantity=D(10))

    assert reduces_only(intent, account)
    assert check(intent, account, RiskLimits()) is None


def test_a_losing_all_in_short_can_be_covered_from_its_proceeds():
    # shorted 10 at 100 with 1,000 of equity: cash 2,000; the price rose to 110, so the caller holds
    # the short's 1,100 back from buying power (900 left); covering costs 1,100 of cash
    account = make_account(
        cash=D(2000), equity=D(900), reserved_buying_power=D(1100), positions={"AAPL": holding("-10", "110")}
    )

    cover = check(make_intent(side=Side.BUY, quantity=D(10), estimated_price=D(110)), account, RiskLimits())
    flip = check(make_intent(side=Side.BUY, quantity=D(20), estimated_price=D(110)), account, RiskLimits())

    assert cover is None
    assert flip is not None
    assert flip.code == "insufficient_buying_power"  # the 10 beyond the short need 1,100 > 900
