"""marketdata.indicators (pure) against hand computation, and GET /api/v1/indicators."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from marketdata.domain import Bar, Timeframe
from marketdata.indicators import IndicatorSpec, compute, parse_spec, parse_specs
from marketdata.services import upsert_bars
from marketdata.tests.factories import InstrumentFactory

CLOSES = pd.Series([10.0, 11.0, 12.0, 11.0, 10.0, 12.0, 14.0, 13.0])


def test_sma_matches_hand_computation():
    values = compute(CLOSES, [parse_spec("sma:3")])["sma:3"]
    assert values[:2] == [None, None]
    assert values[2] == pytest.approx((10 + 11 + 12) / 3)
    assert values[-1] == pytest.approx((12 + 14 + 13) / 3)
    assert len(values) == len(CLOSES)


def test_ema_starts_from_the_window_th_value_and_smooths_with_2_over_n_plus_1():
    values = compute(CLOSES, [parse_spec("ema:3")])["ema:3"]
    alpha = 2 / (3 + 1)
    expected = [CLOSES[0]]
    for close in CLOSES[1:]:
        expected.append(alpha * close + (1 - alpha) * expected[-1])
    assert values[:2] == [None, None]
    assert values[2:] == pytest.approx(expected[2:])


def test_bollinger_bands_use_the_population_deviation():
    bands = compute(CLOSES, [parse_spec("bb:4:2")])["bb:4:2"]
    window = [10.0, 11.0, 12.0, 11.0]
    mean = sum(window) / 4
    deviation = (sum((value - mean) ** 2 for value in window) / 4) ** 0.5  # 0.7071
    assert bands["middle"][3] == pytest.approx(11.0)
    assert bands["upper"][3] == pytest.approx(mean + 2 * deviation)
    assert bands["lower"][3] == pytest.approx(mean - 2 * deviation)
    assert bands["upper"][2] is None


def test_rsi_is_wilders_and_100_when_prices_only_rise():
    rising = compute(pd.Series([float(value) for value in range(1, 20)]), [parse_spec("rsi:14")])["rsi:14"]
    assert rising[:14] == [None] * 14
    assert rising[14] == pytest.approx(100.0)

    values = compute(CLOSES, [parse_spec("rsi:3")])["rsi:3"]
    # changes +1 +1 -1 -1 +2 +2 -1; Wilder's averages with alpha 1/3, seeded with the first change 0
    up = down = 0.0
    for change in [0, 1, 1, -1, -1, 2, 2, -1]:
        up += (max(change, 0) - up) / 3
        down += (max(-change, 0) - down) / 3
    assert values[-1] == pytest.approx(100 - 100 / (1 + up / down))


def test_macd_is_fast_ema_minus_slow_ema_with_signal_and_histogram():
    closes = pd.Series([100 + (index % 7) - index * 0.3 for index in range(60)], dtype="float64")
    result = compute(closes, [parse_spec("macd:12:26:9")])["macd:12:26:9"]
    fast = closes.ewm(span=12, adjust=False).mean()
    slow = closes.ewm(span=26, adjust=False).mean()
    assert result["macd"][40] == pytest.approx(fast[40] - slow[40])
    assert result["histogram"][59] == pytest.approx(result["macd"][59] - result["signal"][59])
    assert result["macd"][24] is None
    assert set(result) == {"macd", "signal", "histogram"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sma", IndicatorSpec("sma", (20,))),
        ("SMA:50", IndicatorSpec("sma", (50,))),
        ("bb", IndicatorSpec("bb", (20, 2.0))),
        ("bb:20:2.5", IndicatorSpec("bb", (20, 2.5))),
        ("macd", IndicatorSpec("macd", (12, 26, 9))),
    ],
)
def test_specs_parse_with_defaults(text, expected):
    assert parse_spec(text) == expected


def test_keys_are_canonical():
    assert [spec.key for spec in parse_specs("sma:20, bb:20:2,macd,sma:20")] == [
        "sma:20",
        "bb:20:2",
        "macd:12:26:9",
    ]


@pytest.mark.parametrize(
    "text",
    ["", "foo:3", "sma:0", "sma:x", "sma:20:3", "bb:20:0", "bb:20:nan", "macd:26:12:9", "rsi:1", "sma:501"],
)
def test_bad_specs_are_refused(text):
    with pytest.raises(ValueError, match=r"."):
        parse_specs(text)


# --- the endpoint ---------------------------------------------------------------------------------------

START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def _bars(symbol, closes, start):
    return [
        Bar(
            symbol,
            Timeframe.M1,
            start + timedelta(minutes=index),
            close,
            close + 1,
            close - 1,
            close,
            Decimal(100),
            5,
        )
        for index, close in enumerate(closes)
    ]


@pytest.fixture
def apple(db):
    instrument = InstrumentFactory(symbol="AAPL")
    closes = [Decimal(100 + index % 5) for index in range(40)]
    upsert_bars(instrument=instrument, bars=_bars("AAPL", closes, START - timedelta(minutes=10)))
    return instrument


def get_indicators(client, **params):
    query = {
        "symbol": "AAPL",
        "timeframe": "1m",
        "start": "2026-03-02T14:30:00Z",
        "end": "2026-03-02T15:00:00Z",
        "names": "sma:3,bb:3:2,rsi:3,macd:2:4:2",
    }
    query.update(params)
    return client.get("/api/v1/indicators", {key: value for key, value in query.items() if value is not None})


@pytest.mark.django_db
def test_indicators_endpoint_uses_earlier_bars_to_warm_up(token_client, apple):
    response = get_indicators(token_client)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["symbol"], body["timeframe"]) == ("AAPL", "1m")
    assert len(body["times"]) == 30
    assert body["times"][0] == "2026-03-02T14:30:00Z"
    assert set(body["series"]) == {"sma:3", "bb:3:2", "rsi:3", "macd:2:4:2"}
    # closes cycle 100..104 from 14:20: at 14:30 (index 10) the last three are 103 104 100
    assert body["series"]["sma:3"][0] == pytest.approx((103 + 104 + 100) / 3)
    assert body["series"]["bb:3:2"]["middle"][0] == pytest.approx((103 + 104 + 100) / 3)
    assert all(len(values) == 30 for values in body["series"]["macd:2:4:2"].values())


@pytest.mark.django_db
def test_indicators_of_an_empty_window_are_empty(token_client, apple):
    response = get_indicators(token_client, start="2026-03-03T14:30:00Z", end="2026-03-03T15:00:00Z")

    assert response.status_code == 200, response.content
    assert response.json()["times"] == []
    assert response.json()["series"]["sma:3"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"names": "wiggle:3"}, (400, "invalid_indicator", "names")),
        ({"names": "sma:0"}, (400, "invalid_indicator", "names")),
        ({"names": None}, (400, "required", "names")),
        ({"timeframe": "7m"}, (400, "unknown_timeframe", "timeframe")),
        ({"start": "2026-03-02T15:00:00Z"}, (400, "invalid_range", "start")),
        ({"symbol": "NOPE"}, (404, "not_found", "symbol")),
        ({"limit": "5"}, (400, "unknown_field", "limit")),
    ],
)
def test_bad_indicator_requests(token_client, apple, params, expected):
    status, code, field = expected
    response = get_indicators(token_client, **params)

    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)


@pytest.mark.django_db
def test_indicators_need_authentication(api_client, apple):
    assert get_indicators(api_client).status_code in (401, 403)
