"""GET /bars and the bar selectors: windows, cursor pages, decimals as strings, every bad input a 4xx."""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from marketdata.aggregate import bars_to_frame
from marketdata.api.serializers import decimal_text, decode_cursor, encode_cursor
from marketdata.domain import Timeframe
from marketdata.selectors import bars_frame, bars_page
from marketdata.services import upsert_bars
from marketdata.tests.factories import InstrumentFactory, make_bars
from tradeapp.core.clock import frozen_clock

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]
    return body


@pytest.fixture
def apple():
    instrument = InstrumentFactory(symbol="AAPL")
    upsert_bars(instrument=instrument, bars=make_bars("AAPL", 10, start=START))
    return instrument


def get_bars(client, **params):
    query = {
        "symbol": "AAPL",
        "timeframe": "1m",
        "start": "2026-03-02T14:30:00Z",
        "end": "2026-03-02T15:00:00Z",
    }
    query.update(params)
    return client.get("/api/v1/bars", {key: value for key, value in query.items() if value is not None})


def test_bars_oldest_first_with_decimals_as_strings(token_client, apple):
    response = get_bars(token_client)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["symbol"], body["timeframe"], body["next"]) == ("AAPL", "1m", None)
    assert (body["start"], body["end"]) == ("2026-03-02T14:30:00Z", "2026-03-02T15:00:00Z")
    assert len(body["bars"]) == 10
    assert body["bars"][0] == {
        "open_time": "2026-03-02T14:30:00Z",
        "open": "100.00",
        "high": "100.05",
        "low": "99.95",
        "close": "100.01",
        "volume": "1000",
        "trade_count": 10,
    }
    assert body["bars"][-1]["open_time"] == "2026-03-02T14:39:00Z"


def test_window_is_start_inclusive_end_exclusive_in_any_offset(token_client, apple):
    response = get_bars(token_client, start="2026-03-02T09:32:00-05:00", end="2026-03-02T14:35:00+00:00")

    times = [bar["open_time"][11:16] for bar in response.json()["bars"]]
    assert times == ["14:32", "14:33", "14:34"]


def test_a_plus_sign_lost_in_the_query_string_is_understood(token_client, apple):
    response = token_client.get(
        "/api/v1/bars?symbol=AAPL&timeframe=1m&start=2026-03-02T14:38:00+00:00&end=2026-03-02T15:00:00+00:00"
    )

    assert response.status_code == 200, response.content
    assert len(response.json()["bars"]) == 2


