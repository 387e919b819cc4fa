"""The inbound path of a venue (``orders.venues.base.VenueReports``): statuses and fills a broker
reports through its stream, applied exactly once and in any order of arrival.

A report decides nothing here: the order's next state comes from ``orders.matching``
(``apply_reported_status`` / ``apply_reported_fill``) and is stored like any other result, so
positions, cash, events and the contingent-group rules follow the same single path as the paper
venue's fills. A fill is unique per (order, venue sequence): a redelivered report is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from orders import matching
from orders.models import Fill as FillRow, Order
from orders.services.persistence import persist, to_working
from orders.services.unit_of_work import unit_of_work
from orders.states import Side
from orders.venues.base import ReportedFill, ReportedStatus
from tradeapp.core.errors import Conflict, NotFound

_RESERVATION_STEP = Decimal("1E-10")  # the reserved_cash column's scale; rounding up never under-holds

__all__ = ["ReportedFill", "ReportedStatus", "record_fill", "record_status"]


def record_status(report: ReportedStatus) -> bool:
    """Apply a venue's status report (accepted, rejected, canceled, expired). Returns False when it
    changed nothing: a repeat, or a report overtaken by what the order has done since."""
    with unit_of_work(_account_of(report.order_id)) as work:
        row = Order.objects.select_for_update().select_related("instrument").get(pk=report.order_id)
        result = matching.apply_reported_status(to_working(row), report.status, report.reason)
        if not result.changed:
            return False
        persist(work, row, result, quote=None, message=report.message or None)
    return True


def record_fill(report: ReportedFill) -> bool:
    """Apply a venue's fill to the order, the position and the cash ledger, exactly once: a report
    already stored is a no-op (False). Reports may arrive out of order; the order's filled quantity,
    average price and status are recomputed from all its fills, so any delivery order ends in the
    same state. The order keeps its reservation until it has filled."""
    with unit_of_work(_account_of(report.order_id)) as work:
        row = Order.objects.select_for_update().select_related("instrument").get(pk=report.order_id)
        stored = list(FillRow.objects.filter(order=row))
        if any(fill.sequence == report.sequence for fill in stored):
            return False
        fill = _fill(
            row,
            sequence=report.sequence,
            quantity=report.quantity,
            price=report.price,
            commission=report.commission,
            executed_at=report.executed_at,
        )
        previous = [
            _fill(
                row,
                sequence=f.sequence,
                quantity=f.quantity,
                price=f.price,
                commission=f.commission,
                executed_at=f.executed_at,
            )
            for f in stored
        ]
        before = to_working(row)
        try:
            result = matching.apply_reported_fill(before, fill, previous)
        except matching.FillExceedsQuantity as error:
            raise Conflict(
                "overfill", "The reported fill exceeds the order's quantity.", "quantity"
            ) from error
        persist(work, row, result, quote=None, held=_still_held(row.reserved_cash, before, result.order))
    return True


def _still_held(reserved: Decimal, before: matching.WorkingOrder, after: matching.WorkingOrder) -> Decimal:
    """The reservation for what is left to fill: a venue's fill pays for its part from cash, so the
    order keeps holding back only its unfilled quantity at the price it reserved at."""
    if before.remaining_quantity <= 0:
        return reserved
    per_unit = reserved / before.remaining_quantity
    return (per_unit * after.remaining_quantity).quantize(_RESERVATION_STEP, rounding=ROUND_CEILING)


def _account_of(order_id: str) -> object:
    account_id = Order.objects.filter(pk=order_id).values_list("account_id", flat=True).first()
    if account_id is None:
        raise NotFound("No such order.", "order_id")
    return account_id


def _fill(
    row: Order,
    *,
    sequence: int,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
    executed_at: datetime,
) -> matching.Fill:
    return matching.Fill(
        str(row.pk), row.instrument.symbol, Side(row.side), quantity, price, commission, executed_at, sequence
    )
