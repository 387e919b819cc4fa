"""Portfolio pages: the dashboard (account summary, the equity curve over a range, positions with live
P&L, open orders, today's P&L, allocation, performance metrics, realised P&L by symbol and strategy).

The account is valued once per request and that valuation feeds the summary, the positions, the last
point of the curve and the analytics, which keeps the page's queries bounded whatever its history."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import TradingAccount
from portfolio import analytics
from portfolio.api.serializers import EquityCurveSerializer
from portfolio.metrics import Metrics
from portfolio.selectors import (
    EquityCurve,
    ValuedPosition,
    account_analytics,
    account_summary,
    account_valuation,
    check_range,
    equity_curve,
    valued_positions,
)
from tradeapp.core import clock
from tradeapp.core.errors import DomainError

DASHBOARD_OPEN_ORDERS = 10
MIN_BAR = Decimal("0.5")  # percent of the allocation bar's length
SPARK_WIDTH, SPARK_HEIGHT = 600, 160  # the curve drawn by the server (no JavaScript), viewBox units


def position_rows(
    account: TradingAccount, valued: Sequence[ValuedPosition] | None = None
) -> list[dict[str, Any]]:
    """The account's open positions valued at the latest quotes (``valued``: already valued by the
    caller), with what the page's JavaScript needs to revalue them on every tick (the quote stream,
    the tick size's decimal places)."""
    from marketdata.consumers import quote_stream

    rows = []
    for row in valued_positions(account) if valued is None else valued:
        tick = row.instrument.tick_size.normalize()
        rows.append(
            {
                "row": row,
                "symbol": row.instrument.symbol,
                "url_symbol": row.instrument.symbol.replace("/", "-"),
                "stream": quote_stream(row.instrument.symbol),
                "places": max(2, -tick.as_tuple().exponent),  # type: ignore[operator]
                "long": row.position.quantity > 0,
            }
        )
    return rows


def spark_points(curve: EquityCurve) -> str:
    """The curve as an SVG polyline (``x,y`` pairs in a SPARK_WIDTH x SPARK_HEIGHT box): time on x,
    equity on y (top = the range's high)."""
    points = curve.points
    start, end = points[0].time, points[-1].time
    span = (end - start).total_seconds() or 1.0
    values = [float(point.equity) for point in points]
    low, high = min(values), max(values)
    rise = (high - low) or 1.0
    margin = 4
    pairs = []
    for point, value in zip(points, values, strict=True):
        x = (point.time - start).total_seconds() / span * SPARK_WIDTH
        y = margin + (high - value) / rise * (SPARK_HEIGHT - 2 * margin)
        if high == low:
            y = SPARK_HEIGHT / 2
        pairs.append(f"{x:.1f},{y:.1f}")
    if len(pairs) == 1:
        pairs.append(f"{SPARK_WIDTH},{pairs[0].split(',')[1]}")
    return " ".join(pairs)


def _pct(fraction: float | None, *, signed: bool = False) -> str:
    if fraction is None or not math.isfinite(fraction):
        return "—"
    text = f"{fraction * 100:,.2f}%"
    return f"+{text}" if signed and fraction > 0 else text


def _ratio(value: float | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) or math.isinf(value):
        return "∞"
    return f"{value:,.2f}"


def _money(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}"
    return f"+{text}" if signed and value > 0 else text


def _tone(value: float | None, *, invert: bool = False) -> str:
    if value is None or value == 0 or not math.isfinite(value):
        return ""
    return "pos" if (value > 0) != invert else "neg"


