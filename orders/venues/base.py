"""The venue seam: where an account's orders execute, and how a venue's reports come back.

Outbound, the order services call a :class:`Venue` inside the placing transaction (account and
order rows locked) and get the order's next state back as an ``orders.matching.MatchResult``. The
services store that result (status events, fills to the portfolio, reservation) and run the
contingent-group rules: a venue decides, it never writes order state itself, so every status change
still goes through ``orders.states.transition`` in the pure rules.

- The paper venue (``orders.venues.paper``) matches with ``orders.matching`` at once: ``submit``
  answers with the acceptance and any fill against the latest quote, ``cancel`` with the cancel.
- A broker venue (Alpaca, ccxt) plugs in without touching placement or risk: ``submit`` answers with
  the order unchanged (still ``new``) and registers a task that sends it after the commit
  (``transaction.on_commit``); the task looks the order up by ``client_order_id`` before any retry,
  so a timeout never sends it twice. ``cancel`` and ``replace`` likewise answer with the pending
  state and send after the commit.

Inbound, a broker venue hears back through its stream and hands each report to
:class:`VenueReports` (``orders.services.reports`` implements it): a :class:`ReportedStatus`
(accepted, rejected, canceled, expired) or a :class:`ReportedFill`. Reports repeat and arrive out of
order: a fill is keyed by the venue's per-order sequence, so a repeat is a no-op, and a status that
no longer applies changes nothing (``orders.matching.apply_reported_status``).

What a venue lacks (brackets, OCO, trailing-stop legs) is emulated on our side with the paper
semantics: the group rules (``orders.contingent``) run on every stored result, whichever venue
produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from marketdata.domain import Quote
from orders.matching import MatchResult, WorkingOrder
from orders.states import OrderStatus, Reason

if TYPE_CHECKING:
    from marketdata.models import Instrument


@dataclass(frozen=True, slots=True)
class Replaced:
    """A replace's two results: the old order's end and the new order's submission."""

    old: MatchResult
    new: MatchResult


class Venue(Protocol):
    """Where orders go. Each method is called with the account and order rows locked, inside the
    transaction that stores its answer; it must not write order rows itself."""

    def submit(
        self, order: WorkingOrder, *, instrument: Instrument, quote: Quote | None, now: datetime
    ) -> MatchResult:
        """Take a NEW order (already validated and risk-checked): its next state."""
        ...

    def cancel(self, order: WorkingOrder, *, reason: Reason) -> MatchResult:
        """Cancel an open order for ``reason``: canceled at once, or pending until the venue confirms."""
        ...

    def replace(
        self,
        old: WorkingOrder,
        new: WorkingOrder,
        *,
        instrument: Instrument,
        quote: Quote | None,
        now: datetime,
    ) -> Replaced:
        """Swap working ``old`` for ``new`` (a NEW order for what is left to fill)."""
        ...


@dataclass(frozen=True, slots=True)
class ReportedFill:
    """A fill as a venue reports it. ``sequence`` is the venue's per-order execution number (or any
    stable key mapped to one): the same report delivered twice is applied once."""

    order_id: str
    sequence: int
    quantity: Decimal
    price: Decimal
    commission: Decimal
    executed_at: datetime


@dataclass(frozen=True, slots=True)
class ReportedStatus:
    """A status a venue reports for an order: ``accepted``, ``rejected``, ``canceled`` or ``expired``.
    ``reason`` and ``message`` say why, when the venue says (else a default reason is stored)."""

    order_id: str
    status: OrderStatus
    reason: Reason | None = None
    message: str = ""


class VenueReports(Protocol):
    """The inbound path: what a venue's stream calls with each report. Both are idempotent and
    return whether the report changed anything."""

    def record_status(self, report: ReportedStatus) -> bool: ...

    def record_fill(self, report: ReportedFill) -> bool: ...
