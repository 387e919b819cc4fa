"""Strategy parameters: typed, ranged, parsed from forms, gridded for optimisation, described for the UI."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from strategies.builtins import BUILTINS, MovingAverageCrossover
from strategies.sdk import Param, ParameterError, Strategy, StrategyProblem, load_strategy, strategy_path


class Example(Strategy):
    window = Param(10, 2, 50, 2, help="Bars.")
    width = Param(2.0, 0.5, 3.0, 0.5)
    enabled = Param(True)
    mode = Param("fast", choices=("fast", "slow"))
    budget = Param(Decimal("100.5"), Decimal(1), Decimal(1000))


def test_defaults_and_typed_values() -> None:
    strategy = Example()

    assert strategy.parameters == {
        "window": 10,
        "width": 2.0,
        "enabled": True,
        "mode": "fast",
        "budget": Decimal("100.5"),
    }
    assert isinstance(strategy.window, int)
    assert strategy.budget == Decimal("100.5")


def test_form_strings_are_parsed() -> None:
    strategy = Example(window="12", width="2.5", enabled="false", mode="slow", budget="250.25")

    assert (strategy.window, strategy.width, strategy.enabled, strategy.mode) == (12, 2.5, False, "slow")
    assert strategy.budget == Decimal("250.25")


@pytest.mark.parametrize(
    ("arguments", "code", "field"),
    [
        ({"window": 1}, "parameter_out_of_range", "window"),
        ({"window": 51}, "parameter_out_of_range", "window"),
        ({"window": "ten"}, "invalid_parameter", "window"),
        ({"window": True}, "invalid_parameter", "window"),
        ({"window": 2.5}, "invalid_parameter", "window"),
        ({"width": float("nan")}, "invalid_parameter", "width"),
        ({"enabled": "maybe"}, "invalid_parameter", "enabled"),
        ({"mode": "medium"}, "invalid_parameter", "mode"),
        ({"budget": "lots"}, "invalid_parameter", "budget"),
        ({"unknown": 1}, "unknown_parameter", "unknown"),
    ],
)
def test_bad_values_are_refused_with_a_code_and_field(
    arguments: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(ParameterError) as raised:
        Example(**arguments)

    assert raised.value.code == code
    assert raised.value.field == field


def test_parameters_are_read_only() -> None:
    strategy = Example()

    with pytest.raises(AttributeError):
        strategy.window = 20  # type: ignore[misc]


def test_rules_between_parameters() -> None:
    with pytest.raises(ParameterError, match="shorter than slow") as raised:
        MovingAverageCrossover(fast=30, slow=20)

    assert raised.value.field == "fast"


def test_grid_covers_each_range_by_its_step() -> None:
    specs = Example.parameter_specs()

    assert specs["window"].grid() == list(range(2, 51, 2))
    assert specs["width"].grid() == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert specs["enabled"].grid() == [False, True]
    assert specs["mode"].grid() == ["fast", "slow"]


def test_sampling_is_reproducible_and_in_range() -> None:
    specs = Example.parameter_specs()

    first = [specs["width"].sample(random.Random(7)) for _ in range(5)]
    second = [specs["width"].sample(random.Random(7)) for _ in range(5)]

    assert first == second
    assert all(0.5 <= value <= 3.0 for value in first)


def test_a_default_outside_its_range_is_a_programming_error() -> None:
    with pytest.raises(ParameterError, match="at least 2"):
        Param(1, 2, 10)


def test_schema_describes_a_form() -> None:
    schema = Example.schema()

    assert schema["name"] == "strategies.tests.test_parameters:Example"
    fields = {field["name"]: field for field in schema["parameters"]}  # type: ignore[attr-defined]
    assert fields["window"] == {
        "name": "window",
        "label": "Window",
        "type": "int",
        "default": 10,
        "minimum": 2,
        "maximum": 50,
        "step": 2,
        "choices": None,
        "help": "Bars.",
    }
    assert fields["budget"]["type"] == "decimal"
    assert fields["budget"]["default"] == "100.5"
    assert fields["mode"]["choices"] == ["fast", "slow"]


def test_every_builtin_documents_its_parameters() -> None:
    for name, klass in BUILTINS.items():
        schema = klass.schema()
        documentation = klass.__doc__ or ""

        assert schema["title"], name
        for field in schema["parameters"]:  # type: ignore[attr-defined]
            assert field["help"], f"{name}.{field['name']} has no help text"
            assert field["name"] in documentation, f"{name} docstring does not mention {field['name']}"
        klass()  # the defaults are valid


def test_load_strategy_by_path() -> None:
    assert load_strategy(strategy_path(MovingAverageCrossover)) is MovingAverageCrossover
    assert load_strategy("strategies.builtins.MovingAverageCrossover") is MovingAverageCrossover
    for path in ("nope", "strategies.sdk:Strategy", "strategies.sdk:Param", "no.such.module:X"):
        with pytest.raises(StrategyProblem) as raised:
            load_strategy(path)
        assert raised.value.code == "unknown_strategy"
