"""The Strategy base class and loading a strategy class by its path (pure, no Django)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar

from orders.matching import Fill
from strategies.sdk.errors import ParameterError, StrategyProblem
from strategies.sdk.params import Param

if TYPE_CHECKING:
    from strategies.sdk.context import Context


class Strategy:
    """Base class of every strategy. Subclass it, declare :class:`Param` attributes, override hooks.

    Lifecycle, per run: ``on_start(ctx)`` once before the first bar (declare indicators there),
    ``on_bar(ctx)`` after every closed bar (for several symbols: once per timestamp, after all the
    symbols' bars of that timestamp; ``ctx.has_bar(symbol)`` tells which ones are new),
    ``on_fill(ctx, fill)`` for each execution of one of its orders (before ``on_bar`` of the bar it
    happened on, with the Context still showing the previous bar), ``on_stop(ctx)`` once at the end.

    Parameters are validated by the constructor (types, ranges, then :meth:`check_parameters` for rules
    across parameters); an instance is for one run (it may keep state on ``self``), so optimisers build
    a new one per run. Prefer decisions that follow from the Context (position, open orders,
    indicators): a live deployment restarts from those.
    """

    title: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # False: written for ``ctx.symbol`` alone; deployments and backtests refuse it on several symbols
    multi_symbol: ClassVar[bool] = True

    def __init__(self, **parameters: object) -> None:
        specs = type(self).parameter_specs()
        unknown = sorted(set(parameters) - set(specs))
        if unknown:
            known = ", ".join(specs) or "none"
            raise ParameterError(
                "unknown_parameter",
                f"{type(self).__name__} has no parameter {unknown[0]!r} (parameters: {known}).",
                unknown[0],
            )
        values = {name: spec.coerce(parameters.get(name, spec.default)) for name, spec in specs.items()}
        self.__dict__["_parameters"] = values
        self.check_parameters()

    @classmethod
    def parameter_specs(cls) -> dict[str, Param[Any]]:
        """Declared parameters by name, base classes first, in declaration order."""
        specs: dict[str, Param[Any]] = {}
        for klass in reversed(cls.__mro__):
            specs.update({name: value for name, value in vars(klass).items() if isinstance(value, Param)})
        return specs

    @classmethod
    def schema(cls) -> dict[str, object]:
        """Name, title, summary and parameter fields of the strategy, for a UI form or an API."""
        return {
            "name": f"{cls.__module__}:{cls.__qualname__}",
            "title": cls.title or cls.__name__,
            "summary": cls.summary or (cls.__doc__ or "").strip().split("\n")[0],
            "parameters": [spec.describe() for spec in cls.parameter_specs().values()],
        }

    @property
    def parameters(self) -> dict[str, Any]:
        """This instance's parameter values (a copy)."""
        return dict(self.__dict__["_parameters"])

    def check_parameters(self) -> None:
        """Override to check rules between parameters; raise :class:`ParameterError`."""

    def on_start(self, ctx: Context) -> None:
        """Called once before the first bar: declare indicators, set up state."""

    def on_bar(self, ctx: Context) -> None:
        """Called after each closed bar (once per timestamp with several symbols)."""

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Called for each fill of one of the strategy's orders."""

    def on_stop(self, ctx: Context) -> None:
        """Called once after the last bar."""

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.parameters.items())
        return f"{type(self).__name__}({arguments})"


def load_strategy(path: str) -> type[Strategy]:
    """Import ``"package.module:ClassName"`` (or ``package.module.ClassName``) and check that it is a
    :class:`Strategy` subclass. Raises :class:`StrategyProblem` (``unknown_strategy``)."""
    module_name, _, class_name = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not class_name:
        raise StrategyProblem("unknown_strategy", f"{path!r} is not 'module:ClassName'.", "strategy")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StrategyProblem(
            "unknown_strategy", f"Cannot import {module_name!r}: {error}.", "strategy"
        ) from error
    klass = getattr(module, class_name, None)
    if not (isinstance(klass, type) and issubclass(klass, Strategy)) or klass is Strategy:
        raise StrategyProblem("unknown_strategy", f"{path!r} is not a Strategy subclass.", "strategy")
    return klass


def strategy_path(klass: type[Strategy]) -> str:
    """The ``"module:ClassName"`` string :func:`load_strategy` reads back."""
    return f"{klass.__module__}:{klass.__qualname__}"
