"""Typed strategy parameters: declaration, parsing, range and choice checks, grids (pure, no Django)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar, cast, overload

from strategies.sdk.errors import ParameterError

T = TypeVar("T", bool, int, float, str, Decimal)


class Param(Generic[T]):
    """A typed strategy parameter, declared as a class attribute::

        class MyStrategy(Strategy):
            fast = Param(10, 2, 200, 1, help="Fast moving-average window (bars)")

    The type is the default's (int, float, bool, str or Decimal). ``minimum``/``maximum`` are inclusive
    bounds checked on every value; ``step`` spaces the values of :meth:`grid` (optimisation, UI
    spinners) and is not enforced on user values. ``choices`` restricts a value to a list (required for
    str parameters that are not free text). On an instance the attribute reads as the plain value.
    """

    def __init__(
        self,
        default: T,
        minimum: T | None = None,
        maximum: T | None = None,
        step: T | None = None,
        *,
        choices: Sequence[T] | None = None,
        help: str = "",
        label: str = "",
    ) -> None:
        self.default: T = default
        self.minimum: T | None = minimum
        self.maximum: T | None = maximum
        self.step: T | None = step
        self.choices: tuple[T, ...] | None = tuple(choices) if choices is not None else None
        self.help = help
        self.label = label
        self.name = ""
        self.kind: type = type(default)
        if self.kind not in (int, float, bool, str, Decimal):
            raise TypeError(f"a Param default must be int, float, bool, str or Decimal, not {self.kind}")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise ValueError(f"Param minimum {minimum} is above its maximum {maximum}")
        if step is not None and not step > 0:  # type: ignore[operator]
            raise ValueError(f"Param step must be positive, not {step}")
        self.coerce(default)  # a default outside its own range or choices is a programming error

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if not self.label:
            self.label = name.replace("_", " ").capitalize()

    @overload
    def __get__(self, instance: None, owner: type) -> Param[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> Param[T] | T:
        if instance is None:
            return self
        return cast(T, instance.__dict__["_parameters"][self.name])

    def __set__(self, instance: object, value: object) -> None:
        raise AttributeError(f"parameter {self.name} is read-only: pass it to the constructor")

    def coerce(self, value: object) -> T:
        """``value`` as this parameter's type, checked against choices and range; strings (from a
        form or a URL) are parsed. Raises :class:`ParameterError`."""
        converted = self._convert(value)
        if self.choices is not None and converted not in self.choices:
            allowed = ", ".join(str(choice) for choice in self.choices)
            raise ParameterError(
                "invalid_parameter", f"{self.name} must be one of {allowed}, not {value!r}.", self.name
            )
        if self.kind in (int, float, Decimal):
            number = cast(Any, converted)
            if self.minimum is not None and number < self.minimum:
                raise ParameterError(
                    "parameter_out_of_range",
                    f"{self.name} must be at least {self.minimum}, not {converted}.",
                    self.name,
                )
            if self.maximum is not None and number > self.maximum:
                raise ParameterError(
                    "parameter_out_of_range",
                    f"{self.name} must be at most {self.maximum}, not {converted}.",
                    self.name,
                )
        return converted

    def _convert(self, value: object) -> T:
        kind = self.kind
        converter = {bool: _to_bool, str: _to_str, int: _to_int, float: _to_float, Decimal: _to_decimal}[kind]
        # True is an int in Python, never a window length
        converted = None if isinstance(value, bool) and kind is not bool else converter(value)
        if converted is None:
            raise ParameterError(
                "invalid_parameter", f"{self.name} must be a {kind.__name__}, not {value!r}.", self.name
            )
        return cast(T, converted)

    def grid(self) -> list[T]:
        """Every value from ``minimum`` to ``maximum`` by ``step`` (bool: both; choices: the choices;
        numbers without bounds: the default alone). Decimal steps avoid float drift."""
        if self.choices is not None:
            return list(self.choices)
        values: list[Any]
        if self.kind is bool:
            values = [False, True]
        elif self.minimum is None or self.maximum is None or self.kind is str:
            values = [self.default]
        elif self.kind is int:
            values = list(range(int(self.minimum), int(self.maximum) + 1, int(self.step or 1)))
        else:
            low, high = Decimal(repr(self.minimum)), Decimal(repr(self.maximum))
            step = Decimal(repr(self.step)) if self.step is not None else (high - low) / 10 or Decimal(1)
            count = int((high - low) / step) + 1
            values = [low + step * index for index in range(count)]
            if self.kind is float:
                values = [float(value) for value in values]
        return values

    def sample(self, rng: random.Random) -> T:
        """One random value: uniform over :meth:`grid` when it has more than one value, else uniform
        in ``[minimum, maximum]`` for floats; the default when the parameter has no range."""
        values = self.grid()
        if len(values) > 1:
            return values[rng.randrange(len(values))]
        if self.kind is float and self.minimum is not None and self.maximum is not None:
            drawn: Any = rng.uniform(float(self.minimum), float(self.maximum))
            return cast(T, drawn)
        return self.default

    def describe(self) -> dict[str, object]:
        """The parameter as a UI form field (JSON-friendly: Decimals as strings)."""

        def plain(value: object) -> object:
            return str(value) if isinstance(value, Decimal) else value

        return {
            "name": self.name,
            "label": self.label,
            "type": {int: "int", float: "float", bool: "bool", str: "str", Decimal: "decimal"}[self.kind],
            "default": plain(self.default),
            "minimum": plain(self.minimum),
            "maximum": plain(self.maximum),
            "step": plain(self.step),
            "choices": None if self.choices is None else [plain(choice) for choice in self.choices],
            "help": self.help,
        }


def _to_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "on", "off"}:
        return value.strip().lower() in {"true", "1", "on"}
    return None


def _to_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _to_int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _to_float(value: object) -> float | None:
    if not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _to_decimal(value: object) -> Decimal | None:
    if not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
