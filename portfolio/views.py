"""Portfolio pages: the dashboard (account summary, the equity curve over a range, positions with live
P&L, open orders, today's P&L, allocation, performance metrics, realised P&L by symbol and strategy).

The account is valued once per request and that valuation feeds the summary, the positions, the last
point of the curve and the analytics, which keeps the page's queries bounded whatever its history."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import TradingAccount
from marketdata.consumers import quote_stream
from portfolio import analytics
from portfolio.api.serializers import EquityCurveSerializer
from portfolio.metric_format import metric_class, metric_label, metric_text
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
from tradeapp.core.formatting import url_symbol

DASHBOARD_OPEN_ORDERS = 10
MIN_BAR = Decimal("0.5")  # percent of the allocation bar's length
SPARK_WIDTH, SPARK_HEIGHT = 600, 160  # the curve drawn by the server (no JavaScript), viewBox units


def position_rows(
    account: TradingAccount, valued: Sequence[ValuedPosition] | None = None
) -> list[dict[str, Any]]:
    """The account's open positions valued at the latest quotes (``valued``: already valued by the
    caller), with what the page's JavaScript needs to revalue them on every tick (the quote stream,
    the tick size's decimal places)."""
    rows = []
    for row in valued_positions(account) if valued is None else valued:
        tick = row.instrument.tick_size.normalize()
        rows.append(
            {
                "row": row,
                "symbol": row.instrument.symbol,
                "url_symbol": url_symbol(row.instrument.symbol),
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


# the dashboard's figures, in order, with a hint under some (labels and formats: portfolio.metric_format)
DASHBOARD_METRICS: tuple[tuple[str, str], ...] = (
    ("total_return", ""),
    ("annualized_return", ""),
    ("volatility", ""),
    ("sharpe", ""),
    ("sortino", ""),
    ("calmar", ""),
    ("max_drawdown", ""),
    ("max_drawdown_duration", "longest below a peak"),
    ("trades", "closed round trips"),
    ("win_rate", ""),
    ("average_win", ""),
    ("average_loss", ""),
    ("profit_factor", ""),
    ("expectancy", ""),
    ("exposure_time", "time with a position open"),
    ("var_historical", ""),
    ("var_monte_carlo", ""),
)


def metric_cards(metrics: Metrics, period: analytics.MetricsPeriod) -> list[dict[str, str]]:
    """The performance figures as the dashboard shows them (label, value, tone pos/neg, hint), read as
    the backtest results read them."""
    values = metrics.as_dict()
    per = "day" if period.name == "1d" else "hour"
    hints = {"var_historical": f"one {per}", "var_monte_carlo": f"one {per}"}
    if values["annualized_return"] is None:
        hints["annualized_return"] = "after 30 days of history"
    return [
        {
            "label": metric_label(name, values),
            "value": metric_text(name, values[name]),
            "tone": metric_class(name, values[name]),
            "hint": hints.get(name, hint),
        }
        for name, hint in DASHBOARD_METRICS
    ]


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
