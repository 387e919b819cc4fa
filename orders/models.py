"""Orders, their append-only event log, fills, per-account risk limits and the global trading controls.

The status values, transitions and fill rules live in the pure modules ``orders.states`` and
``orders.matching``; these tables store their results. Invariants the database guards as well:
quantity > 0, 0 <= filled <= quantity, one ``client_order_id`` per account, one fill per
``(order, sequence)`` (a redelivered fill cannot be stored twice), one event per ``(order, sequence)``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from orders.states import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from tradeapp.core.fields import money_field, price_field, quantity_field


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ")) for member in enum]  # type: ignore[attr-defined]


class OrderSource(models.TextChoices):
    WEB = "web"
    API = "api"
    STRATEGY = "strategy"
    ALGO = "algo"
    RISK = "risk", "risk (position stop-loss / take-profit)"


class LegRole(models.TextChoices):
    """An order's part in a contingent group (empty for a simple order)."""

    ENTRY = "entry"
    TAKE_PROFIT = "take_profit", "take-profit"
    STOP_LOSS = "stop_loss", "stop-loss"
    OCO = "oco", "one-cancels-other"
    CHILD = "child", "OTO child"


OPEN_STATUS_VALUES = [
    OrderStatus.NEW,
    OrderStatus.HELD,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.PENDING_REPLACE,
]


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.TradingAccount", on_delete=models.CASCADE, related_name="orders")
    instrument = models.ForeignKey("marketdata.Instrument", on_delete=models.PROTECT, related_name="+")
    # NULL (not "") when none is given: the per-account unique constraint skips NULLs
    client_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    side = models.CharField(max_length=4, choices=_choices(Side))
    order_type = models.CharField(max_length=16, choices=_choices(OrderType))
    order_class = models.CharField(max_length=8, choices=_choices(OrderClass), default=OrderClass.SIMPLE)
    time_in_force = models.CharField(max_length=4, choices=_choices(TimeInForce), default=TimeInForce.DAY)
    quantity = quantity_field()
    notional = money_field(null=True, blank=True)  # the dollar amount asked for, when sized in dollars
    limit_price = price_field(null=True, blank=True)
    stop_price = price_field(null=True, blank=True)
    trail_amount = price_field(null=True, blank=True)
    trail_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    triggered = models.BooleanField(default=False)
    water_mark = price_field(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=_choices(OrderStatus), default=OrderStatus.NEW)
    filled_quantity = quantity_field(default=0)
    average_fill_price = price_field(null=True, blank=True)
    fill_count = models.PositiveIntegerField(default=0)
    # cash this open order holds back from buying power (buys; 0 once closed)
    reserved_cash = money_field(default=0)
    reason_code = models.CharField(max_length=40, blank=True)
    reason_message = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=8, choices=OrderSource.choices, default=OrderSource.API)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="legs"
    )  # bracket / OTO legs point at their entry; OCO pairs at the first order
    leg_role = models.CharField(max_length=12, choices=LegRole.choices, blank=True)
    replaces = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )
    algo = models.ForeignKey(
        "orders.AlgoOrder", on_delete=models.SET_NULL, null=True, blank=True, related_name="child_orders"
    )
    # the strategy deployment that sent it (strategies app); a plain id so orders do not depend on it
    deployment_id = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                condition=Q(client_order_id__isnull=False),
                name="order_client_id_unique_per_account",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0, filled_quantity__lte=F("quantity")),
                name="order_filled_within_quantity",
            ),
            models.CheckConstraint(condition=Q(reserved_cash__gte=0), name="order_reserved_not_negative"),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(
                fields=["instrument", "status"],
                condition=Q(status__in=OPEN_STATUS_VALUES),
                name="order_open_by_instrument",
            ),
            models.Index(
                fields=["account", "status"],
                condition=Q(status__in=OPEN_STATUS_VALUES),
                name="order_open_by_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.instrument_id} {self.order_type} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUS_VALUES

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity


class OrderEvent(models.Model):
    """One entry of an order's audit trail: append-only (never updated or deleted by the code).
    ``status`` is the order's status after the event; replaying the status events rebuilds it."""

    class Kind(models.TextChoices):
        STATUS = "status"
        FILL = "fill"
        TRIGGER = "trigger"
        REPLACE = "replace"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=_choices(OrderStatus))
    reason_code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["order", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="order_event_unique_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} #{self.sequence} {self.kind} -> {self.status}"


class Fill(models.Model):
    """One execution of an order. ``(order, sequence)`` is unique: storing the same fill twice is
    impossible, which makes a redelivered fill a no-op."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    account = models.ForeignKey("accounts.TradingAccount", on_delete=models.CASCADE, related_name="fills")
    instrument = models.ForeignKey("marketdata.Instrument", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    side = models.CharField(max_length=4, choices=_choices(Side))
    quantity = quantity_field()
    price = price_field()
    commission = money_field(default=0)
    realized_pnl = money_field(default=0)  # this fill's contribution (net of its commission)
    executed_at = models.DateTimeField()

    class Meta:
        ordering = ["-executed_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="fill_unique_per_order_sequence"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
            models.CheckConstraint(condition=Q(commission__gte=0), name="fill_commission_not_negative"),
        ]
        indexes = [models.Index(fields=["account", "-executed_at"])]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} @ {self.price}"


class AlgoOrder(models.Model):
    """A TWAP or VWAP parent: ``quantity`` worked as child market orders between ``start_at`` and
    ``end_at`` (one slice per ``interval_seconds``), by time (TWAP) or by the volume profile (VWAP)."""

    class Algo(models.TextChoices):
        TWAP = "twap", "TWAP"
        VWAP = "vwap", "VWAP"

    class Status(models.TextChoices):
        WORKING = "working"
        COMPLETED = "completed"
        CANCELED = "canceled"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.TradingAccount", on_delete=models.CASCADE, related_name="algos")
    instrument = models.ForeignKey("marketdata.Instrument", on_delete=models.PROTECT, related_name="+")
    algo = models.CharField(max_length=4, choices=Algo.choices)
    side = models.CharField(max_length=4, choices=_choices(Side))
    quantity = quantity_field()
    filled_quantity = quantity_field(default=0)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    interval_seconds = models.PositiveIntegerField(default=60)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WORKING)
    reason_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="algo_quantity_positive"),
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="algo_window_forward"),
        ]

    def __str__(self) -> str:
        return f"{self.algo} {self.side} {self.quantity} {self.instrument_id} ({self.status})"


class RiskSettings(models.Model):
    """One account's pre-trade limits (``orders.risk.RiskLimits``). The user edits them within the
    bounds of ``TradingControls``; empty means no limit."""

    account = models.OneToOneField(
        "accounts.TradingAccount", on_delete=models.CASCADE, primary_key=True, related_name="risk_settings"
    )
    max_position_pct = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    max_order_notional = money_field(null=True, blank=True)
    max_open_orders = models.PositiveIntegerField(null=True, blank=True)
    daily_loss_limit = money_field(null=True, blank=True)
    exposure_limit_pct = models.JSONField(default=dict, blank=True)  # {"crypto": "50"}
    allow_short = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk settings"

    def __str__(self) -> str:
        return f"risk settings of {self.account_id}"


class TradingControls(models.Model):
    """The one row of platform-wide controls: the kill switch, and the bounds within which users may
    set their own limits (admins edit it)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    kill_switch = models.BooleanField(default=False)
    kill_switch_reason = models.CharField(max_length=200, blank=True)
    kill_switch_changed_at = models.DateTimeField(null=True, blank=True)
    kill_switch_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    max_position_pct_cap = models.DecimalField(max_digits=7, decimal_places=2, default=100)
    max_order_notional_cap = money_field(default=1_000_000)
    max_open_orders_cap = models.PositiveIntegerField(default=500)
    shorting_permitted = models.BooleanField(default=True)

    class Meta:
        verbose_name = "trading controls"
        verbose_name_plural = "trading controls"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="trading_controls_single_row")]

    def __str__(self) -> str:
        return "kill switch ENGAGED" if self.kill_switch else "trading enabled"
