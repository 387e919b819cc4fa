"""The SDK's one error type: a strategy or its input is unusable (pure, no Django)."""

from __future__ import annotations


class StrategyProblem(ValueError):
    """A strategy or its input is unusable. ``code`` is stable (the Django shell turns it into a
    ``DomainError``), ``field`` names the parameter or argument at fault when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ParameterError(StrategyProblem):
    """A parameter is unknown, of the wrong type or out of its range (codes ``unknown_parameter``,
    ``invalid_parameter``, ``parameter_out_of_range``)."""
