"""The market pages in a real browser (headless Chromium via Playwright, daphne serving the ASGI app):
watchlist with live ticks and sparklines, the "/" search, the symbol chart (timeframes, indicator pane,
live candle), the screener, the phone layout; not one console error on the way.

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
from django.utils import timezone

from marketdata.consumers import quote_stream
from marketdata.models import Instrument
from marketdata.providers.simulator import SimulatorProvider
from marketdata.quotes import QUOTE_KEY, quote_payload, store_quotes
from marketdata.services import sync_instruments, upsert_bars
from tradeapp.core.realtime import publish, redis_client
from tradeapp.testing.browser import PHONE, BrowserTestCase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SYMBOLS = ("AAPL", "MSFT", "BTC/USD")
PASSWORD = "a-long-passphrase-9"


def seed_market() -> dict[str, object]:
    """The simulator's AAPL, MSFT and BTC/USD with recent bars and a latest quote each."""
    provider = SimulatorProvider()
    sync_instruments([spec for spec in provider.instruments() if spec.symbol in SYMBOLS])
    now = timezone.now()
    windows = {"5m": timedelta(days=7), "1m": timedelta(days=1), "1h": timedelta(days=30)}
    for symbol in SYMBOLS:
        instrument = Instrument.objects.get(symbol=symbol)
        for timeframe, span in windows.items():
            if symbol != "BTC/USD" and timeframe != "5m":
                continue
            upsert_bars(instrument=instrument, bars=provider.history(symbol, timeframe, now - span, now))
    quotes = {symbol: provider.latest_quote(symbol) for symbol in SYMBOLS}
    store_quotes(quotes.values())
    return quotes


class MarketPagesBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shots = os.environ.get("TRADEAPP_SCREENSHOT_DIR")

    def tearDown(self) -> None:
        redis_client().delete(*(QUOTE_KEY.format(symbol=symbol) for symbol in SYMBOLS))

    def screenshot(self, page, name: str) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(self.shots) / name))

    def tick(self, quote, factor: str):
        """Publish ``quote`` moved by ``factor`` on its stream, as the live feed would."""
        moved = dataclasses.replace(
            quote,
            ts=timezone.now(),
            last=(quote.last * Decimal(factor)).quantize(Decimal("0.01")),
            bid=(quote.bid * Decimal(factor)).quantize(Decimal("0.01")),
            ask=(quote.ask * Decimal(factor)).quantize(Decimal("0.01")),
        )
        # Playwright's sync API runs an event loop in this thread: publish (async_to_sync) from another one
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(publish, quote_stream(quote.symbol), "quote", quote_payload(moved)).result()
        return moved

    def test_watchlist_search_and_symbol_chart(self) -> None:
        from playwright.sync_api import expect, sync_playwright

        from accounts.services import register_user

        quotes = seed_market()
        register_user(username="chartist", email="chartist@example.com", password=PASSWORD)

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                page = self.open_page(browser)
                desktop = page.context
                self.log_in(page, "chartist", PASSWORD)

                # The watchlist: the default list, quotes, sparklines, live ticks that flash.
                page.get_by_role("link", name="Markets").click()
                expect(page).to_have_url(self.url("/markets/"))
                rows = page.locator("#watchlist tbody tr")
                expect(rows).to_have_count(3)
                btc = page.locator('tr[data-symbol="BTC/USD"]')
                expect(btc.locator('[data-field="last"]')).to_have_text(f"{quotes['BTC/USD'].last:.2f}")
                expect(btc).to_have_attribute("data-spark-points", re.compile(r"^[1-9]\d*$"))
                expect(page.locator("#conn-state")).to_have_text("live")
                page.wait_for_timeout(300)  # the subscribe message reaches the server
                up = self.tick(quotes["BTC/USD"], "1.01")
                expect(btc.locator('[data-field="last"]')).to_have_text(f"{up.last:.2f}")
                expect(btc).to_have_class(re.compile(r"\bflash-up\b"))
                down = self.tick(up, "0.99")
                expect(btc.locator('[data-field="last"]')).to_have_text(f"{down.last:.2f}")
                expect(btc).to_have_class(re.compile(r"\bflash-down\b"))
                expect(btc).not_to_have_class(re.compile(r"flash-"))
                self.screenshot(page, "watchlist-desktop.png")

                # Remove MSFT, then add it back through the autocomplete.
                page.locator('tr[data-symbol="MSFT"]').get_by_role("button", name="Remove MSFT").click()
                expect(rows).to_have_count(2)
                page.get_by_label("Add symbol").fill("micro")
                option = page.locator("#wl-add-list [role=option]", has_text="MSFT")
                option.click()
                expect(page.locator('tr[data-symbol="MSFT"]')).to_have_count(1)

                # "/" focuses the top bar's search; Enter opens the symbol page.
                page.locator("h1").click()
                page.keyboard.press("/")
                search = page.locator("#global-search")
                expect(search).to_be_focused()
                search.type("bitc")
                expect(page.locator("#global-search-list [role=option]").first).to_contain_text("BTC/USD")
                expect(search).to_have_attribute("aria-expanded", "true")
                page.keyboard.press("Escape")
                expect(page.locator("#global-search-list")).to_be_hidden()
                page.keyboard.press("ArrowDown")
                expect(page.locator("#global-search-list [role=option]").first).to_be_visible()
                page.keyboard.press("ArrowDown")
                expect(search).to_have_attribute("aria-activedescendant", re.compile(r"."))
                page.keyboard.press("Enter")
                expect(page).to_have_url(self.url("/markets/BTC-USD/"))

                # The symbol page: candles + volume, RSI pane, timeframes, overlays, live candle.
                chart = page.locator("#price-chart")
                expect(chart.locator("canvas").first).to_be_attached()
                expect(chart).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))
                expect(page.locator("#pane-chart")).to_have_attribute("data-indicator", "rsi:14")
                expect(page.locator("#pane-chart canvas").first).to_be_attached()
                expect(page.get_by_role("link", name="Charts by TradingView")).to_have_attribute(
                    "href", "https://www.tradingview.com/"
                )
                expect(page.get_by_test_id("market-status")).to_contain_text("Market open")
                page.get_by_role("button", name="1m", exact=True).click()
                expect(chart).to_have_attribute("data-timeframe", "1m")
                expect(chart).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))
                expect(page.get_by_role("button", name="1m", exact=True)).to_have_attribute(
                    "aria-pressed", "true"
                )
                page.get_by_role("button", name="Bollinger").click()
                expect(page.get_by_role("button", name="Bollinger")).to_have_attribute("aria-pressed", "true")
                page.get_by_role("button", name="MACD").click()
                expect(page.locator("#pane-chart")).to_have_attribute("data-indicator", "macd:12:26:9")
                page.get_by_role("button", name="RSI").click()
                expect(page.locator("#pane-chart")).to_have_attribute("data-indicator", "rsi:14")
                page.get_by_role("button", name="5m", exact=True).click()
                expect(chart).to_have_attribute("data-timeframe", "5m")
                page.wait_for_timeout(300)
                live = self.tick(down, "1.002")
                # JavaScript writes whole numbers without ".0" (String(196332) == "196332")
                shown = format(live.last.normalize(), "f")
                expect(chart).to_have_attribute("data-last-close", re.compile(rf"^{re.escape(shown)}$"))
                expect(page.locator('#quote-box [data-field="last"]')).to_have_text(f"{live.last:.2f}")
                page.wait_for_timeout(500)  # let the overlays draw before the screenshot
                self.screenshot(page, "symbol-desktop.png")

                # The screener lists gainers and losers.
                page.goto(self.url("/markets/screener/"))
                expect(page.locator("#gainers tbody tr, #losers tbody tr").first).to_be_visible()

                # The phone: nothing wider than the screen.
                phone_context = browser.new_context(
                    viewport=PHONE, is_mobile=True, has_touch=True, storage_state=desktop.storage_state()
                )
                phone = phone_context.new_page()
                self.watch(phone)
                for path in ("/markets/", "/markets/screener/", "/markets/AAPL/", "/markets/BTC-USD/"):
                    phone.goto(self.url(path))
                    expect(phone.locator("#conn-state")).to_have_text("live")
                    self.assert_no_horizontal_overflow(phone)
                expect(phone.locator("#price-chart")).to_have_attribute(
                    "data-bars", re.compile(r"^[1-9]\d*$")
                )
                phone.wait_for_timeout(500)
                self.assert_no_horizontal_overflow(phone)
                self.screenshot(phone, "symbol-phone.png")
                phone.goto(self.url("/markets/"))
                expect(phone.locator("#conn-state")).to_have_text("live")
                self.screenshot(phone, "watchlist-phone.png")
            finally:
                browser.close()

        assert self.problems == []
