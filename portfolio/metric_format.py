"""How a performance metric reads on a page (pure, no Django): the backtest results and the dashboard
show ``portfolio.metrics`` figures with the same labels and formats. Values are as
``Metrics.as_dict`` gives them: floats, ``"inf"``/``"-inf"``, None when undefined, the longest
drawdown in seconds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portfolio.metrics import metric_number


@dataclass(frozen=True, slots=True)
class MetricFormat:
    label: str
    kind: str  # pct (a fraction shown in %), ratio, money, count, duration
    signed: bool = False  # green above zero, red below


METRIC_FORMATS: dict[str, MetricFormat] = {
    "start_equity": MetricFormat("Starting equity", "money"),
    "end_equity": MetricFormat("Final equity", "money"),
    "periods": MetricFormat("Bars", "count"),
    "periods_per_year": MetricFormat("Bars per year", "count"),
    "risk_free_rate": MetricFormat("Risk-free rate", "pct"),
    "total_return": MetricFormat("Total return", "pct", signed=True),
    "annualized_return": MetricFormat("Annualised return", "pct", signed=True),
    "volatility": MetricFormat("Volatility (annualised)", "pct"),
    "sharpe": MetricFormat("Sharpe ratio", "ratio", signed=True),
    "sortino": MetricFormat("Sortino ratio", "ratio", signed=True),
    "calmar": MetricFormat("Calmar ratio", "ratio", signed=True),
    "max_drawdown": MetricFormat("Max drawdown", "pct"),
    "max_drawdown_periods": MetricFormat("Longest drawdown (bars)", "count"),
    "max_drawdown_duration": MetricFormat("Longest drawdown", "duration"),
    "trades": MetricFormat("Trades", "count"),
    "win_rate": MetricFormat("Win rate", "pct"),
    "average_win": MetricFormat("Average win", "money", signed=True),
    "average_loss": MetricFormat("Average loss", "money", signed=True),
    "profit_factor": MetricFormat("Profit factor", "ratio"),
    "expectancy": MetricFormat("Expectancy (per trade)", "money", signed=True),
    "average_trade_return": MetricFormat("Average trade return", "pct", signed=True),
    "exposure_time": MetricFormat("Time in the market", "pct"),
    "buy_and_hold_return": MetricFormat("Buy and hold return", "pct", signed=True),
    "excess_return": MetricFormat("Return over buy and hold", "pct", signed=True),
    "var_confidence": MetricFormat("VaR confidence", "pct"),
    "var_historical": MetricFormat("VaR, historical (1 bar)", "pct"),
    "var_monte_carlo": MetricFormat("VaR, Monte Carlo (1 bar)", "pct"),
}


def metric_text(name: str, value: Any) -> str:
    """A metric as people read it: ``12.34%``, ``1.52``, ``10,250.00``, ``34 days``; ``—`` when it is
    undefined, ``∞`` for an infinite one (a profit factor without losses)."""
    number = metric_number(value)
    if number is None:
        return "—"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    shape = METRIC_FORMATS.get(name, MetricFormat(name, "ratio"))
    sign = "+" if shape.signed and number > 0 else ""
    if shape.kind == "pct":
        text = f"{sign}{number * 100:,.2f}%"
    elif shape.kind == "money":
        text = f"{sign}{number:,.2f}"
    elif shape.kind == "count":
        text = f"{number:,.0f}"
    elif shape.kind == "duration":
        text = duration_text(number)
    else:
        text = f"{sign}{number:,.2f}"
    return text


def metric_class(name: str, value: Any) -> str:
    number = metric_number(value)
    shape = METRIC_FORMATS.get(name)
    if number is None or shape is None or not shape.signed or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


def duration_text(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days:,} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours and days < 10 else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def metric_label(name: str, metrics: Mapping[str, Any] | None = None) -> str:
    label = METRIC_FORMATS[name].label if name in METRIC_FORMATS else name.replace("_", " ").capitalize()
    confidence = metric_number((metrics or {}).get("var_confidence"))
    if name.startswith("var_") and name != "var_confidence" and confidence is not None:
        label = label.replace("VaR", f"VaR {confidence * 100:g}%")
    return label
