"""The built-in strategies (pure, no Django), by the name the UI and the API use for them."""

from __future__ import annotations

from strategies.builtins.breakout import DonchianBreakout
from strategies.builtins.mean_reversion import BollingerMeanReversion
from strategies.builtins.momentum import Momentum
from strategies.builtins.moving_average_crossover import MovingAverageCrossover
from strategies.sdk import Strategy

BUILTINS: dict[str, type[Strategy]] = {
    "moving_average_crossover": MovingAverageCrossover,
    "momentum": Momentum,
    "bollinger_mean_reversion": BollingerMeanReversion,
    "donchian_breakout": DonchianBreakout,
}

__all__ = ["BUILTINS", "BollingerMeanReversion", "DonchianBreakout", "Momentum", "MovingAverageCrossover"]
