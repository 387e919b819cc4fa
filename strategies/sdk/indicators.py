"""The indicators a strategy computes, from ``marketdata.indicators`` (the one implementation the chart
API shares), refusing bad windows as a :class:`StrategyProblem` (``invalid_indicator``). Conventions
(warm-up, ties, agreement with ``ta``) are stated in ``marketdata.indicators``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from marketdata import indicators
from marketdata.indicators import IndicatorError
from strategies.sdk.errors import StrategyProblem

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _refused_as_strategy_problem(function: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(function)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except IndicatorError as error:
            raise StrategyProblem("invalid_indicator", error.message, error.field) from error

    return checked


sma = _refused_as_strategy_problem(indicators.sma)
ema = _refused_as_strategy_problem(indicators.ema)
rsi = _refused_as_strategy_problem(indicators.rsi)
macd = _refused_as_strategy_problem(indicators.macd)
bollinger = _refused_as_strategy_problem(indicators.bollinger)
true_range = indicators.true_range
atr = _refused_as_strategy_problem(indicators.atr)
donchian = _refused_as_strategy_problem(indicators.donchian)
