"""Market-data API shapes: query/input serializers refuse unknown fields; outputs render decimals as
strings and times as ISO 8601 UTC."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketdata.domain import AssetClass, Bar, Timeframe
from marketdata.indicators import IndicatorSpec, parse_specs
from marketdata.models import Instrument, Watchlist, WatchlistItem
from marketdata.quotes import quote_payload
from marketdata.selectors import InstrumentOrder
from tradeapp.core.api import StrictInputSerializer
from tradeapp.core.decimals import PRICE_DIGITS, PRICE_PLACES

MAX_INSTRUMENT_PAGE = 500
MAX_BARS_PAGE = 10_000
DEFAULT_BARS_PAGE = 1000
MAX_QUOTE_SYMBOLS = 200


# --- fields ---------------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """ISO 8601 with a UTC offset or ``Z`` (``2026-03-02T14:30:00Z``); naive times are refused rather
    than guessed. A ``+`` that a query string turned into a space is put back."""

    default_error_messages = {
        "invalid": "Give an ISO 8601 time such as 2026-03-02T14:30:00Z.",
        "naive_datetime": "Give the time with a UTC offset or 'Z' (e.g. 2026-03-02T14:30:00Z).",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        text = data.strip()
        if len(text) > 6 and text[-6] == " " and text[-3] == ":":  # "...14:30:00 00:00" from an unencoded +
            text = f"{text[:-6]}+{text[-5:]}"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive_datetime")
        return value.astimezone(UTC)

    def to_representation(self, value: datetime) -> str:
        return utc_text(value)


class TimeframeField(serializers.ChoiceField):
    """A bar width such as ``5m``, parsed by ``Timeframe.parse`` (so the API and the domain agree)."""

    default_error_messages = {
        "unknown_timeframe": "Unknown timeframe '{input}'; use one of "
        + ", ".join(member.value for member in Timeframe)
        + "."
    }

    def __init__(self, **kwargs: Any):
        super().__init__(choices=[member.value for member in Timeframe], **kwargs)

    def to_internal_value(self, data: Any) -> Timeframe:
        try:
            return Timeframe.parse(data)
        except (TypeError, ValueError):
            self.fail("unknown_timeframe", input=str(data)[:20])

    def to_representation(self, value: Timeframe | str) -> str:
        return Timeframe.parse(value).value


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class QuoteSerializer(serializers.Serializer):
    """Schema of ``marketdata.quotes.quote_payload``: decimals as strings, ``change_pct`` in percent."""

    symbol = serializers.CharField()
    ts = serializers.CharField(help_text="ISO 8601 UTC time of the quote")
    bid = serializers.CharField()
    ask = serializers.CharField()
    bid_size = serializers.CharField()
    ask_size = serializers.CharField()
    last = serializers.CharField()
    volume = serializers.CharField(help_text="The session's cumulative volume")
    prev_close = serializers.CharField(allow_null=True)
    change = serializers.CharField(allow_null=True)
    change_pct = serializers.CharField(allow_null=True, help_text="1.5 means +1.5 %; unrounded")


def _quote_from_context(serializer: serializers.Serializer, instrument: Instrument) -> dict[str, Any] | None:
    quote = serializer.context.get("quotes", {}).get(instrument.symbol)
    return quote_payload(quote) if quote is not None else None


# --- instruments ----------------------------------------------------------------------------------------


class InstrumentSerializer(serializers.ModelSerializer):
    """An instrument's facts plus its latest quote (pass ``context={"quotes": {symbol: Quote}}``)."""

    quote = serializers.SerializerMethodField()

    class Meta:
        model = Instrument
        fields = [
            "symbol",
            "name",
            "asset_class",
            "venue",
            "quote_currency",
            "tick_size",
            "lot_size",
            "min_quantity",
            "fractionable",
            "shortable",
            "tradable",
            "active",
            "quote",
        ]
        read_only_fields = fields

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, instrument: Instrument) -> dict[str, Any] | None:
        return _quote_from_context(self, instrument)


class MarketStatusSerializer(serializers.Serializer):
    is_open = serializers.BooleanField()
    next_open = serializers.DateTimeField(allow_null=True, help_text="None for crypto (always open)")
    next_close = serializers.DateTimeField(allow_null=True, help_text="None for crypto (never closes)")


