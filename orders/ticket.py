"""The order ticket's read side: its first values, what its template shows (buying power, the position
held, the quote stream) and the review step's estimate and summary line. No request handling: the
ticket page, the symbol page and the quick-trade dialog all build the ticket here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest

from accounts.models import TradingAccount
from marketdata.consumers import quote_stream
from marketdata.models import Instrument
from orders.forms import ORDER_TYPE_CHOICES, TIME_IN_FORCE_CHOICES, OrderTicketForm, new_client_order_id
from orders.matching import reference_price
from orders.states import OrderType, Side, TimeInForce
from portfolio import selectors as portfolio_selectors
from tradeapp.core.formatting import price, qty

TICKET_ID = "ticket-%s"
DIALOG_TICKET_ID = "qt-%s"


def default_time_in_force(instrument: Instrument | None) -> str:
    """Crypto never closes, so a day order there only lasts to UTC midnight: GTC is the safer default."""
    if instrument is not None and instrument.asset_class == "crypto":
        return TimeInForce.GTC.value
    return TimeInForce.DAY.value


def new_ticket_form(instrument: Instrument | None, *, dialog: bool, side: str | None) -> OrderTicketForm:
    """An empty ticket for ``instrument``: a fresh client order id, the instrument's default time in
    force, ``side`` when it is buy or sell (else buy)."""
    return OrderTicketForm(
        auto_id=DIALOG_TICKET_ID if dialog else TICKET_ID,
        initial={
            "symbol": instrument.symbol if instrument else "",
            "client_order_id": new_client_order_id(),
            "time_in_force": default_time_in_force(instrument),
            "side": side if side in ("buy", "sell") else "buy",
        },
    )


def ticket_context(
    *,
    account: TradingAccount,
    instrument: Instrument | None,
    quote: Any = None,
    form: OrderTicketForm | None = None,
    dialog: bool = False,
    review: bool = False,
    side: str | None = None,
    next_url: str = "",
) -> dict[str, Any]:
    """What templates/includes/order_ticket.html needs: the form, the instrument and its quote, the
    account's buying power and the position held (for the "buying power after" estimate); with
    ``review`` and a valid form, the review step's estimate and summary line. ``next_url``: the page
    the order was started from, where the ticket goes back to once placed."""
    summary = portfolio_selectors.account_summary(account)
    held = None
    if instrument is not None:
        position = portfolio_selectors.open_positions(account).filter(instrument=instrument).first()
        held = position.quantity if position else None
    if form is None:
        form = new_ticket_form(instrument, dialog=dialog, side=side)
    if instrument is not None:
        unit = "units" if instrument.asset_class == "crypto" else "shares"
        form.fields["quantity"].label = f"Quantity ({unit})"
    context = {
        "form": form,
        "instrument": instrument,
        "quote": quote,
        "stream": quote_stream(instrument.symbol) if instrument else "",
        "account": account,
        "buying_power": summary.buying_power,
        "position_quantity": held,
        "dialog": dialog,
        "review": review,
        "ticket_id": "qt" if dialog else "ticket",
        "next": next_url,
    }
    if review and form.is_valid():
        context["estimate"] = estimate_order(form.cleaned_data, quote)
        context["review_text"] = review_text(
            form.cleaned_data, symbol=instrument.symbol if instrument else ""
        )
    return context


def request_ticket_context(request: HttpRequest, **options: Any) -> dict[str, Any]:
    """:func:`ticket_context` for the page being rendered: the signed-in user's current account, the
    request itself (the template's CSRF token), and as ``next`` the page the order was started from (a
    re-shown ticket, after errors, review or edit, keeps the ``next`` it was posted with)."""
    next_url = request.POST.get("next", "") if request.method == "POST" else request.get_full_path()
    context = ticket_context(
        account=request.account,  # type: ignore[attr-defined]
        next_url=next_url,
        **options,
    )
    return {"request": request, **context}


def estimate_order(data: dict[str, Any], quote: Any) -> dict[str, Decimal | None]:
    """The price the order is likely to trade at and its amount (quantity x price), by the one
    reference-price rule the risk check uses (``orders.matching.reference_price``): the limit for
    limit-type orders, a stop at the book or its stop (whichever is worse), else the side of the book
    it takes. ``data``: a valid ticket's cleaned data; ``quote``: the latest quote, or None."""
    side = Side(data["side"])
    book = None
    if quote is not None:
        book = quote.ask if side == Side.BUY else quote.bid
    reference = reference_price(
        side,
        OrderType(data["order_type"]),
        limit_price=data.get("limit_price"),
        stop_price=data.get("stop_price"),
        book=book,
    )
    quantity = data.get("quantity")
    amount = None
    if data.get("notional") is not None:
        amount = data["notional"]
    elif reference is not None and quantity is not None:
        amount = quantity * reference
    return {"price": reference, "amount": amount}


def review_text(data: dict[str, Any], *, symbol: str) -> str:
    """The order in one line, as the review step shows it."""
    size = f"${data['notional']:,.2f} of" if data.get("notional") is not None else qty(data["quantity"])
    kind = dict(ORDER_TYPE_CHOICES)[data["order_type"]].lower()
    text = f"{data['side'].capitalize()} {size} {symbol or data['symbol']} · {kind}"
    if data.get("limit_price") is not None:
        text += f" · limit {price(data['limit_price'])}"
    if data.get("stop_price") is not None:
        text += f" · stop {price(data['stop_price'])}"
    if data.get("trail") is not None:
        text += f" · trail {qty(data['trail'])}{'%' if data.get('trail_unit') == 'percent' else ''}"
    text += f" · {dict(TIME_IN_FORCE_CHOICES)[data['time_in_force']]}"
    if data.get("bracket"):
        text += (
            f" · take-profit {price(data['take_profit_price'])}, stop-loss {price(data['stop_loss_price'])}"
        )
    return text + "."
