"""Pre-trade risk checks (pure, no Django): one function says whether an order may be placed, and why not.

The paper broker, live venues and the backtester all call :func:`check_order` with the same inputs, so
an order rejected in a backtest is rejected in paper trading too. It runs on every order: it does no
sorting and no I/O, and on the happy path only computes the few Decimals it compares.

Checks run in this fixed order and the FIRST failure is returned (codes are public API, never rename):

1. ``kill_switch``                 the platform-wide kill switch is on
2. ``account_halted``              the account is halted (reason in the message)
3. ``instrument_not_tradable``     the instrument is not tradable now
4. ``max_open_orders``             the account already has the maximum number of open orders
5. ``max_order_notional``          quantity x estimated price is above the per-order limit
6. ``insufficient_quantity`` /     a sell exceeds the long position while shorting is not allowed
   ``short_selling_not_allowed``   (the account's ``allow_short`` AND the instrument's ``shortable``);
                                   ``insufficient_quantity`` when some quantity is held (selling less
                                   fixes it), ``short_selling_not_allowed`` when none is
7. ``insufficient_buying_power``   buying power < what the order needs: a buy needs its notional,
                                   except the part covering a short, which needs that much CASH (the
                                   short's proceeds are in cash; callers hold the short's value back
                                   from buying power); a sell needs the notional of its short part
                                   (simple margin model: a short sale needs buying power equal to its
                                   notional), selling a held long needs none
8. ``daily_loss_limit``            today's loss (start-of-day equity - equity) >= the limit
9. ``max_position_pct``            the symbol's position after the order / equity > the limit
10. ``exposure_limit``             the asset class's gross exposure after the order / equity > its limit

Checks 8-10 apply only to orders that increase exposure. An order is *reduce-only* when it moves an
existing position toward zero without crossing it (see :func:`reduces_only`); such an order is still
allowed after the daily loss limit is hit. A flip (long 10, sell 15) opens a new position, so it counts
as increasing. Percentages use the equity after the order, which equals ``account.equity`` because an
order swaps cash for a position at the estimated price (commissions and spread are ignored). The
order's symbol is valued after the order at ``|position quantity after| * estimated_price``; other
positions at their ``market_value``.

Comparisons use the active decimal context (28 significant digits by default); limits are compared
by cross-multiplying, never by dividing. Call after validation (``quantity > 0``, ``estimated_price > 0``)
and, in services, with the account row locked so the snapshot cannot go stale before the order is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from orders.states import Side

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_PERCENT_DISPLAY = Decimal("0.01")


class RejectionCode(StrEnum):
    """Machine codes of risk rejections; members are plain strings (``"kill_switch"``...)."""

    KILL_SWITCH = "kill_switch"
    ACCOUNT_HALTED = "account_halted"
    INSTRUMENT_NOT_TRADABLE = "instrument_not_tradable"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    SHORT_SELLING_NOT_ALLOWED = "short_selling_not_allowed"
    INSUFFICIENT_QUANTITY = "insufficient_quantity"
    INSUFFICIENT_BUYING_POWER = "insufficient_buying_power"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_POSITION_PCT = "max_position_pct"
    EXPOSURE_LIMIT = "exposure_limit"


REJECTION_CODES: frozenset[str] = frozenset(RejectionCode)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """An account's limits; ``None`` (or a missing asset class) means no limit.

    Percentages are in percent (``Decimal("25")`` is 25 %). ``daily_loss_limit`` is a positive amount
    of the account currency. Validated on construction (ValueError), not on every check."""

    max_position_pct: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_open_orders: int | None = None
    daily_loss_limit: Decimal | None = None
    exposure_limit_pct: Mapping[str, Decimal] = field(default_factory=dict)
    allow_short: bool = False

    def __post_init__(self) -> None:
        positive = {
            "max_position_pct": self.max_position_pct,
            "max_order_notional": self.max_order_notional,
            "daily_loss_limit": self.daily_loss_limit,
        }
        for asset_class, pct in self.exposure_limit_pct.items():
            positive[f"exposure_limit_pct[{asset_class!r}]"] = pct
        for name, value in positive.items():
            if value is not None and not (value.is_finite() and value > 0):
                raise ValueError(f"{name} must be a positive number or None, not {value}")
        if self.max_open_orders is not None and self.max_open_orders < 0:
            raise ValueError(f"max_open_orders must be zero or more, not {self.max_open_orders}")


@dataclass(frozen=True, slots=True)
class PositionExposure:
    """A held position as risk sees it: signed quantity and market value (< 0 for a short)."""

    quantity: Decimal
    market_value: Decimal
    asset_class: str


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account at the moment of the check; ``positions`` is keyed by symbol.

    ``reserved_buying_power`` is cash already spoken for: open buys' notional, open short sales'
    notional and, because the ledger credits short-sale proceeds to cash, the absolute market value of
    held shorts (otherwise a short would finance itself)."""

    cash: Decimal
    equity: Decimal
    start_of_day_equity: Decimal
    reserved_buying_power: Decimal = _ZERO
    open_orders_count: int = 0
    positions: Mapping[str, PositionExposure] = field(default_factory=dict)
    halted: bool = False
    halted_reason: str = ""
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """The order to check. ``estimated_price`` is the ask for a market buy, the bid for a market sell,
    or the limit price of a limit order; ``shortable``/``tradable`` come from the instrument."""

    symbol: str
    asset_class: str
    side: Side
    quantity: Decimal
    estimated_price: Decimal
    shortable: bool = False
    tradable: bool = True