class InstrumentDetailSerializer(InstrumentSerializer):
    """Pass ``context={"quotes": ..., "market": market_status(...)}``."""

    market = serializers.SerializerMethodField()

    class Meta(InstrumentSerializer.Meta):
        fields = [*InstrumentSerializer.Meta.fields, "market"]
        read_only_fields = fields

    @extend_schema_field(MarketStatusSerializer)
    def get_market(self, instrument: Instrument) -> dict[str, Any]:
        return dict(MarketStatusSerializer(self.context["market"]).data)


class InstrumentPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = InstrumentSerializer(many=True)


class InstrumentQuerySerializer(StrictInputSerializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Symbol or name contains"
    )
    asset_class = serializers.ChoiceField(choices=[member.value for member in AssetClass], required=False)
    tradable = serializers.BooleanField(required=False, allow_null=True, default=None)
    min_price = serializers.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_PLACES,
        min_value=Decimal(0),
        required=False,
        help_text="On the latest quote's last price; instruments without a quote are left out",
    )
    max_price = serializers.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, min_value=Decimal(0), required=False
    )
    order = serializers.ChoiceField(
        choices=[member.value for member in InstrumentOrder],
        default=InstrumentOrder.SYMBOL.value,
        help_text="symbol, -change_pct (top gainers first) or change_pct (top losers first)",
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_INSTRUMENT_PAGE, default=100)
    offset = serializers.IntegerField(min_value=0, default=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"min_price": ["min_price is above max_price."]}, code="invalid_range"
            )
        attrs["order"] = InstrumentOrder(attrs["order"])
        return attrs


# --- quotes ---------------------------------------------------------------------------------------------


class QuotesQuerySerializer(StrictInputSerializer):
    symbols = serializers.CharField(
        help_text=f"Comma-separated, at most {MAX_QUOTE_SYMBOLS}: AAPL,MSFT,BTC-USD"
    )

    def validate_symbols(self, value: str) -> list[str]:
        symbols = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        if not symbols:
            raise serializers.ValidationError("Name at least one symbol.", code="required")
        if len(symbols) > MAX_QUOTE_SYMBOLS:
            raise serializers.ValidationError(
                f"At most {MAX_QUOTE_SYMBOLS} symbols per request.", code="too_many_symbols"
            )
        return symbols


class SymbolQuoteSerializer(serializers.Serializer):
    symbol = serializers.CharField(help_text="The canonical symbol (BTC-USD is answered as BTC/USD)")
    quote = QuoteSerializer(allow_null=True, help_text="None while no quote has been seen")


class QuotesSerializer(serializers.Serializer):
    quotes = SymbolQuoteSerializer(many=True)


# --- bars -----------------------------------------------------------------------------------------------

_CURSOR_PREFIX = "b1:"


def encode_cursor(after: datetime) -> str:
    """An opaque cursor for "bars after this open time"."""
    micros = (after - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{micros}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> datetime:
    """Raises ValueError on anything encode_cursor did not make."""
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode(
            "ascii"
        )
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError("not a cursor") from error
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].lstrip("-").isdigit():
        raise ValueError("not a cursor")
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(text[len(_CURSOR_PREFIX) :]))
    except OverflowError as error:
        raise ValueError("not a cursor") from error


class BarsQuerySerializer(StrictInputSerializer):
    symbol = serializers.CharField(max_length=64)
    timeframe = TimeframeField()
    start = AwareDateTimeField(help_text="Inclusive; ISO 8601 with an offset or Z")
    end = AwareDateTimeField(required=False, help_text="Exclusive; default now")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_BARS_PAGE, default=DEFAULT_BARS_PAGE)
    cursor = serializers.CharField(required=False, max_length=64, help_text="The `next` of the previous page")

    def validate_cursor(self, value: str) -> datetime:
        try:
            return decode_cursor(value)
        except ValueError as error:
            raise serializers.ValidationError(
                "Invalid cursor: pass the `next` value of the previous page unchanged.", code="invalid_cursor"
            ) from error


def _places(step: Decimal) -> int:
    return max(0, -int(step.normalize().as_tuple().exponent))


