"""Trading pages: the order ticket (a page of its own, included on the symbol page and in the quick-trade
dialog), open orders and history with filters and CSV, one order with its audit trail, positions with
close and exits. Thin: forms check shape, one service call decides, a DomainError becomes a message
next to its field.

Every POST answers by the pages' one protocol (``tradeapp.core.pages``): a plain form gets a message
and a redirect, ``fetch`` gets JSON (``{"message", "order", "url"...}`` on success, the error with its
4xx otherwise), so the JavaScript shows the same sentences. The ticket's contents: ``orders.ticket``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketdata.models import Instrument
from marketdata.quotes import latest_quote
from marketdata.selectors import instrument_by_symbol
from orders import exports, selectors, services
from orders.forms import (
    ModifyOrderForm,
    OrderFilterForm,
    OrderTicketForm,
    PositionExitsForm,
    add_ticket_error,
)
from orders.models import Order, OrderSource
from orders.representations import OrderSerializer
from orders.states import OrderStatus
from orders.ticket import TICKET_ID, request_ticket_context
from portfolio import selectors as portfolio_selectors, services as portfolio_services
from portfolio.views import position_rows
from tradeapp.core.errors import DomainError, NotFound
from tradeapp.core.formatting import price, qty, words
from tradeapp.core.forms import add_domain_error
from tradeapp.core.pages import done, failed, invalid, safe_next, wants_json

HISTORY_PAGE_SIZE = 50
CHECK_THE_ORDER = "Check the order."


# --- helpers ------------------------------------------------------------------------------------------


def order_body(order: Order) -> dict[str, Any]:
    """What a fetch answer carries about the order it placed or changed: the order and its page."""
    return {"order": OrderSerializer(order).data, "url": reverse("orders:detail", args=[order.pk])}


def describe(order: Order) -> str:
    """``limit buy 1 BTC/USD @ 49,900.00``: the order as a trader says it."""
    kind = "" if order.order_type == "market" else f"{words(order.order_type)} "
    size = f"{qty(order.quantity)} {order.instrument.symbol}"
    text = f"{kind}{order.side} {size}"
    if order.limit_price is not None:
        text += f" @ {price(order.limit_price)}"
    if order.stop_price is not None:
        text += f" (stop {price(order.stop_price)})"
    if order.trail_percent is not None:
        text += f" (trail {qty(order.trail_percent)}%)"
    elif order.trail_amount is not None:
        text += f" (trail {price(order.trail_amount)})"
    return text


def placed_message(order: Order, *, created: bool) -> str:
    if not created:
        return f"Already submitted: {describe(order)} is {words(order.status)}."
    if order.status == OrderStatus.FILLED:
        return f"Order filled: {describe(order)} at {price(order.average_fill_price)}."
    if order.status == OrderStatus.PARTIALLY_FILLED:
        return (
            f"Order partially filled: {qty(order.filled_quantity)} of {describe(order)} "
            f"at {price(order.average_fill_price)}."
        )
    if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
        reason = f" {order.reason_message}" if order.reason_message else ""
        return f"Order {words(order.status)}: {describe(order)}.{reason}"
    return f"Order placed: {describe(order)}, {order.time_in_force.upper()}."


def _instrument_or_404(symbol: str, *, active_only: bool = False) -> Instrument:
    try:
        return instrument_by_symbol(symbol, active_only=active_only)
    except NotFound as error:
        raise Http404(error.message) from error


def _order_or_404(request: HttpRequest, order_id: object) -> Order:
    return selectors.order_of(request.account, order_id)  # type: ignore[attr-defined]  # NotFound: 404


# --- the order ticket ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def new_order(request: HttpRequest) -> HttpResponse:
    """GET: the ticket for ``?symbol=``. POST ``step=review`` (no JavaScript): the review page;
    ``step=edit``: back to the form; ``step=place`` (default): place the order."""
    if request.method == "GET":
        instrument = _instrument_or_404(request.GET.get("symbol", ""))
        context = request_ticket_context(
            request,
            instrument=instrument,
            quote=latest_quote(instrument.symbol),
            side=request.GET.get("side"),
        )
        return render(request, "orders/new.html", context)

    form = OrderTicketForm(request.POST, auto_id=TICKET_ID)
    step = request.POST.get("step", "place")
    status = 400
    instrument = None
    try:
        instrument = instrument_by_symbol(request.POST.get("symbol", ""), active_only=True)
    except NotFound as error:
        form.is_valid()
        add_ticket_error(form, error)
    if instrument is not None and form.is_valid():
        if step in ("review", "edit") and not wants_json(request):
            context = request_ticket_context(
                request,
                instrument=instrument,
                quote=latest_quote(instrument.symbol),
                form=form,
                review=step == "review",
            )
            return render(request, "orders/new.html", context)
        try:
            placement = services.place_order(
                account=request.account,  # type: ignore[attr-defined]
                request=form.to_request(source=OrderSource.WEB),
            )
        except DomainError as error:
            add_ticket_error(form, error)
            status = 400 if isinstance(error, NotFound) else error.status
        else:
            order = placement.order
            return done(
                request,
                placed_message(order, created=placement.created),
                to=safe_next(request, reverse("orders:detail", args=[order.pk])),
                status=201 if placement.created else 200,
                created=placement.created,
                **order_body(order),
            )
    if wants_json(request):
        return invalid(form, status=status, default=CHECK_THE_ORDER)
    context = request_ticket_context(
        request,
        instrument=instrument,
        quote=latest_quote(instrument.symbol) if instrument else None,
        form=form,
    )
    return render(request, "orders/new.html", context, status=status)


# --- orders -------------------------------------------------------------------------------------------


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    filters = OrderFilterForm(request.GET or None)
    query = filters.selector_filters() if filters.is_bound else {}
    history = selectors.orders_of(account, **query)
    page = Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "open_orders": list(selectors.orders_of(account, status="open")[:200]),
        "filters": filters,
        "page": page,
        "history": page.object_list,
        "query": params.urlencode(),
        "filtered": any(query.values()),
        "csv_url": reverse("orders:export") + (f"?{params.urlencode()}" if params else ""),
    }
    return render(request, "orders/list.html", context)


@login_required
@require_GET
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered history as CSV (the API's columns and export), streamed in full."""
    account = request.account  # type: ignore[attr-defined]
    filters = OrderFilterForm(request.GET or None)
    query = filters.selector_filters() if filters.is_bound else {}
    return exports.csv_response(selectors.orders_of(account, **query))


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _order_or_404(request, order_id)
    context = {
        "order": order,
        "events": order.events.order_by("sequence"),
        "fills": order.fills.order_by("sequence"),
        "legs": order.legs.select_related("instrument").order_by("created_at"),
        "replaced_by": Order.objects.filter(replaces=order).first(),
        "modify_form": ModifyOrderForm(order=order, auto_id="modify-%s") if _modifiable(order) else None,
    }
    return render(request, "orders/detail.html", context)