@dataclass(frozen=True, slots=True)
class RiskRejection:
    """Why an order was refused: a stable ``code``, a full sentence with the numbers for the user, and
    the form field to show it next to (``"quantity"``, ``"limit_price"`` or None for the whole order)."""

    code: str
    message: str
    field: str | None = None


def buying_power(account: AccountSnapshot) -> Decimal:
    """Cash not held by open orders: ``cash - reserved_buying_power``, never below 0."""
    available = account.cash - account.reserved_buying_power
    return available if available > 0 else _ZERO


def reduces_only(intent: OrderIntent, account: AccountSnapshot) -> bool:
    """True when the order moves an existing position toward zero without crossing it (selling at
    most the long quantity, or buying at most the short quantity)."""
    position = account.positions.get(intent.symbol)
    held = position.quantity if position is not None else _ZERO
    return _reduces_only(held, is_buy=intent.side == Side.BUY, quantity=intent.quantity)


def check_order(
    intent: OrderIntent, account: AccountSnapshot, limits: RiskLimits, *, kill_switch: bool
) -> RiskRejection | None:
    """Run the checks in the module's documented order; return the first failure, or None to accept.

    Raises ValueError for an intent that skipped validation (quantity or estimated price not > 0)."""
    quantity = intent.quantity
    price = intent.estimated_price
    if not (quantity > 0 and price > 0):
        raise ValueError(
            f"order to check needs quantity > 0 and estimated_price > 0, got {quantity} and {price}"
        )
    position = account.positions.get(intent.symbol)
    held = position.quantity if position is not None else _ZERO
    is_buy = intent.side == Side.BUY
    notional = quantity * price
    return (
        _check_switches(intent, account, kill_switch=kill_switch)
        or _check_order_size(account, limits, notional=notional)
        or _check_holdings(intent, account, limits, held=held, is_buy=is_buy, notional=notional)
        or (
            None
            if _reduces_only(held, is_buy=is_buy, quantity=quantity)
            else _check_exposure(intent, account, limits, held=held, is_buy=is_buy)
        )
    )


def _check_switches(
    intent: OrderIntent, account: AccountSnapshot, *, kill_switch: bool
) -> RiskRejection | None:
    """Checks 1-3: switches that refuse every order."""
    if kill_switch:
        return RiskRejection(
            RejectionCode.KILL_SWITCH,
            "Trading is stopped by the kill switch; no new orders are accepted until it is released.",
        )
    if account.halted:
        reason = account.halted_reason.strip().rstrip(".")
        because = f" ({reason})" if reason else ""
        return RiskRejection(
            RejectionCode.ACCOUNT_HALTED,
            f"This account is halted{because}; no new orders are accepted until it is resumed.",
        )
    if not intent.tradable:
        return RiskRejection(
            RejectionCode.INSTRUMENT_NOT_TRADABLE,
            f"{intent.symbol} is not tradable right now; the order was not placed.",
        )
    return None


def _check_order_size(
    account: AccountSnapshot, limits: RiskLimits, *, notional: Decimal
) -> RiskRejection | None:
    """Checks 4-5: how many orders are open, how big this one is."""
    if limits.max_open_orders is not None and account.open_orders_count >= limits.max_open_orders:
        return RiskRejection(
            RejectionCode.MAX_OPEN_ORDERS,
            f"You have {account.open_orders_count} open orders and the limit is {limits.max_open_orders}; "
            "cancel one before placing another.",
        )
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        currency = account.currency
        return RiskRejection(
            RejectionCode.MAX_ORDER_NOTIONAL,
            f"This order is worth {_money(notional)} {currency}; the limit per order is "
            f"{_money(limits.max_order_notional)} {currency}.",
            "quantity",
        )
    return None


