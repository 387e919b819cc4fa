"""Latest quotes round-trip through Redis exactly, including unknown previous closes."""

from datetime import UTC, datetime
from decimal import Decimal

from marketdata.domain import Quote
from marketdata.quotes import latest_quote, latest_quotes, quote_payload, store_quotes


def make_quote(symbol: str, prev_close: Decimal | None) -> Quote:
    return Quote(
        symbol=symbol,
        ts=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        bid=Decimal("99.99"),
        ask=Decimal("100.01"),
        bid_size=Decimal(300),
        ask_size=Decimal(200),
        last=Decimal("100.00"),
        volume=Decimal(123456),
        prev_close=prev_close,
    )


def test_quotes_round_trip_exactly_even_without_a_previous_close():
    known, unknown = make_quote("TST.A", Decimal("97.00")), make_quote("TST.B", None)

    store_quotes([known, unknown])

    assert latest_quotes(["TST.A", "TST.B", "TST.NONE"]) == {"TST.A": known, "TST.B": unknown}
    assert latest_quote("TST.NONE") is None


def test_payload_rounds_change_percent_for_display():
    payload = quote_payload(make_quote("TST.C", Decimal("97.00")))

    assert payload["change"] == "3.00"
    assert payload["change_pct"] == "3.0928"
    assert quote_payload(make_quote("TST.D", None))["change_pct"] is None
