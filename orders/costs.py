"""What a fill costs (pure, no Django): the slippage and commission models and the execution
configuration that the paper venue, the backtester and the strategy runtime share with
``orders.matching``. Slippage is adverse and rounded to the tick adversely; commission is money
quantised to 0.0001 with ROUND_HALF_EVEN, and per-order charges apply once per order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Protocol

from portfolio.ledger import Side
from tradeapp.core.decimals import quantize_to

ZERO = Decimal(0)
MONEY_STEP = Decimal("0.0001")
_BPS = Decimal(10_000)


class SlippageModel(Protocol):
    def adjust(self, side: Side, price: Decimal, tick_size: Decimal) -> Decimal:
        """The executed price for a fill at ``price``: worse for the trader (buy higher, sell lower)."""
        ...


@dataclass(frozen=True, slots=True)
class NoSlippage:
    def adjust(self, side: Side, price: Decimal, tick_size: Decimal) -> Decimal:
        return price


@dataclass(frozen=True, slots=True)
class BpsSlippage:
    """``price * (1 ± bps / 10 000)``, rounded to the tick adversely (buy up, sell down)."""

    bps: Decimal

    def adjust(self, side: Side, price: Decimal, tick_size: Decimal) -> Decimal:
        if side == Side.BUY:
            return quantize_to(price * (1 + self.bps / _BPS), tick_size, ROUND_CEILING)
        return max(quantize_to(price * (1 - self.bps / _BPS), tick_size, ROUND_FLOOR), tick_size)


@dataclass(frozen=True, slots=True)
class TickSlippage:
    """``price ± ticks * tick_size``, then onto the tick adversely; a sell never goes below one tick."""

    ticks: Decimal

    def adjust(self, side: Side, price: Decimal, tick_size: Decimal) -> Decimal:
        if side == Side.BUY:
            return quantize_to(price + self.ticks * tick_size, tick_size, ROUND_CEILING)
        return max(quantize_to(price - self.ticks * tick_size, tick_size, ROUND_FLOOR), tick_size)


class CommissionModel(Protocol):
    def commission(self, quantity: Decimal, price: Decimal, previously_filled: Decimal = ZERO) -> Decimal:
        """Commission of one fill of ``quantity`` at ``price`` on an order that had already filled
        ``previously_filled`` (so per-order charges and minimums are applied once per order).
        Returns money quantised to 0.0001."""
        ...


@dataclass(frozen=True, slots=True)
class NoCommission:
    def commission(self, quantity: Decimal, price: Decimal, previously_filled: Decimal = ZERO) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True)
class PerShare:
    """``rate`` per unit; ``minimum`` and ``maximum`` bound the ORDER's total, not each fill: a fill is
    charged ``total(filled after) - total(filled before)``, so partial fills sum to one-fill pricing."""

    rate: Decimal
    minimum: Decimal = ZERO
    maximum: Decimal | None = None

    def _total(self, quantity: Decimal) -> Decimal:
        if quantity <= 0:
            return ZERO
        fee = max(quantity * self.rate, self.minimum)
        if self.maximum is not None:
            fee = min(fee, self.maximum)
        return money(fee)

    def commission(self, quantity: Decimal, price: Decimal, previously_filled: Decimal = ZERO) -> Decimal:
        return self._total(previously_filled + quantity) - self._total(previously_filled)


@dataclass(frozen=True, slots=True)
class PerOrder:
    """A flat ``amount`` per order, charged on its first fill."""

    amount: Decimal

    def commission(self, quantity: Decimal, price: Decimal, previously_filled: Decimal = ZERO) -> Decimal:
        return money(self.amount) if previously_filled == 0 else ZERO


@dataclass(frozen=True, slots=True)
class BpsCommission:
    """``bps`` basis points of each fill's notional (``quantity * price``)."""

    bps: Decimal

    def commission(self, quantity: Decimal, price: Decimal, previously_filled: Decimal = ZERO) -> Decimal:
        return money(quantity * price * self.bps / _BPS)


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """How fills are simulated. With ``partial_fills`` a bar offers ``volume * volume_participation``
    (0 < x <= 1) and a quote its ask / bid size; without it liquidity is unlimited. Tick and lot size
    are instrument facts and come with each call."""

    slippage: SlippageModel = NoSlippage()
    commission: CommissionModel = NoCommission()
    partial_fills: bool = False
    volume_participation: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        if not 0 < self.volume_participation <= 1:
            raise ValueError("volume_participation must be in (0, 1]")


def money(value: Decimal) -> Decimal:
    """Commission and cash amounts: quantised to 0.0001, ROUND_HALF_EVEN."""
    return value.quantize(MONEY_STEP, rounding=ROUND_HALF_EVEN)
