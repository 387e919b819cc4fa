"""Read paths for backtests: a user's runs (another user's are simply not found), the strategies a
user may run (the catalog: the built-ins and the strategies app's enabled definitions), and how much
stored history a symbol has for a period."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import F, Max, Min, QuerySet
from django.db.models.functions import Coalesce

from backtests.models import Backtest
from marketdata.domain import Timeframe
from marketdata.models import Bar, Instrument
from strategies.builtins import BUILTINS
from strategies.sdk import Strategy, load_strategy, strategy_path
from strategies.selectors import definitions
from tradeapp.core.errors import DomainError, NotFound

logger = logging.getLogger(__name__)


# --- runs ---------------------------------------------------------------------------------------------


def backtests_of(owner: object) -> QuerySet[Backtest]:
    """The owner's runs, newest first, without the heavy columns (results' metrics come annotated; a
    walk-forward's are those of its stitched out-of-sample run)."""
    return (
        Backtest.objects.filter(owner=owner)
        .defer("results", "trades")
        .annotate(metrics=Coalesce(F("results__metrics"), F("results__walk_forward__metrics")))
        .order_by("-created_at", "-id")
    )


def backtest_of(
    owner: object, backtest_id: object, *, field: str = "backtest_id", trades: bool = False
) -> Backtest:
    """The owner's run with this id, or NotFound (404), also for another user's run. The trade list
    is loaded only when asked for."""
    rows = Backtest.objects.filter(owner=owner)
    if not trades:
        rows = rows.defer("trades")
    try:
        return rows.get(pk=backtest_id)
    except (Backtest.DoesNotExist, ValidationError, ValueError, TypeError) as error:
        raise NotFound("No such backtest.", field) from error


# --- the strategy catalog -----------------------------------------------------------------------------


def strategy_catalog() -> dict[str, type[Strategy]]:
    """Every strategy a user may backtest, by the key the API uses: the built-ins by their ``BUILTINS``
    name, then the enabled definitions an admin registered in the strategies app (by their key). A
    definition the admin disabled is left out, a built-in too; one whose code no longer imports is
    left out and logged rather than breaking the catalog for everyone."""
    catalog: dict[str, type[Strategy]] = dict(BUILTINS)
    for definition in definitions(enabled_only=False).order_by("key"):
        if not definition.enabled:
            catalog.pop(definition.key, None)
        elif definition.key not in catalog:
            try:
                catalog[definition.key] = load_strategy(definition.path)
            except Exception:  # a registered module's own import may raise anything
                logger.exception("registered strategy %s (%s) is unusable", definition.key, definition.path)
    return catalog


def strategy_by_key(key: object) -> tuple[str, type[Strategy]]:
    """``(canonical key, class)`` for a catalog key; a built-in's import path is accepted for its key.
    Anything else: ``unknown_strategy`` on field ``strategy`` (never an import of arbitrary modules)."""
    catalog = strategy_catalog()
    text = str(key).strip() if isinstance(key, str) else ""
    if text in catalog:
        return text, catalog[text]
    for name, klass in catalog.items():
        if strategy_path(klass) == text:
            return name, klass
    known = ", ".join(catalog)
    shown = text if len(text) <= 80 else text[:80] + "..."
    raise DomainError("unknown_strategy", f"Unknown strategy '{shown}'; choose one of: {known}.", "strategy")


# --- stored history -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coverage:
    """Whether a symbol has bars of a timeframe in a period, and the span of all its bars of that
    timeframe (None when it has none at all)."""

    in_period: bool
    first: datetime | None
    last: datetime | None


def bar_coverage(instrument: Instrument, timeframe: Timeframe, start: datetime, end: datetime) -> Coverage:
    """Two index lookups on (instrument, timeframe, open_time); the span only when the period is empty."""
    bars = Bar.objects.filter(instrument=instrument, timeframe=timeframe.value)
    if bars.filter(open_time__gte=start, open_time__lt=end).exists():
        return Coverage(True, None, None)
    span = bars.aggregate(first=Min("open_time"), last=Max("open_time"))
    return Coverage(False, span["first"], span["last"])
