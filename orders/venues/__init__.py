"""Venues: where an account's orders execute. The seam is described in ``orders.venues.base``; the
paper venue is ``orders.venues.paper``; :func:`venue_for` picks an account's venue."""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import AccountKind, TradingAccount
from orders.venues.base import Replaced, ReportedFill, ReportedStatus, Venue, VenueReports
from orders.venues.paper import PaperVenue, execution_config, paper_venue

__all__ = [
    "PaperVenue",
    "Replaced",
    "ReportedFill",
    "ReportedStatus",
    "Venue",
    "VenueReports",
    "execution_config",
    "paper_venue",
    "venue_for",
]

# a broker venue registers here under its account kind
_VENUES: dict[str, Callable[[], Venue]] = {AccountKind.PAPER: paper_venue}


def venue_for(account: TradingAccount) -> Venue:
    """The venue that executes ``account``'s orders: the paper venue for paper accounts. No broker
    venue exists yet, so a live account is simulated by the paper venue as well (as it always was)."""
    return _VENUES.get(account.kind, paper_venue)()