def test_cursor_pages_cover_every_bar_once(token_client, apple):
    seen, cursor, pages = [], None, 0
    while True:
        body = get_bars(token_client, limit=3, cursor=cursor).json()
        seen += [bar["open_time"] for bar in body["bars"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break

    assert pages == 4
    assert len(seen) == len(set(seen)) == 10
    assert seen == sorted(seen)


def test_end_defaults_to_now(token_client, apple):
    with frozen_clock(START + timedelta(minutes=4)):
        body = get_bars(token_client, end=None).json()

    assert body["end"] == "2026-03-02T14:34:00Z"
    assert len(body["bars"]) == 4


def test_symbol_alias_and_case(token_client):
    bitcoin = InstrumentFactory(
        symbol="BTC/USD", asset_class="crypto", tick_size=Decimal("0.01"), lot_size=Decimal("0.0001")
    )
    upsert_bars(instrument=bitcoin, bars=make_bars("BTC/USD", 2, start=START, price=Decimal("95000.5")))

    body = get_bars(token_client, symbol="btc-usd").json()

    assert body["symbol"] == "BTC/USD"
    assert [bar["open"] for bar in body["bars"]] == ["95000.50", "95000.51"]
    assert body["bars"][0]["volume"] == "1000.0000"


def test_bars_of_other_timeframes_and_instruments_are_not_mixed_in(token_client, apple):
    other = InstrumentFactory(symbol="MSFT")
    upsert_bars(instrument=other, bars=make_bars("MSFT", 10, start=START))
    upsert_bars(instrument=apple, bars=make_bars("AAPL", 3, start=START, timeframe=Timeframe.M5))

    one_minute = get_bars(token_client).json()["bars"]
    five_minute = get_bars(token_client, timeframe="5m").json()["bars"]

    assert (len(one_minute), len(five_minute)) == (10, 3)


def test_unknown_symbol_is_404_on_symbol(token_client, apple):
    assert_error(get_bars(token_client, symbol="NOPE"), 404, "not_found", "symbol")


def test_unknown_timeframe_is_400_on_timeframe(token_client, apple):
    body = assert_error(get_bars(token_client, timeframe="2m"), 400, "unknown_timeframe", "timeframe")

    assert "1m, 5m, 15m, 1h, 1d" in body["message"]


def test_start_after_end_is_400_on_start(token_client, apple):
    assert_error(
        get_bars(token_client, start="2026-03-03T00:00:00Z", end="2026-03-02T00:00:00Z"),
        400,
        "invalid_range",
        "start",
    )


@pytest.mark.parametrize(
    ("timeframe", "days", "allowed"),
    [
        ("1m", 370, True),
        ("1m", 371, False),
        ("5m", 733, False),
        ("1h", 5 * 365, True),
        ("1d", 40 * 365, True),
    ],
)
def test_range_limit_per_timeframe(token_client, apple, timeframe, days, allowed):
    end = START + timedelta(days=days)

    response = get_bars(token_client, timeframe=timeframe, end=end.isoformat())

    if allowed:
        assert response.status_code == 200, response.content
    else:
        assert_error(response, 400, "range_too_large", "start")


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"start": "2026-03-02T14:30:00"}, "naive_datetime", "start"),
        ({"end": "2026-03-02"}, "naive_datetime", "end"),
        ({"start": "yesterday"}, "invalid", "start"),
        ({"start": None}, "required", "start"),
        ({"symbol": None}, "required", "symbol"),
        ({"limit": "10001"}, "max_value", "limit"),
        ({"limit": "x"}, "invalid", "limit"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor", "cursor"),
        ({"cursor": encode_cursor(START)[:-2] + "!!"}, "invalid_cursor", "cursor"),
        ({"after": "2026-03-02T14:30:00Z"}, "unknown_field", "after"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(token_client, apple, params, code, field):
    assert_error(get_bars(token_client, **params), 400, code, field)


def test_cursor_round_trip():
    at = datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=UTC)

    assert decode_cursor(encode_cursor(at)) == at
    with pytest.raises(ValueError, match="cursor"):
        decode_cursor("b1:123")


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        ("230.1500000000", 2, "230.15"),
        ("230.1550000000", 2, "230.155"),
        ("100", 2, "100.00"),
        ("1E+2", 0, "100"),
    ],
)
def test_decimal_text_keeps_the_tick_precision_and_never_rounds(value, places, text):
    assert decimal_text(Decimal(value), places) == text


def test_bars_page_continues_after_the_cursor_time(apple):
    first = bars_page(apple, "1m", START, START + timedelta(hours=1), limit=4)
    second = bars_page(apple, "1m", START, START + timedelta(hours=1), limit=4, after=first.next_after)

    assert first.next_after == START + timedelta(minutes=3)
    assert second.bars[0].open_time == START + timedelta(minutes=4)
    assert second.bars[0].close == Decimal("100.05")  # exact Decimals


def test_bars_frame_matches_the_decimal_bars_in_aggregate_form():
    instrument = InstrumentFactory(symbol="AAPL")
    bars = make_bars("AAPL", 6, start=START)
    bars[2] = dataclasses.replace(bars[2], trade_count=None, close=Decimal("100.0299999999"))
    upsert_bars(instrument=instrument, bars=bars)

    frame = bars_frame(instrument, Timeframe.M1, START + timedelta(minutes=1), START + timedelta(minutes=5))

    expected = bars_to_frame(bars[1:5])
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["close"][1] == float(Decimal("100.0299999999"))
    assert frame["trade_count"].isna().tolist() == [False, True, False, False]


def test_bars_frame_of_an_empty_window_has_the_same_columns():
    instrument = InstrumentFactory(symbol="AAPL")

    frame = bars_frame(instrument.pk, "1h", START, START + timedelta(days=1))

    pd.testing.assert_frame_equal(frame, bars_to_frame([]))


def test_bars_frame_refuses_naive_times():
    with pytest.raises(ValueError, match="naive"):
        bars_frame(1, "1m", datetime(2026, 3, 2), START)  # noqa: DTZ001