def decimal_text(value: Decimal, places: int) -> str:
    """``value`` with at least ``places`` decimals (the instrument's tick or lot precision) and more
    only when it has them: 230.1500000000 -> "230.15" for a 0.01 tick; never rounds."""
    exponent = value.normalize().as_tuple().exponent
    needed = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{value:.{max(places, needed)}f}"


class BarSerializer(serializers.Serializer):
    """Schema of one bar; ``bar_rows`` renders them (a serializer per row is too slow for 10,000)."""

    open_time = serializers.CharField(help_text="ISO 8601 UTC; bars are labelled by their open time")
    open = serializers.CharField()
    high = serializers.CharField()
    low = serializers.CharField()
    close = serializers.CharField()
    volume = serializers.CharField()
    trade_count = serializers.IntegerField(allow_null=True)


def bar_rows(bars: list[Bar], instrument: Instrument) -> list[dict[str, Any]]:
    price_places, volume_places = _places(instrument.tick_size), _places(instrument.lot_size)
    return [
        {
            "open_time": utc_text(bar.open_time),
            "open": decimal_text(bar.open, price_places),
            "high": decimal_text(bar.high, price_places),
            "low": decimal_text(bar.low, price_places),
            "close": decimal_text(bar.close, price_places),
            "volume": decimal_text(bar.volume, volume_places),
            "trade_count": bar.trade_count,
        }
        for bar in bars
    ]


class BarsPageSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    bars = BarSerializer(many=True)
    next = serializers.CharField(
        allow_null=True,
        help_text="Pass as `cursor` (same other parameters) for the next page; null at the end",
    )


# --- watchlists -----------------------------------------------------------------------------------------


class WatchlistItemSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol")
    name = serializers.CharField(source="instrument.name")
    asset_class = serializers.CharField(source="instrument.asset_class")
    quote = serializers.SerializerMethodField()

    class Meta:
        model = WatchlistItem
        fields = ["symbol", "name", "asset_class", "position", "added_at", "quote"]
        read_only_fields = fields

    @extend_schema_field(QuoteSerializer(allow_null=True))
    def get_quote(self, item: WatchlistItem) -> dict[str, Any] | None:
        return _quote_from_context(self, item.instrument)


class WatchlistSerializer(serializers.ModelSerializer):
    """Pass ``context={"quotes": {symbol: Quote}}`` for the items' quotes."""

    items = WatchlistItemSerializer(many=True)

    class Meta:
        model = Watchlist
        fields = ["id", "name", "created_at", "items"]
        read_only_fields = fields


class WatchlistCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        default=list,
        help_text="Initial symbols, in order",
    )


class WatchlistRenameSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)


class WatchlistItemCreateSerializer(StrictInputSerializer):
    symbol = serializers.CharField(max_length=64)


class WatchlistReorderSerializer(StrictInputSerializer):
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=64),
        allow_empty=True,
        help_text="Every listed symbol once, in the new order",
    )


# --- indicators -----------------------------------------------------------------------------------------


class IndicatorsQuerySerializer(StrictInputSerializer):
    symbol = serializers.CharField(max_length=64)
    timeframe = TimeframeField()
    start = AwareDateTimeField(help_text="Inclusive; ISO 8601 with an offset or Z")
    end = AwareDateTimeField(required=False, help_text="Exclusive; default now")
    names = serializers.CharField(
        max_length=200,
        help_text="Comma-separated: sma:WINDOW, ema:WINDOW, bb:WINDOW:DEVIATIONS, rsi:WINDOW, "
        "macd:FAST:SLOW:SIGNAL (e.g. sma:20,bb:20:2,rsi:14)",
    )

    def validate_names(self, value: str) -> list[IndicatorSpec]:
        try:
            return parse_specs(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error), code="invalid_indicator") from error


class IndicatorsSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    times = serializers.ListField(child=serializers.CharField(), help_text="Bar open times, ISO 8601 UTC")
    series = serializers.DictField(
        help_text="Per indicator (its canonical name): a list aligned with `times` (null while warming "
        "up), or for bb {upper, middle, lower} and for macd {macd, signal, histogram} of such lists"
    )