def _duration(metrics: Metrics) -> str:
    duration = metrics.max_drawdown_duration
    if duration is None:
        return "—"
    seconds = int(duration.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m"


def metric_cards(metrics: Metrics, period: analytics.MetricsPeriod) -> list[dict[str, str]]:
    """The performance figures as the dashboard shows them: label, value, tone (pos/neg) and a hint."""
    per = "day" if period.name == "1d" else "hour"
    var_hint = f"one {per}, {metrics.var_confidence:.0%} confidence"
    rows = [
        ("Total return", _pct(metrics.total_return, signed=True), _tone(metrics.total_return), ""),
        (
            "Annualized return",
            _pct(metrics.annualized_return, signed=True),
            _tone(metrics.annualized_return),
            "after 30 days of history" if metrics.annualized_return is None else "",
        ),
        ("Volatility", _pct(metrics.volatility), "", "annualized"),
        ("Sharpe", _ratio(metrics.sharpe), _tone(metrics.sharpe), ""),
        ("Sortino", _ratio(metrics.sortino), _tone(metrics.sortino), ""),
        ("Calmar", _ratio(metrics.calmar), _tone(metrics.calmar), ""),
        ("Max drawdown", _pct(metrics.max_drawdown), _tone(metrics.max_drawdown, invert=True), ""),
        ("Drawdown duration", _duration(metrics), "", "longest below a peak"),
        ("Trades", f"{metrics.trades}", "", "closed round trips"),
        ("Win rate", _pct(metrics.win_rate), "", ""),
        ("Average win", _money(metrics.average_win, signed=True), _tone(metrics.average_win), ""),
        ("Average loss", _money(metrics.average_loss, signed=True), _tone(metrics.average_loss), ""),
        ("Profit factor", _ratio(metrics.profit_factor), "", ""),
        ("Expectancy", _money(metrics.expectancy, signed=True), _tone(metrics.expectancy), "per trade"),
        ("Exposure", _pct(metrics.exposure_time), "", "time with a position open"),
        ("VaR (historical)", _pct(metrics.var_historical), "", var_hint),
        ("VaR (Monte Carlo)", _pct(metrics.var_monte_carlo), "", var_hint),
    ]
    return [{"label": label, "value": value, "tone": tone, "hint": hint} for label, value, tone, hint in rows]


def allocation_rows(rows: Sequence[analytics.AllocationRow]) -> list[dict[str, Any]]:
    """Allocation rows with their bar: its length is the row's share of equity (capped at 100; a
    holding too small to see keeps a sliver of MIN_BAR)."""

    def bar(pct: Decimal | None) -> Decimal:
        if not pct:
            return Decimal(0)
        return max(MIN_BAR, min(abs(pct), Decimal(100))).quantize(Decimal("0.1"))

    return [{"row": row, "bar": bar(row.pct)} for row in rows]


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    from orders.selectors import orders_of

    account = request.account  # type: ignore[attr-defined]
    range_error = ""
    try:
        range_name = check_range(request.GET.get("range", analytics.DEFAULT_RANGE))
    except DomainError as error:
        range_name, range_error = analytics.DEFAULT_RANGE, error.message
    now = clock.now()
    valuation = account_valuation(account)
    summary = account_summary(account, valuation=valuation)
    curve = equity_curve(account, range_name, now=now, valuation=valuation)
    results = account_analytics(
        account, now=now, valuation=valuation, start_equity=summary.start_of_day_equity
    )
    context = {
        "account": account,
        "summary": summary,
        "positions": position_rows(account, valuation.positions),
        "open_orders": list(orders_of(account, status="open")[:DASHBOARD_OPEN_ORDERS]),
        "curve": curve,
        "curve_data": EquityCurveSerializer(curve).data,
        "curve_spark": spark_points(curve),
        "curve_url": reverse("api:account-equity", args=[account.pk]),
        "ranges": [
            {
                "name": spec.name,
                "label": spec.label,
                "description": spec.description,
                "current": spec.name == range_name,
            }
            for spec in analytics.RANGES.values()
        ],
        "range_name": range_name,
        "range_description": analytics.RANGES[range_name].description,
        "range_error": range_error,
        "analytics": results,
        "metric_cards": metric_cards(results.metrics, results.metrics_period),
        "allocation_tables": [
            ("By symbol", allocation_rows(results.allocation.by_symbol), "symbol"),
            ("By asset class", allocation_rows(results.allocation.by_asset_class), "class"),
        ],
    }
    return render(request, "portfolio/dashboard.html", context)