def _check_holdings(
    intent: OrderIntent,
    account: AccountSnapshot,
    limits: RiskLimits,
    *,
    held: Decimal,
    is_buy: bool,
    notional: Decimal,
) -> RiskRejection | None:
    """Checks 6-7: enough quantity to sell (or shorting allowed) and enough buying power."""
    cover_quantity = _ZERO
    if is_buy:
        # the part that covers a short is paid from cash (which holds the short's proceeds); only the
        # rest needs buying power, which the caller reduces by the shorts' market value
        cover_quantity = min(intent.quantity, -held) if held < 0 else _ZERO
        cover_cost = cover_quantity * intent.estimated_price
        if cover_cost > account.cash:
            return RiskRejection(
                RejectionCode.INSUFFICIENT_BUYING_POWER,
                f"Cash is {_money(account.cash)} {account.currency}; covering "
                f"{_quantity(cover_quantity)} {intent.symbol} needs {_money(cover_cost)} {account.currency}.",
                "quantity",
            )
        needed = notional - cover_cost
        if needed <= 0:
            return None
        short_quantity = _ZERO
    else:
        short_quantity = intent.quantity - held if held > 0 else intent.quantity
        if short_quantity <= 0:
            return None  # selling part or all of a long frees cash, needs none
        if not (limits.allow_short and intent.shortable):
            return _short_rejection(intent, held, allow_short=limits.allow_short)
        needed = short_quantity * intent.estimated_price
    available = buying_power(account)
    if available >= needed:
        return None
    currency = account.currency
    if is_buy:
        what = "this order needs"
    else:
        what = f"selling {_quantity(short_quantity)} {intent.symbol} short needs"
    return RiskRejection(
        RejectionCode.INSUFFICIENT_BUYING_POWER,
        f"Buying power is {_money(available)} {currency}; {what} {_money(needed)} {currency}.",
        "quantity",
    )


def _check_exposure(
    intent: OrderIntent, account: AccountSnapshot, limits: RiskLimits, *, held: Decimal, is_buy: bool
) -> RiskRejection | None:
    """Checks 8-10, for orders that increase exposure: daily loss, position size, asset-class exposure."""
    currency = account.currency
    equity = account.equity
    if limits.daily_loss_limit is not None:
        loss = account.start_of_day_equity - equity
        if loss >= limits.daily_loss_limit:
            return RiskRejection(
                RejectionCode.DAILY_LOSS_LIMIT,
                f"Today's loss is {_money(loss)} {currency} (equity {_money(equity)} {currency} against "
                f"{_money(account.start_of_day_equity)} {currency} at the start of the day), which reaches "
                f"the daily loss limit of {_money(limits.daily_loss_limit)} {currency}; only orders that "
                "reduce a position are accepted until the next trading day.",
            )
    symbol = intent.symbol
    after = held + intent.quantity if is_buy else held - intent.quantity
    value_after = abs(after) * intent.estimated_price
    if limits.max_position_pct is not None and value_after * _HUNDRED > limits.max_position_pct * equity:
        return RiskRejection(
            RejectionCode.MAX_POSITION_PCT,
            _over_percent(
                subject=f"your {symbol} position would be worth {_money(value_after)} {currency}",
                value=value_after,
                equity=equity,
                limit_text=f"the limit per position is {_percent(limits.max_position_pct)}",
                currency=currency,
            ),
            "quantity",
        )
    asset_class = intent.asset_class
    class_limit = limits.exposure_limit_pct.get(asset_class)
    if class_limit is None:
        return None
    gross = value_after
    for other_symbol, other in account.positions.items():
        if other.asset_class == asset_class and other_symbol != symbol:
            gross += abs(other.market_value)
    if gross * _HUNDRED <= class_limit * equity:
        return None
    return RiskRejection(
        RejectionCode.EXPOSURE_LIMIT,
        _over_percent(
            subject=f"your {asset_class} exposure would be {_money(gross)} {currency}",
            value=gross,
            equity=equity,
            limit_text=f"the limit for {asset_class} is {_percent(class_limit)}",
            currency=currency,
        ),
        "quantity",
    )


def _reduces_only(held: Decimal, *, is_buy: bool, quantity: Decimal) -> bool:
    if held > 0:
        return not is_buy and quantity <= held
    if held < 0:
        return is_buy and quantity <= -held
    return False


def _short_rejection(intent: OrderIntent, held: Decimal, *, allow_short: bool) -> RiskRejection:
    symbol = intent.symbol
    why = f"{symbol} cannot be sold short" if allow_short else "short selling is not enabled for this account"
    if held > 0:
        return RiskRejection(
            RejectionCode.INSUFFICIENT_QUANTITY,
            f"You hold {_quantity(held)} {symbol} and this order sells {_quantity(intent.quantity)}; "
            f"{why}, so you can sell at most {_quantity(held)}.",
            "quantity",
        )
    holding = "You hold no" if held == 0 else f"You are already short {_quantity(-held)}"
    return RiskRejection(
        RejectionCode.SHORT_SELLING_NOT_ALLOWED,
        f"{holding} {symbol} and {why}, so this order cannot sell {_quantity(intent.quantity)} {symbol}.",
    )


def _over_percent(*, subject: str, value: Decimal, equity: Decimal, limit_text: str, currency: str) -> str:
    if equity <= 0:
        return (
            f"After this order {subject}, but equity is {_money(equity)} {currency}, so no exposure can be "
            f"added; {limit_text} of equity."
        )
    # Rounded up so a value just over the limit never displays as equal to it.
    share = (value * _HUNDRED / equity).quantize(_PERCENT_DISPLAY, rounding=ROUND_UP)
    return (
        f"After this order {subject}, {share}% of equity ({_money(equity)} {currency}); "
        f"{limit_text} of equity."
    )


def _money(value: Decimal) -> str:
    """``1234.5`` -> ``1,234.50``; more places only when the value has them (never hide a difference)."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{value.normalize():,f}"
    return f"{value:,.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"
