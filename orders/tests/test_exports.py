"""The one CSV export of orders: the history page and the API stream the same columns, every order."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from orders.models import Order
from orders.states import OrderStatus, OrderType, Side
from tradeapp.core import clock

API_EXPORT = "/api/v1/accounts/default/orders?export=csv"
PAGE_EXPORT = "/orders/export.csv"
# the columns as clients read them today: changing them breaks spreadsheets and scripts
HEADER = (
    "created_at,symbol,side,type,order_class,time_in_force,quantity,filled_quantity,average_fill_price,"
    "limit_price,stop_price,status,reason_code,source,client_order_id,id"
)
MORE_THAN_THE_OLD_CAP = 10_050


def bulk_orders(account, instrument, count: int) -> None:
    """``count`` canceled limit orders, one a second back from now, in one insert (no services: the
    export only reads)."""
    now = clock.now()
    Order.objects.bulk_create(
        [
            Order(
                account=account,
                instrument=instrument,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                quantity=Decimal(1),
                limit_price=Decimal("100.00"),
                status=OrderStatus.CANCELED,
                client_order_id=f"bulk-{number}",
                created_at=now - timedelta(seconds=number),
                updated_at=now,
            )
            for number in range(count)
        ],
        batch_size=2_000,
    )


def read(response) -> tuple[str, list[dict[str, str]]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    text = b"".join(response.streaming_content).decode()
    return text.split("\r\n", 1)[0], list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_every_order_is_exported_past_the_old_cap(token_client, account, btc):
    bulk_orders(account, btc, MORE_THAN_THE_OLD_CAP)

    header, rows = read(token_client.get(API_EXPORT))

    assert header == HEADER
    assert len(rows) == MORE_THAN_THE_OLD_CAP
    newest, oldest = rows[0], rows[-1]
    assert (newest["client_order_id"], oldest["client_order_id"]) == (
        "bulk-0",
        f"bulk-{MORE_THAN_THE_OLD_CAP - 1}",
    )
    assert (newest["symbol"], newest["type"], newest["status"]) == ("BTC/USD", "limit", "canceled")


@pytest.mark.django_db
def test_page_and_api_export_the_same_columns_and_lines(client, token_client, user, account, btc):
    bulk_orders(account, btc, 3)
    client.force_login(user)

    api_header, api_rows = read(token_client.get(API_EXPORT))
    page_header, page_rows = read(client.get(PAGE_EXPORT))

    assert api_header == page_header == HEADER
    assert api_rows == page_rows
    assert [row["client_order_id"] for row in page_rows] == ["bulk-0", "bulk-1", "bulk-2"]
