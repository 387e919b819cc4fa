"""The paper venue: orders execute against the simulator's latest quotes with ``orders.matching``,
inside the placing transaction (the result is known before the commit).

It is also the paper broker's evaluation of resting orders on every new quote
(``orders.services.evaluation``): :meth:`PaperVenue.evaluate`. A quote older than
``QUOTE_MAX_AGE_SECONDS`` is no price at all, and outside the market's session orders only rest
(IOC/FOK were refused at validation) and expire; fills follow ``PAPER_SLIPPAGE_BPS`` and
``PAPER_COMMISSION_*`` (:func:`execution_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from marketdata import calendar
from marketdata.domain import Quote
from marketdata.models import Instrument
from orders import matching
from orders.matching import MatchResult, WorkingOrder
from orders.states import Reason
from orders.venues.base import Replaced
from tradeapp.core.decimals import to_decimal


def execution_config() -> matching.ExecutionConfig:
    """The paper broker's fill model from settings (PAPER_SLIPPAGE_BPS, PAPER_COMMISSION_*)."""
    slippage_bps = to_decimal(settings.PAPER_SLIPPAGE_BPS)
    per_share = to_decimal(settings.PAPER_COMMISSION_PER_SHARE)
    commission_bps = to_decimal(settings.PAPER_COMMISSION_BPS)
    commission: matching.CommissionModel = matching.NoCommission()
    if per_share > 0:
        commission = matching.PerShare(per_share)
    elif commission_bps > 0:
        commission = matching.BpsCommission(commission_bps)
    slippage: matching.SlippageModel = (
        matching.BpsSlippage(slippage_bps) if slippage_bps > 0 else matching.NoSlippage()
    )
    return matching.ExecutionConfig(slippage=slippage, commission=commission)


def fresh(quote: Quote | None, now: datetime) -> Quote | None:
    """``quote`` when it is recent enough to trade on, else None."""
    if quote is None or now - quote.ts > timedelta(seconds=settings.QUOTE_MAX_AGE_SECONDS):
        return None
    return quote


@dataclass(frozen=True, slots=True)
class PaperVenue:
    """The simulator's venue with one fill model (build it with :func:`paper_venue`)."""

    config: matching.ExecutionConfig

    def submit(
        self, order: WorkingOrder, *, instrument: Instrument, quote: Quote | None, now: datetime
    ) -> MatchResult:
        market_open = calendar.is_open(instrument.asset_class, now)
        return matching.on_submit(
            order,
            fresh(quote, now) if market_open else None,
            config=self.config,
            tick_size=instrument.tick_size,
            lot_size=instrument.lot_size,
        )

    def cancel(self, order: WorkingOrder, *, reason: Reason) -> MatchResult:
        return matching.cancel_order(order, reason)

    def replace(
        self,
        old: WorkingOrder,
        new: WorkingOrder,
        *,
        instrument: Instrument,
        quote: Quote | None,
        now: datetime,
    ) -> Replaced:
        return Replaced(
            matching.replace_order(old), self.submit(new, instrument=instrument, quote=quote, now=now)
        )

    def evaluate(
        self, order: WorkingOrder, quote: Quote, *, instrument: Instrument, now: datetime, market_open: bool
    ) -> MatchResult:
        """A resting order against a new quote of its symbol; with the market closed only its expiry."""
        if not market_open:
            return matching.expire_order(order, now)
        return matching.on_market_event(
            order, quote, config=self.config, tick_size=instrument.tick_size, lot_size=instrument.lot_size
        )


def paper_venue() -> PaperVenue:
    """The paper venue with the fill model the settings give now."""
    return PaperVenue(execution_config())
