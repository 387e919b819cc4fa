"""Forms of the trading pages: the order ticket, modify (replace), position exits, the history filter.
They check shape only (a price where the order type needs one, a positive quantity); the services
decide everything else and their DomainError lands next to the field it names (``add_ticket_error``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms

from orders.models import Order
from orders.services import LegRequest, OrderRequest, Replacement
from orders.states import OrderClass, OrderStatus, OrderType, Side, TimeInForce
from tradeapp.core.errors import DomainError

ORDER_TYPE_CHOICES = [
    (OrderType.MARKET.value, "Market"),
    (OrderType.LIMIT.value, "Limit"),
    (OrderType.STOP.value, "Stop"),
    (OrderType.STOP_LIMIT.value, "Stop limit"),
    (OrderType.TRAILING_STOP.value, "Trailing stop"),
]
TIME_IN_FORCE_CHOICES = [
    (TimeInForce.DAY.value, "Day"),
    (TimeInForce.GTC.value, "Good till canceled"),
    (TimeInForce.IOC.value, "Immediate or cancel"),
    (TimeInForce.FOK.value, "Fill or kill"),
]
SIDE_CHOICES = [(Side.BUY.value, "Buy"), (Side.SELL.value, "Sell")]
SIZE_CHOICES = [("quantity", "Quantity"), ("notional", "Dollars")]
TRAIL_UNIT_CHOICES = [("price", "$"), ("percent", "%")]

NEEDS_LIMIT = {OrderType.LIMIT, OrderType.STOP_LIMIT}
NEEDS_STOP = {OrderType.STOP, OrderType.STOP_LIMIT}
MAX_DIGITS = 28
PLACES = 10


def decimal_field(label: str, *, help_text: str = "", places: int = PLACES) -> forms.DecimalField:
    """An optional positive decimal typed as text (``inputmode=decimal``): number inputs round, add
    spinners and refuse a comma, which helps nobody entering a price."""
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=MAX_DIGITS,
        decimal_places=places,
        min_value=Decimal(0),
        help_text=help_text,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false", "class": "num"}
        ),
        error_messages={"min_value": "Must be positive.", "invalid": "Enter a number."},
    )


def positive(form: forms.Form, name: str, value: Decimal | None, message: str) -> Decimal | None:
    if value is None:
        form.add_error(name, message)
        return None
    if value <= 0:
        form.add_error(name, "Must be positive.")
        return None
    return value


class OrderTicketForm(forms.Form):
    """The order ticket. ``step`` (review / place / edit) is read by the view, not by the form."""

    symbol = forms.CharField(max_length=40, widget=forms.HiddenInput)
    client_order_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    side = forms.ChoiceField(choices=SIDE_CHOICES, initial=Side.BUY.value, widget=forms.RadioSelect)
    order_type = forms.ChoiceField(label="Order type", choices=ORDER_TYPE_CHOICES, initial="market")
    size_in = forms.ChoiceField(
        label="Size in", choices=SIZE_CHOICES, initial="quantity", widget=forms.RadioSelect
    )
    quantity = decimal_field("Quantity")
    notional = decimal_field("Amount ($)", places=2, help_text="Market orders only.")
    limit_price = decimal_field("Limit price", help_text="Limit and stop-limit orders.")
    stop_price = decimal_field("Stop price", help_text="Stop and stop-limit orders.")
    trail = decimal_field("Trail by", help_text="Trailing stops: an amount or a percent.")
    trail_unit = forms.ChoiceField(label="Trail unit", choices=TRAIL_UNIT_CHOICES, initial="price")
    time_in_force = forms.ChoiceField(label="Time in force", choices=TIME_IN_FORCE_CHOICES, initial="day")
    bracket = forms.BooleanField(label="Add take-profit and stop-loss (bracket)", required=False)
    take_profit_price = decimal_field("Take-profit (limit)")
    stop_loss_price = decimal_field("Stop-loss (stop)")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("order_type") is None:
            return data
        # values of fields the order type does not use are dropped, not refused: a hidden field
        # may still hold what was typed before the type changed
        order_type = OrderType(data["order_type"])
        self._clean_size(data, order_type)
        self._clean_prices(data, order_type)
        if data.get("bracket"):
            positive(self, "take_profit_price", data.get("take_profit_price"), "Enter the take-profit price.")
            positive(self, "stop_loss_price", data.get("stop_loss_price"), "Enter the stop-loss price.")
        else:
            data["take_profit_price"] = data["stop_loss_price"] = None
        return data

    def _clean_size(self, data: dict[str, Any], order_type: OrderType) -> None:
        if data.get("size_in") != "notional":
            data["notional"] = None
            positive(self, "quantity", data.get("quantity"), "Enter a quantity.")
            return
        data["quantity"] = None
        if order_type != OrderType.MARKET:
            self.add_error("notional", "Dollar amounts are for market orders only.")
        else:
            positive(self, "notional", data.get("notional"), "Enter an amount.")

    def _clean_prices(self, data: dict[str, Any], order_type: OrderType) -> None:
        if order_type in NEEDS_LIMIT:
            positive(self, "limit_price", data.get("limit_price"), "Enter a limit price.")
        else:
            data["limit_price"] = None
        if order_type in NEEDS_STOP:
            positive(self, "stop_price", data.get("stop_price"), "Enter a stop price.")
        else:
            data["stop_price"] = None
        if order_type != OrderType.TRAILING_STOP:
            data["trail"] = None
            return
        trail = positive(self, "trail", data.get("trail"), "Enter the trail amount or percent.")
        if trail is not None and data.get("trail_unit") == "percent" and trail >= 100:
            self.add_error("trail", "A trail percent must be below 100.")

    def to_request(self, *, source: str) -> OrderRequest:
        data = self.cleaned_data
        percent = data.get("trail_unit") == "percent"
        bracket = bool(data.get("bracket"))
        return OrderRequest(
            symbol=data["symbol"],
            side=Side(data["side"]),
            order_type=OrderType(data["order_type"]),
            quantity=data.get("quantity"),
            notional=data.get("notional"),
            limit_price=data.get("limit_price"),
            stop_price=data.get("stop_price"),
            trail_amount=None if percent else data.get("trail"),
            trail_percent=data.get("trail") if percent else None,
            time_in_force=TimeInForce(data["time_in_force"]),
            order_class=OrderClass.BRACKET if bracket else OrderClass.SIMPLE,
            take_profit=(
                LegRequest(OrderType.LIMIT, limit_price=data["take_profit_price"]) if bracket else None
            ),
            stop_loss=LegRequest(OrderType.STOP, stop_price=data["stop_loss_price"]) if bracket else None,
            client_order_id=data.get("client_order_id") or None,
            source=source,
        )


def new_client_order_id() -> str:
    return uuid.uuid4().hex


def ticket_field_of(error_field: str | None, form: forms.Form) -> str | None:
    """The ticket field a service's ``DomainError.field`` belongs to (None: the whole order)."""
    if not error_field:
        return None
    head = error_field.split(".", 1)[0]
    mapped = {
        "take_profit": "take_profit_price",
        "stop_loss": "stop_loss_price",
        "order_class": "bracket",
        "trail_amount": "trail",
        "trail_percent": "trail",
        "type": "order_type",
    }.get(head, head)
    sized_in_dollars = form.is_bound and form.data.get("size_in") == "notional"
    if mapped == "quantity" and sized_in_dollars:
        mapped = "notional"  # the quantity came from the dollar amount: say it where it was typed
    return mapped if mapped in form.fields and mapped not in ("symbol", "client_order_id") else None


