"""The one CSV export of orders, for the history page and the API alike: the API's order fields, one
order per line, streamed from the database in chunks so a long history never sits in memory and
every order is written (no cap)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from orders.models import Order
from orders.representations import OrderSerializer

CSV_COLUMNS = [
    "created_at",
    "symbol",
    "side",
    "type",
    "order_class",
    "time_in_force",
    "quantity",
    "filled_quantity",
    "average_fill_price",
    "limit_price",
    "stop_price",
    "status",
    "reason_code",
    "source",
    "client_order_id",
    "id",
]
CHUNK_SIZE = 500
FILENAME = "orders.csv"


class _Echo:
    """A file that hands back what is written to it, so csv.writer formats one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(orders: QuerySet[Order]) -> Iterator[str]:
    """The header, then one line per order of ``orders`` in the queryset's order."""
    writer = csv.DictWriter(_Echo(), fieldnames=CSV_COLUMNS, extrasaction="ignore")
    as_fields = OrderSerializer().to_representation  # one serializer for every line
    yield writer.writeheader()
    for order in orders.iterator(chunk_size=CHUNK_SIZE):
        yield writer.writerow(as_fields(order))


def csv_response(orders: QuerySet[Order]) -> StreamingHttpResponse:
    """``orders`` as a streamed CSV download."""
    response = StreamingHttpResponse(csv_lines(orders), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{FILENAME}"'
    return response
