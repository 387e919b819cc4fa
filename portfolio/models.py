"""Positions, the cash ledger and equity snapshots of trading accounts.

Invariants (also guarded by the database where it can): a position's quantity equals the signed sum
of its account's fills in that instrument; an account's cash equals the sum of its ledger entries
(``portfolio.services.reconcile`` proves both); a fill's ledger entries are unique per (fill, kind),
so a fill cannot move cash twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from portfolio.ledger import EntryKind
from tradeapp.core.fields import money_field, price_field, quantity_field


class Position(models.Model):
    """Signed quantity (> 0 long, < 0 short, 0 flat: the row stays for its realised P&L)."""

    account = models.ForeignKey("accounts.TradingAccount", on_delete=models.CASCADE, related_name="positions")
    instrument = models.ForeignKey("marketdata.Instrument", on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field(default=0)
    average_cost = price_field(default=0)
    realized_pnl = money_field(default=0)
    total_commission = money_field(default=0)
    # position-level exits: fire a closing market order when the price crosses them
    stop_loss_price = price_field(null=True, blank=True)
    take_profit_price = price_field(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["instrument__symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument"], name="position_unique_per_instrument"),
            models.CheckConstraint(
                condition=Q(average_cost__gte=0), name="position_average_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.instrument_id} @ {self.average_cost}"


class CashEntry(models.Model):
    """One line of an account's cash ledger (signed amount). Append-only."""

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(
        "accounts.TradingAccount", on_delete=models.CASCADE, related_name="cash_entries"
    )
    kind = models.CharField(max_length=12, choices=[(k.value, k.value) for k in EntryKind])
    amount = money_field()
    fill = models.ForeignKey("orders.Fill", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "cash entries"
        constraints = [
            models.UniqueConstraint(
                fields=["fill", "kind"], condition=Q(fill__isnull=False), name="cash_entry_once_per_fill"
            ),
        ]
        indexes = [models.Index(fields=["account", "-id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class SnapshotReason(models.TextChoices):
    """Why a snapshot was taken: after fills (throttled per account), every few minutes while the
    account holds positions, or at the start of each UTC day (every account)."""

    FILL = "fill", "After a fill"
    SCHEDULE = "schedule", "Intraday schedule"
    DAILY = "daily", "Start of day"


class EquitySnapshot(models.Model):
    """An account's value at one moment (on a schedule and after fills): the equity curve. One per
    account and instant; ``taken_at`` is when the positions were valued."""

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(
        "accounts.TradingAccount", on_delete=models.CASCADE, related_name="equity_snapshots"
    )
    taken_at = models.DateTimeField()
    cash = money_field()
    positions_value = money_field()
    equity = money_field()
    reason = models.CharField(max_length=8, choices=SnapshotReason.choices)

    class Meta:
        ordering = ["account", "taken_at"]
        constraints = [
            # also the index of every read: the curve, the start-of-day equity, the risk context
            models.UniqueConstraint(fields=["account", "taken_at"], name="equity_snapshot_once_per_instant"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.taken_at:%Y-%m-%d %H:%M} {self.equity}"
