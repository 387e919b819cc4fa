"""Users, their trading accounts and their API tokens."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from tradeapp.core.fields import money_field


class User(AbstractUser):
    """A person using the platform. Email is unique: it is how a password is reset."""

    email = models.EmailField("email address", unique=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class AccountKind(models.TextChoices):
    PAPER = "paper", "Paper"
    LIVE = "live", "Live"


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    HALTED = "halted", "Halted"


class TradingAccount(models.Model):
    """A book of cash and positions owned by one user. Paper accounts trade against the simulator;
    live accounts (later) through a broker. ``cash`` is changed only by services, with the row locked
    (``select_for_update``); the database refuses a negative balance."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_accounts"
    )
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=8, choices=AccountKind.choices, default=AccountKind.PAPER)
    base_currency = models.CharField(max_length=3, default="USD")
    starting_cash = money_field()
    cash = money_field()
    status = models.CharField(max_length=8, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    halted_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="account_name_unique_per_owner"),
            models.CheckConstraint(condition=Q(cash__gte=0), name="account_cash_not_negative"),
            models.CheckConstraint(
                condition=Q(starting_cash__gte=0), name="account_starting_cash_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(base_currency__regex=r"^[A-Z]{3}$"), name="account_currency_iso"
            ),
        ]
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.owner})"

    @property
    def is_paper(self) -> bool:
        return self.kind == AccountKind.PAPER

    @property
    def is_halted(self) -> bool:
        return self.status == AccountStatus.HALTED


class ApiToken(models.Model):
    """A named key for integrators. Only a SHA-256 hash is stored: the key is shown once, at creation."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, help_text="First characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
