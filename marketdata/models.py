"""Instruments, bars and watchlists. Quotes live in Redis (see marketdata.quotes), not here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from marketdata.domain import AssetClass, InstrumentSpec, Timeframe
from tradeapp.core.fields import price_field, quantity_field

# The domain enums are the one source of these values; the columns only borrow them as choices.
ASSET_CLASS_CHOICES = [
    (member.value, member.value.upper() if member is AssetClass.ETF else member.value.title())
    for member in AssetClass
]
TIMEFRAME_CHOICES = [(member.value, member.value) for member in Timeframe]


class Instrument(models.Model):
    """Something that can be quoted and traded. Prices must sit on ``tick_size``; quantities on
    ``lot_size`` (and be at least ``min_quantity``) — validation at the edge uses these."""

    symbol = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    asset_class = models.CharField(max_length=8, choices=ASSET_CLASS_CHOICES)
    venue = models.CharField(max_length=32)
    quote_currency = models.CharField(max_length=8, default="USD")
    tick_size = price_field()
    lot_size = quantity_field()
    min_quantity = quantity_field()
    fractionable = models.BooleanField(default=False)
    shortable = models.BooleanField(default=False)
    tradable = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    data_source = models.CharField(max_length=32, default="simulator")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "symbol"], name="instrument_symbol_unique_per_venue"),
            models.CheckConstraint(condition=Q(tick_size__gt=0), name="instrument_tick_size_positive"),
            models.CheckConstraint(condition=Q(lot_size__gt=0), name="instrument_lot_size_positive"),
            models.CheckConstraint(condition=Q(min_quantity__gt=0), name="instrument_min_quantity_positive"),
        ]
        indexes = [models.Index(fields=["symbol"]), models.Index(fields=["asset_class", "active"])]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.venue})"

    def spec(self) -> InstrumentSpec:
        """The pure description of this row (what the strategy SDK and the backtest engine read)."""
        return InstrumentSpec(
            symbol=self.symbol,
            name=self.name,
            asset_class=AssetClass(self.asset_class),
            venue=self.venue,
            quote_currency=self.quote_currency,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            min_quantity=self.min_quantity,
            fractionable=self.fractionable,
            shortable=self.shortable,
            tradable=self.tradable,
            data_source=self.data_source,
        )


class Bar(models.Model):
    """One OHLCV bar, labelled by its open time (aware UTC). Written by idempotent upserts on
    (instrument, timeframe, open_time), whose unique index also serves time-range reads."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="bars")
    timeframe = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES)
    open_time = models.DateTimeField()
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()
    volume = quantity_field()
    trade_count = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "timeframe", "open_time"], name="bar_unique_time"),
            models.CheckConstraint(condition=Q(high__gte=F("low")), name="bar_high_not_below_low"),
            models.CheckConstraint(
                condition=Q(
                    open__gte=F("low"), open__lte=F("high"), close__gte=F("low"), close__lte=F("high")
                ),
                name="bar_open_close_within_range",
            ),
            models.CheckConstraint(condition=Q(low__gt=0), name="bar_prices_positive"),
            models.CheckConstraint(condition=Q(volume__gte=0), name="bar_volume_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.timeframe} {self.open_time:%Y-%m-%d %H:%M}"


class BarChunk(models.Model):
    """A derived, disposable cache of one bucket of bars (a UTC day of intraday bars, a month of 1h, a
    year of 1d) packed as float arrays for ``selectors.bars_frame``. Never written by hand: triggers on
    ``marketdata_bar`` (migration 0002) create the row and bump ``version`` and clear ``payload`` in the
    same transaction as every insert, update or delete of a bar in the bucket; a reader fills
    ``payload`` only if ``version`` is still the one it read before reading the bars. Deleting any or
    all rows is always safe (the next read rebuilds them)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    timeframe = models.CharField(max_length=4, choices=TIMEFRAME_CHOICES)
    bucket = models.DateField()
    version = models.BigIntegerField(default=1)
    bar_count = models.IntegerField(null=True, blank=True)
    payload = models.BinaryField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "timeframe", "bucket"], name="bar_chunk_unique_bucket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.timeframe} {self.bucket} v{self.version}"


class Watchlist(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    instruments = models.ManyToManyField(Instrument, through="WatchlistItem", related_name="+")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="watchlist_name_unique_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner})"


class WatchlistItem(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "added_at"]
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "instrument"], name="watchlist_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} in {self.watchlist_id}"
