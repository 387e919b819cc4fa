"""Pre-trade risk: the platform's trading controls, each account's own limits within them, and the
check every order passes before it reaches a venue (the rules themselves are ``orders.risk``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import TradingAccount
from marketdata.domain import AssetClass, Quote
from marketdata.models import Instrument
from orders import matching, risk
from orders.models import RiskSettings, TradingControls
from orders.selectors import RiskContext, risk_context
from orders.services.persistence import ZERO, reference_price
from orders.services.unit_of_work import UnitOfWork, lock_account
from portfolio.models import Position
from portfolio.selectors import account_valuation
from tradeapp.core.decimals import to_decimal
from tradeapp.core.errors import Conflict, DomainError

RISK_FIELDS = (
    "max_position_pct",
    "max_order_notional",
    "max_open_orders",
    "daily_loss_limit",
    "exposure_limit_pct",
    "allow_short",
)


def trading_controls() -> TradingControls:
    controls, _ = TradingControls.objects.get_or_create(id=1)
    return controls


def risk_settings_of(account: TradingAccount) -> RiskSettings:
    settings_row, _ = RiskSettings.objects.get_or_create(account=account)
    return settings_row


def risk_limits(row: RiskSettings, controls: TradingControls | None = None) -> risk.RiskLimits:
    """The limits that apply: the account's own, never looser than the platform's caps."""
    controls = controls or trading_controls()

    def capped(value: Decimal | None, cap: Decimal | int) -> Decimal:
        cap = Decimal(cap)  # a row just created holds the int default
        return cap if value is None else min(value, cap)

    return risk.RiskLimits(
        max_position_pct=capped(row.max_position_pct, controls.max_position_pct_cap),
        max_order_notional=capped(row.max_order_notional, controls.max_order_notional_cap),
        max_open_orders=min(
            row.max_open_orders or controls.max_open_orders_cap, controls.max_open_orders_cap
        ),
        daily_loss_limit=row.daily_loss_limit,
        exposure_limit_pct={key: to_decimal(str(value)) for key, value in row.exposure_limit_pct.items()},
        allow_short=row.allow_short and controls.shorting_permitted,
    )


def update_risk_settings(*, account: TradingAccount, **values: Any) -> RiskSettings:
    """Set the account's own limits (None: the platform's cap applies) within the admin's bounds."""
    controls = trading_controls()
    unknown = sorted(set(values) - set(RISK_FIELDS))
    if unknown:
        raise DomainError("unknown_field", "Unknown field.", unknown[0])
    bounds = {
        "max_position_pct": controls.max_position_pct_cap,
        "max_order_notional": controls.max_order_notional_cap,
        "max_open_orders": controls.max_open_orders_cap,
    }
    for field, cap in bounds.items():
        value = values.get(field)
        if value is not None and not 0 < value <= cap:
            raise DomainError(
                "out_of_bounds", f"{field.replace('_', ' ')} must be above 0 and at most {cap}.", field
            )
    if values.get("daily_loss_limit") is not None and values["daily_loss_limit"] <= 0:
        raise DomainError("out_of_bounds", "The daily loss limit must be positive.", "daily_loss_limit")
    exposure = values.get("exposure_limit_pct") or {}
    for asset_class, pct in exposure.items():
        if asset_class not in AssetClass.__members__.values() or not 0 < to_decimal(str(pct)) <= 1000:
            raise DomainError(
                "out_of_bounds", f"Exposure limit for {asset_class!r} is not valid.", "exposure_limit_pct"
            )
    if values.get("allow_short") and not controls.shorting_permitted:
        raise DomainError(
            "short_selling_not_permitted", "Short selling is disabled on this platform.", "allow_short"
        )
    with transaction.atomic():
        lock_account(account)
        row = RiskSettings.objects.select_for_update().get_or_create(account=account)[0]
        for field, value in values.items():
            setattr(
                row, field, {k: str(v) for k, v in value.items()} if field == "exposure_limit_pct" else value
            )
        row.save()
        return row


def check_risk(
    work: UnitOfWork,
    instrument: Instrument,
    working: matching.WorkingOrder,
    quote: Quote | None,
    *,
    released: Decimal = ZERO,
) -> None:
    """Raise the first risk rejection (HTTP 422, with its reason code) for ``working`` on the unit's
    locked account. ``released`` is cash an order being replaced stops reserving. The account's
    positions read here stay with ``work``, current for the rest of the transaction."""
    price = reference_price(working, quote)
    if price is None:
        raise Conflict("no_quote", f"No price for {instrument.symbol} yet: try again shortly.", "symbol")
    intent = risk.OrderIntent(
        symbol=instrument.symbol,
        asset_class=instrument.asset_class,
        side=working.side,
        quantity=working.remaining_quantity,
        estimated_price=price,
        shortable=instrument.shortable,
        tradable=instrument.tradable,
    )
    context = risk_context(work.account, work.now)
    rejection = risk.check_order(
        intent,
        _account_snapshot(work, context, -released),
        risk_limits(context.settings, context.controls),
        kill_switch=context.controls.kill_switch,
    )
    if rejection is not None:
        raise DomainError(rejection.code, rejection.message, rejection.field, status=422)


def _account_snapshot(
    work: UnitOfWork, context: RiskContext, extra_reserved: Decimal
) -> risk.AccountSnapshot:
    account = work.account
    # read under the account lock, so current for the rest of this transaction: fills reuse them
    rows = list(Position.objects.filter(account=account).select_related("instrument"))
    work.positions = {row.instrument_id: row for row in rows}
    valuation = account_valuation(account, cash=account.cash, rows=rows)
    # a short position's market value is held back too: its proceeds sit in cash
    short_hold = -valuation.short_value
    return risk.AccountSnapshot(
        cash=valuation.cash,
        equity=valuation.equity,
        start_of_day_equity=context.start_of_day_equity,
        reserved_buying_power=context.reserved_cash + extra_reserved + short_hold,
        open_orders_count=context.open_orders,
        positions={
            p.instrument.symbol: risk.PositionExposure(
                quantity=p.position.quantity,
                market_value=p.market_value,
                asset_class=p.instrument.asset_class,
            )
            for p in valuation.positions
        },
        halted=account.is_halted,
        halted_reason=account.halted_reason,
        currency=account.base_currency,
    )
