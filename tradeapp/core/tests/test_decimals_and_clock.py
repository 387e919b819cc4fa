from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from tradeapp.core import clock
from tradeapp.core.decimals import floor_to, is_multiple_of, normalize, quantize_to, to_decimal


def test_to_decimal_refuses_floats():
    with pytest.raises(TypeError):
        to_decimal(0.1)
    assert to_decimal("0.1") + to_decimal("0.2") == Decimal("0.3")


@pytest.mark.parametrize("bad", ["", "abc", "1,5"])
def test_to_decimal_refuses_garbage(bad):
    with pytest.raises(ValueError, match="not a decimal number"):
        to_decimal(bad)


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("10.126", "0.01", "10.13"),
        ("10.125", "0.01", "10.12"),
        ("7.3", "0.25", "7.25"),
        ("1234", "100", "1200"),
    ],
)
def test_quantize_to_a_grid(value, step, expected):
    assert quantize_to(Decimal(value), Decimal(step)) == Decimal(expected)


@given(
    st.decimals(
        min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False, allow_infinity=False
    ),
    st.sampled_from([Decimal("0.01"), Decimal("0.25"), Decimal("0.0001"), Decimal(1), Decimal(5)]),
)
def test_quantized_values_sit_on_the_grid_and_floor_never_rounds_up(value, step):
    assert is_multiple_of(quantize_to(value, step), step)
    floored = floor_to(value, step)
    assert is_multiple_of(floored, step)
    assert value - step < floored <= value if value >= 0 else floored <= value + step


def test_normalize_strips_trailing_zeros_without_exponents():
    assert str(normalize(Decimal("100.0000000000"))) == "100"
    assert str(normalize(Decimal("0.5000"))) == "0.5"


def test_clock_is_aware_utc_and_can_be_frozen():
    assert clock.now().tzinfo is UTC
    moment = datetime(2026, 1, 2, 15, 30, tzinfo=timezone(timedelta(hours=1)))

    with clock.frozen_clock(moment) as frozen:
        assert clock.now() == moment
        assert clock.now().tzinfo is UTC
        frozen.tick(timedelta(minutes=5))
        assert clock.now() == moment + timedelta(minutes=5)
    assert clock.now() != moment


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        clock.ensure_aware_utc(datetime(2026, 1, 1))  # noqa: DTZ001


def test_floor_to_rounds_toward_zero_for_either_sign():
    from decimal import Decimal as D  # noqa: N817

    assert floor_to(D("1.5"), D(1)) == D(1)
    assert floor_to(D("-1.5"), D(1)) == D(-1)
    assert floor_to(D("0.37"), D("0.25")) == D("0.25")


def test_one_floor_to_everywhere():
    """The SDK and the matching engine use the kernel's floor_to, not copies of it."""
    from orders import algos, matching
    from strategies import sdk

    assert sdk.floor_to is floor_to
    assert matching.floor_to is floor_to
    assert algos.floor_to is floor_to