def _modifiable(order: Order) -> bool:
    return order.is_open and order.status != OrderStatus.HELD


@login_required
@require_POST
def cancel_order(request: HttpRequest, order_id: str) -> HttpResponse:
    back = safe_next(request, reverse("orders:list"))
    try:
        order = services.cancel_order(account=request.account, order_id=order_id)  # type: ignore[attr-defined]
    except NotFound:
        raise
    except DomainError as error:
        return failed(request, error, to=back)
    return done(request, f"Canceled: {describe(order)}.", to=back, **order_body(order))


@login_required
@require_POST
def cancel_all_orders(request: HttpRequest) -> HttpResponse:
    back = safe_next(request, reverse("orders:list"))
    try:
        canceled = services.cancel_all_orders(account=request.account)  # type: ignore[attr-defined]
    except DomainError as error:
        return failed(request, error, to=back)
    count = len(canceled)
    message = (
        f"Canceled {count} open order{'s' if count != 1 else ''}." if count else "No open orders to cancel."
    )
    return done(request, message, to=back, canceled=count)


@login_required
@require_http_methods(["GET", "POST"])
def modify_order(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _order_or_404(request, order_id)
    if not _modifiable(order):
        error = DomainError("order_not_open", f"The order is {words(order.status)}: it cannot be modified.")
        return failed(request, error, to=reverse("orders:detail", args=[order.pk]))
    form = ModifyOrderForm(request.POST or None, order=order, auto_id="modify-%s")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                new = services.replace_order(
                    account=request.account,  # type: ignore[attr-defined]
                    order_id=order.pk,
                    changes=form.to_replacement(),
                )
            except NotFound:
                raise
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                target = reverse("orders:detail", args=[new.pk])
                message = f"Modified: {describe(new)}."
                return done(request, message, to=safe_next(request, target), **order_body(new))
        if wants_json(request):
            return invalid(form, status=status, default=CHECK_THE_ORDER)
    return render(request, "orders/modify.html", {"order": order, "form": form}, status=status)


# --- positions ----------------------------------------------------------------------------------------


@login_required
@require_GET
def positions(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    context = {
        "summary": portfolio_selectors.account_summary(account),
        "positions": position_rows(account),
    }
    return render(request, "orders/positions.html", context)


@login_required
@require_POST
def close_position(request: HttpRequest, symbol: str) -> HttpResponse:
    back = safe_next(request, reverse("orders:positions"))
    try:
        placement = services.close_position(
            account=request.account,  # type: ignore[attr-defined]
            symbol=symbol,
            source=OrderSource.WEB,
        )
    except DomainError as error:
        return failed(request, error, to=back)
    order = placement.order
    return done(request, placed_message(order, created=True), to=back, **order_body(order))


@login_required
@require_POST
def close_all_positions(request: HttpRequest) -> HttpResponse:
    back = safe_next(request, reverse("orders:positions"))
    try:
        placements = services.close_all_positions(
            account=request.account,  # type: ignore[attr-defined]
            source=OrderSource.WEB,
        )
    except DomainError as error:
        return failed(request, error, to=back)
    count = len(placements)
    message = (
        f"Sent {count} closing order{'s' if count != 1 else ''}."
        if count
        else "There were no positions to close."
    )
    return done(request, message, to=back, closed=count)


@login_required
@require_http_methods(["GET", "POST"])
def position_exits(request: HttpRequest, symbol: str) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    row = portfolio_selectors.position_of(account, symbol)  # NotFound: 404
    position = row.position
    form = PositionExitsForm(
        request.POST or None,
        auto_id="exits-%s",
        initial={
            "stop_loss_price": position.stop_loss_price,
            "take_profit_price": position.take_profit_price,
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                portfolio_services.set_position_exits(
                    account=account,
                    symbol=row.instrument.symbol,
                    stop_loss_price=form.cleaned_data["stop_loss_price"],
                    take_profit_price=form.cleaned_data["take_profit_price"],
                )
            except NotFound:
                raise
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                stop, target = form.cleaned_data["stop_loss_price"], form.cleaned_data["take_profit_price"]
                message = (
                    f"{row.instrument.symbol} exits: stop-loss {price(stop) if stop else 'none'}, "
                    f"take-profit {price(target) if target else 'none'}."
                )
                return done(request, message, to=safe_next(request, reverse("orders:positions")))
        if wants_json(request):
            return invalid(form, status=status, default=CHECK_THE_ORDER)
    context = {"row": row, "form": form}
    return render(request, "orders/position_exits.html", context, status=status)