def add_ticket_error(form: forms.Form, error: DomainError) -> None:
    form.add_error(ticket_field_of(error.field, form), error.message)


class ModifyOrderForm(forms.Form):
    """Replace an open order: the new total quantity and the prices its type uses."""

    quantity = decimal_field("Quantity (new total)")
    limit_price = decimal_field("Limit price")
    stop_price = decimal_field("Stop price")
    trail_amount = decimal_field("Trail amount")
    trail_percent = decimal_field("Trail percent")
    time_in_force = forms.ChoiceField(label="Time in force", choices=TIME_IN_FORCE_CHOICES, required=False)

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "quantity": order.quantity,
                "limit_price": order.limit_price,
                "stop_price": order.stop_price,
                "trail_amount": order.trail_amount,
                "trail_percent": order.trail_percent,
                "time_in_force": order.time_in_force,
            },
        )
        super().__init__(*args, **kwargs)
        self.order = order
        order_type = OrderType(order.order_type)
        if order_type not in NEEDS_LIMIT:
            del self.fields["limit_price"]
        if order_type not in NEEDS_STOP:
            del self.fields["stop_price"]
        if order_type != OrderType.TRAILING_STOP or order.trail_amount is None:
            del self.fields["trail_amount"]
        if order_type != OrderType.TRAILING_STOP or order.trail_percent is None:
            del self.fields["trail_percent"]
        if order.leg_role:  # a leg keeps its group's time in force
            del self.fields["time_in_force"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        changed = {
            name: value
            for name, value in data.items()
            if value not in (None, "") and value != getattr(self.order, name)
        }
        if not changed:
            raise forms.ValidationError("Change at least one value.", code="nothing_to_change")
        for name, value in changed.items():
            if isinstance(value, Decimal) and value <= 0:
                self.add_error(name, "Must be positive.")
        self.changes = changed
        return data

    def to_replacement(self) -> Replacement:
        changes = dict(self.changes)
        if "time_in_force" in changes:
            changes["time_in_force"] = TimeInForce(changes["time_in_force"])
        return Replacement(**changes)


class PositionExitsForm(forms.Form):
    """A position's automatic exits; an empty box clears that exit."""

    stop_loss_price = decimal_field("Stop-loss price", help_text="Empty: none.")
    take_profit_price = decimal_field("Take-profit price", help_text="Empty: none.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("stop_loss_price", "take_profit_price"):
            if data.get(name) is not None and data[name] <= 0:
                self.add_error(name, "Must be positive.")
        return data


STATUS_FILTER_CHOICES = [
    ("", "Any status"),
    ("open", "Open"),
    ("closed", "Closed"),
    *[(status.value, status.value.replace("_", " ").capitalize()) for status in OrderStatus],
]


class OrderFilterForm(forms.Form):
    """The order history's filters (a GET form: bookmarkable, works without JavaScript)."""

    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False)
    symbol = forms.CharField(
        max_length=40, required=False, widget=forms.TextInput(attrs={"placeholder": "Any"})
    )
    side = forms.ChoiceField(choices=[("", "Any side"), *SIDE_CHOICES], required=False)
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def selector_filters(self) -> dict[str, Any]:
        """Keyword arguments for ``orders.selectors.orders_of`` (dates as whole UTC days)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "status": data.get("status") or None,
            "symbol": (data.get("symbol") or "").strip() or None,
            "side": data.get("side") or None,
            "since": _day_start(data.get("since")),
            "until": _day_start(data["until"] + timedelta(days=1)) if data.get("until") else None,
        }


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None
