"""Trading in a real browser (headless Chromium via Playwright, daphne serving the ASGI app): a market
buy from the symbol page's ticket through its review step, the fill toast from the websocket, the
position revalued by live ticks; a limit order modified and canceled on the orders page; the quick-
trade dialog; the dashboard; the phone layout and the dark theme; not one console error on the way.

BTC/USD trades around the clock, so the test does not depend on the weekday.
Set TRADEAPP_SCREENSHOT_DIR to keep the screenshots (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import dataclasses
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from marketdata.consumers import quote_stream
from marketdata.models import Instrument
from marketdata.providers.simulator import SimulatorProvider
from marketdata.quotes import QUOTE_KEY, quote_payload, store_quotes
from marketdata.services import sync_instruments, upsert_bars
from orders.models import Order
from portfolio.models import Position
from tradeapp.core.realtime import publish, redis_client
from tradeapp.testing.browser import PHONE, BrowserTestCase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SYMBOL = "BTC/USD"
PASSWORD = "a-long-passphrase-9"
BUY, SELL = "0.25", "0.1"  # BTC/USD: the simulator prices it in the six figures


def seed_bitcoin():
    """The simulator's BTC/USD with a day of 5m bars and a quote stamped now (fresh enough to fill)."""
    provider = SimulatorProvider()
    sync_instruments([spec for spec in provider.instruments() if spec.symbol == SYMBOL])
    now = timezone.now()
    instrument = Instrument.objects.get(symbol=SYMBOL)
    upsert_bars(instrument=instrument, bars=provider.history(SYMBOL, "5m", now - timedelta(days=2), now))
    simulated = provider.latest_quote(SYMBOL)
    # whole dollars, so that every amount the page shows has an exact two-decimal form
    bid = simulated.bid.quantize(Decimal(1))
    quote = dataclasses.replace(simulated, ts=now, bid=bid, ask=bid + 10, last=bid + 5)
    store_quotes([quote])
    return quote


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


class TradingBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shots = os.environ.get("TRADEAPP_SCREENSHOT_DIR")

    def tearDown(self) -> None:
        redis_client().delete(QUOTE_KEY.format(symbol=SYMBOL))

    def screenshot(self, page, name: str, **options) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(self.shots) / name), **options)

    def provoked(self, page, status: int) -> None:
        """Chromium logs every 4xx answer as a console error: take off the list the one the test
        provoked on purpose (a refused order, refused exits), so any other error still fails it."""
        prefix = (
            f"console error on {page.url}: Failed to load resource: "
            f"the server responded with a status of {status} "
        )
        for _ in range(20):
            found = [problem for problem in self.problems if problem.startswith(prefix)]
            if found:
                self.problems.remove(found[0])
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"no {status} answer was logged: {self.problems}")

    @staticmethod
    def query(read):
        """Run ``read`` (an ORM read) off this thread: Playwright's sync API runs an event loop here."""

        def run():
            try:
                return read()
            finally:
                connections.close_all()  # the thread's own connection: never left open at teardown

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    def tick(self, quote, factor: str):
        """Store and publish ``quote`` moved by ``factor``, as the live feed would."""
        moved = dataclasses.replace(
            quote,
            ts=timezone.now(),
            last=(quote.last * Decimal(factor)).quantize(Decimal(1)),
            bid=(quote.bid * Decimal(factor)).quantize(Decimal(1)),
            ask=(quote.ask * Decimal(factor)).quantize(Decimal(1)),
        )
        store_quotes([moved])
        # Playwright's sync API runs an event loop in this thread: publish (async_to_sync) from another one
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(publish, quote_stream(quote.symbol), "quote", quote_payload(moved)).result()
        return moved

    def test_trade_from_the_ticket_manage_orders_and_positions(self) -> None:
        from playwright.sync_api import expect, sync_playwright

        from accounts.services import register_user

        quote = seed_bitcoin()
        register_user(username="trader", email="trader@example.com", password=PASSWORD)

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                page = self.open_page(browser)
                desktop = page.context
                self.log_in(page, "trader", PASSWORD)

                # --- a market buy from the symbol page's ticket, through the review step --------
                page.goto(self.url("/markets/BTC-USD/"))
                expect(page.locator("#conn-state")).to_have_text("live")
                ticket = page.locator("#ticket")
                expect(ticket.get_by_label("Limit price")).to_be_hidden()  # a market order has none
                expect(ticket.locator('[data-ticket-quote="ask"]')).to_have_text(money(quote.ask))

                # client-side check first: nothing typed, the error sits next to the quantity
                ticket.get_by_role("button", name="Review order").click()
                expect(ticket.locator('[data-field-for="quantity"] .field-errors')).to_have_text(
                    "Enter a quantity."
                )
                expect(ticket.get_by_label("Quantity (units)")).to_be_focused()

                ticket.get_by_label("Quantity (units)").fill(BUY)
                cost = quote.ask * Decimal(BUY)
                expect(ticket.locator('[data-estimate="amount"]')).to_have_text(money(cost))
                expect(ticket.locator('[data-estimate="after"]')).to_have_text(money(100_000 - cost))
                ticket.get_by_label("Quantity (units)").press("Enter")  # Enter reviews
                review = ticket.locator("[data-ticket-review]")
                expect(review).to_be_visible()
                expect(review).to_contain_text(f"Buy {BUY} BTC/USD at market · Good till canceled")
                expect(ticket.get_by_role("button", name="Place order")).to_be_focused()
                self.screenshot(page, "order-ticket.png", clip=self.ticket_clip(page), full_page=True)
                page.keyboard.press("Enter")  # Enter on "Place order" sends

                # the answer to the POST first (a cold server may take a moment), then the fill's toast
                expect(ticket.locator("[data-ticket-result]")).to_contain_text("Order filled", timeout=20_000)
                fill_toast = page.locator("#toasts .toast-fill")
                expect(fill_toast).to_contain_text(f"Bought {BUY} BTC/USD @ {money(quote.ask)}")
                expect(ticket.locator("[data-ticket-held]")).to_contain_text(f"Held {BUY}")
                order = self.query(Order.objects.get)
                assert (order.status, order.source, order.client_order_id is not None) == (
                    "filled",
                    "web",
                    True,
                )

                # the server's refusal (buying power) lands next to the quantity, nothing is placed
                ticket.get_by_label("Quantity (units)").fill("1")
                expect(ticket.locator("[data-ticket-warning]")).to_contain_text("more than your buying power")
                ticket.get_by_role("button", name="Review order").click()
                ticket.get_by_role("button", name="Place order").click()
                expect(ticket.locator('[data-field-for="quantity"] .field-errors')).to_contain_text(
                    "Buying power is"
                )
                expect(ticket.get_by_label("Quantity (units)")).to_be_focused()
                expect(ticket.get_by_label("Quantity (units)")).to_have_attribute("aria-invalid", "true")
                self.provoked(page, 422)
                assert self.query(Order.objects.count) == 1

                # --- a limit order: placed from the ticket, seen among the open orders -----------
                ticket.get_by_label("Order type").select_option("limit")
                expect(ticket.get_by_label("Limit price")).to_be_visible()
                expect(ticket.locator('input[name="size_in"][value="notional"]')).to_be_disabled()
                limit = (quote.bid * Decimal("0.9")).quantize(Decimal("1"))
                ticket.get_by_label("Quantity (units)").fill("0.1")
                ticket.get_by_label("Limit price").fill(str(limit))
                ticket.get_by_role("button", name="Review order").click()
                ticket.get_by_role("button", name="Place order").click()
                expect(ticket.locator("[data-ticket-result]")).to_contain_text("Order placed: limit buy 0.1")
                assert self.query(Order.objects.count) == 2

                # each type shows its own fields; a bracket adds its two prices
                ticket.get_by_label("Order type").select_option("stop_limit")
                expect(ticket.get_by_label("Stop price")).to_be_visible()
                expect(ticket.get_by_label("Trail by")).to_be_hidden()
                ticket.get_by_label("Order type").select_option("trailing_stop")
                expect(ticket.get_by_label("Trail by")).to_be_visible()
                expect(ticket.get_by_label("Limit price")).to_be_hidden()
                expect(ticket.get_by_label("Take-profit (limit)")).to_be_hidden()
                ticket.get_by_label("Add take-profit and stop-loss").check()
                expect(ticket.get_by_label("Take-profit (limit)")).to_be_visible()
                expect(ticket.get_by_label("Stop-loss (stop)")).to_be_visible()
                ticket.get_by_label("Add take-profit and stop-loss").uncheck()

                page.get_by_role("link", name="Orders", exact=True).click()
                expect(page).to_have_url(self.url("/orders/"))
                open_rows = page.locator("#open-orders tbody tr")
                expect(open_rows).to_have_count(1)
                row = open_rows.first
                expect(row.locator('[data-field="status"]')).to_have_text("accepted")
                expect(page.locator("#order-history tbody tr")).to_have_count(2)

                # modify it in the dialog: the new price shows after the live refresh
                row.get_by_role("link", name=re.compile("^Modify")).click()
                dialog = page.locator("#modify-dialog")
                expect(dialog).to_be_visible()
                expect(dialog.get_by_label("Limit price")).to_have_value(str(limit))
                expect(dialog.get_by_label("Stop price")).to_be_hidden()
                dialog.get_by_label("Limit price").fill(str(limit - 100))
                dialog.get_by_role("button", name="Save changes").click()
                expect(dialog).to_be_hidden()
                expect(page.locator("#toasts .toast-success").last).to_contain_text("Modified")
                expect(open_rows.first).to_contain_text(money(limit - 100))
                self.screenshot(page, "orders.png", full_page=True)

                # cancel it: the websocket's "order" event and the refresh empty the open orders
                open_rows.first.get_by_role("button", name=re.compile("^Cancel")).click()
                expect(page.locator("#open-orders")).to_contain_text("No open orders.")
                expect(
                    page.locator("#order-history tbody tr").first.locator('[data-field="status"]')
                ).to_have_text("canceled")

                # the order page: its audit trail
                page.locator("#order-history tbody tr").first.get_by_role("link").first.click()
                expect(page.get_by_test_id("order-status")).to_have_text("canceled")
                expect(page.locator("#order-events tbody tr")).to_have_count(3)  # new, accepted, canceled

                # --- positions: live unrealised P&L, exits, quick trade --------------------------
                page.get_by_role("link", name="Positions", exact=True).click()
                position = page.locator('#positions tr[data-symbol="BTC/USD"]')
                expect(position).to_have_count(1)
                page.wait_for_timeout(300)  # the subscribe message reaches the server
                up = self.tick(quote, "1.01")
                mark = up.last
                pnl = (mark - quote.ask) * Decimal(BUY)
                expect(position.locator('[data-field="price"]')).to_have_text(money(mark))
                expect(position.locator('[data-field="unrealized_pnl"]')).to_contain_text(f"+{money(pnl)}")
                expect(position.locator('[data-field="unrealized_pnl"]')).to_have_class(
                    re.compile(r"\bpos\b")
                )

                position.get_by_role("link", name=re.compile("^Exits")).click()
                exits = page.locator("#exits-dialog")
                stop_loss = (quote.bid * Decimal("0.8")).quantize(Decimal("1"))
                exits.get_by_label("Stop-loss price").fill(str(stop_loss))
                exits.get_by_label("Take-profit price").fill(str(stop_loss - 10))  # below the stop: refused
                exits.get_by_role("button", name="Save exits").click()
                expect(exits.locator('[data-field-for="stop_loss_price"] .field-errors')).to_contain_text(
                    "below the take-profit"
                )
                self.provoked(page, 400)
                exits.get_by_label("Take-profit price").fill("")
                exits.get_by_role("button", name="Save exits").click()
                expect(exits).to_be_hidden()
                expect(position.locator(".exits-cell")).to_contain_text(money(stop_loss))
                assert self.query(Position.objects.get).stop_loss_price == stop_loss

                # the quick-trade dialog opens on the position's side (sell) and Escape closes it
                position.get_by_role("link", name=re.compile("^Trade")).click()
                trade = page.locator("#trade-dialog")
                expect(trade).to_be_visible()
                expect(trade.locator("[data-ticket-symbol]")).to_have_text("BTC/USD")
                expect(trade.get_by_label("Sell")).to_be_checked()
                expect(trade.get_by_label("Quantity (units)")).to_be_focused()
                page.keyboard.press("Escape")
                expect(trade).to_be_hidden()
                self.screenshot(page, "positions.png", full_page=True)

                # --- the dashboard: summary cards, the position, nothing open -------------------
                page.get_by_role("link", name="Dashboard", exact=True).click()
                cash = Decimal(100_000) - cost
                expect(page.get_by_test_id("cash")).to_contain_text(money(cash))
                expect(page.get_by_test_id("buying-power")).to_contain_text(money(cash))
                expect(page.get_by_test_id("open-orders")).to_have_text("0")
                expect(page.locator('#positions tr[data-symbol="BTC/USD"]')).to_have_count(1)
                expect(page.get_by_test_id("equity")).to_contain_text(money(cash + mark * Decimal(BUY)))

                # --- quick trade from a watchlist row: sell half, the toast says so -------------
                page.get_by_role("link", name="Markets", exact=True).click()
                page.get_by_role("link", name="Trade BTC/USD").click()
                expect(trade).to_be_visible()
                expect(trade.get_by_label("Buy")).to_be_checked()
                trade.locator("label.side-sell").click()
                trade.get_by_label("Quantity (units)").fill(SELL)
                trade.get_by_role("button", name="Review order").click()
                trade.get_by_role("button", name="Place order").dblclick()  # a double click: one order
                expect(trade).to_be_hidden()
                expect(page.locator("#toasts .toast-fill").last).to_contain_text(
                    f"Sold {SELL} BTC/USD @ {money(up.bid)}"
                )
                assert self.query(Order.objects.count) == 4  # buy, limit, its replacement, sell
                assert self.query(Position.objects.get).quantity == Decimal(BUY) - Decimal(SELL)

                # --- without JavaScript: the ticket page, the server's review step, a redirect ---
                plain = browser.new_context(java_script_enabled=False, storage_state=desktop.storage_state())
                nojs = plain.new_page()
                self.watch(nojs)
                nojs.goto(self.url("/orders/new/?symbol=BTC-USD&side=sell"))
                expect(nojs.get_by_label("Sell")).to_be_checked()
                nojs.get_by_label("Quantity (units)").fill("0.05")
                nojs.get_by_role("button", name="Review order").click()
                expect(nojs.get_by_test_id("ticket-review")).to_contain_text("Sell 0.05 BTC/USD · market")
                nojs.get_by_role("button", name="Place order").click()
                expect(nojs.locator(".msg-success")).to_contain_text("Order filled: sell 0.05 BTC/USD")
                plain.close()
                assert self.query(Position.objects.get).quantity == Decimal(BUY) - Decimal(SELL) - Decimal(
                    "0.05"
                )

                # --- the phone, in the dark theme: nothing wider than the screen ----------------
                phone_context = browser.new_context(
                    viewport=PHONE,
                    is_mobile=True,
                    has_touch=True,
                    color_scheme="dark",
                    storage_state=desktop.storage_state(),
                )
                phone = phone_context.new_page()
                self.watch(phone)
                paths = [
                    "/",
                    "/orders/",
                    "/orders/positions/",
                    "/markets/BTC-USD/",
                    "/markets/",
                    f"/orders/{order.pk}/",
                ]
                for path in paths:
                    phone.goto(self.url(path))
                    expect(phone.locator("#conn-state")).to_have_text("live")
                    expect(phone.locator("html")).to_have_attribute("data-theme", "dark")
                    self.assert_no_horizontal_overflow(phone)
                phone.goto(self.url("/markets/"))
                expect(phone.locator("#conn-state")).to_have_text("live")
                phone.get_by_role("link", name="Trade BTC/USD").click()
                expect(phone.locator("#trade-dialog")).to_be_visible()
                self.assert_no_horizontal_overflow(phone)
                self.screenshot(phone, "trade-dialog-phone-dark.png")
                phone.keyboard.press("Escape")
                phone.goto(self.url("/orders/positions/"))
                expect(phone.locator("#conn-state")).to_have_text("live")
                surface = phone.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
                assert surface == "rgb(21, 27, 35)", surface  # app.css's dark --surface
                self.screenshot(phone, "positions-phone-dark.png", full_page=True)
            finally:
                browser.close()

        assert self.problems == []

    @staticmethod
    def ticket_clip(page) -> dict[str, float]:
        """The ticket card's box in page coordinates (for a full-page clip), with a small margin."""
        box = page.locator(".ticket-card").evaluate(
            "card => { const r = card.getBoundingClientRect();"
            " return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height}; }"
        )
        return {
            "x": box["x"] - 8,
            "y": box["y"] - 8,
            "width": box["width"] + 16,
            "height": box["height"] + 16,
        }
