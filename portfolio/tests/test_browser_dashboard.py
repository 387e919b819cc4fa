"""The dashboard in a real browser (headless Chromium via Playwright, daphne serving the ASGI app) with
45 days of history: the equity curve drawn by lightweight-charts and its range buttons (through the
equity API, the address keeping the range), today's P&L, allocation, performance and realised P&L;
a fill refreshing them live; a quote tick moving the curve's last point; the links without JavaScript;
the phone in the dark theme; not one console error on the way.

Set TRADEAPP_SCREENSHOT_DIR to keep the screenshots (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.db import connections
from django.utils import timezone

from marketdata.consumers import quote_stream
from marketdata.domain import Quote
from marketdata.providers.simulator import SimulatorProvider
from marketdata.quotes import QUOTE_KEY, quote_payload, store_quotes
from marketdata.services import sync_instruments
from tradeapp.core import clock
from tradeapp.core.realtime import publish, redis_client
from tradeapp.testing.browser import PHONE, BrowserTestCase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SYMBOLS = ("BTC/USD", "ETH/USD", "SPY")
PASSWORD = "a-long-passphrase-9"
HISTORY_DAYS = 45


def price_at(symbol: str, moment: datetime, origin: datetime) -> Decimal:
    """A smooth, deterministic price path per symbol (days since ``origin``)."""
    days = (moment - origin).total_seconds() / 86400
    base, swing, period, trend = {
        "BTC/USD": (60_000, 0.07, 9.0, 0.0025),
        "ETH/USD": (3_000, 0.09, 6.5, -0.001),
        "SPY": (590, 0.025, 11.0, 0.0008),
    }[symbol]
    wiggle = 0.006 * math.sin(days * 7.3)
    value = base * (1 + swing * math.sin(days / period * 2 * math.pi) + trend * days + wiggle)
    return Decimal(str(round(value, 2)))


def quote_of(symbol: str, price: Decimal, at: datetime) -> Quote:
    return Quote(
        symbol=symbol,
        ts=at,
        bid=price,
        ask=price,
        bid_size=Decimal(100),
        ask_size=Decimal(100),
        last=price,
        volume=Decimal(0),
        prev_close=None,
    )


def seed_history(account, now: datetime):
    """Snapshots every 6 hours for 45 days and every 15 minutes over the last day, with trades of BTC
    and SPY by hand and of ETH by a strategy deployment; returns the deployment."""
    from orders import services as order_services
    from orders.tests.factories import request
    from portfolio.services import take_equity_snapshot
    from strategies.services import deploy

    origin = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=HISTORY_DAYS)
    type(account).objects.filter(pk=account.pk).update(created_at=origin)
    steps = [origin + timedelta(hours=6 * k) for k in range(HISTORY_DAYS * 4)]
    steps += [
        steps[-1] + timedelta(minutes=15 * k)
        for k in range(1, 96)
        if steps[-1] + timedelta(minutes=15 * k) < now
    ]
    with clock.frozen_clock(origin):
        momentum = deploy(
            owner=account.owner,
            account=account,
            symbols=["ETH/USD"],
            timeframe="1h",
            strategy="moving_average_crossover",
            name="ETH momentum",
        )
    trades = {  # step index -> (symbol, side, quantity, by the strategy)
        2: ("BTC/USD", "buy", "0.5", False),
        21: ("ETH/USD", "buy", "5", True),
        40: ("BTC/USD", "sell", "0.2", False),
        61: ("ETH/USD", "sell", "5", True),
        80: ("ETH/USD", "buy", "4", True),
        131: ("BTC/USD", "sell", "0.3", False),
        150: ("BTC/USD", "buy", "0.4", False),
        170: ("ETH/USD", "sell", "2", True),
    }
    spy_bought = False
    for index, moment in enumerate(steps):
        with clock.frozen_clock(moment):
            store_quotes([quote_of(symbol, price_at(symbol, moment, origin), moment) for symbol in SYMBOLS])
            trade = trades.get(index)
            if trade is not None:
                symbol, side, quantity, strategy = trade
                order_services.place_order(
                    account=account,
                    request=request(
                        symbol, side, quantity=quantity, deployment_id=momentum.pk if strategy else None
                    ),
                )
            in_session = moment.weekday() < 5 and moment.hour == 18  # NYSE is open at 18:00 UTC
            if not spy_bought and index > 60 and in_session:
                placed = order_services.place_order(
                    account=account, request=request("SPY", "buy", quantity="20")
                )
                spy_bought = placed.order.status == "filled"  # a holiday: the next session day
            take_equity_snapshot(account=account, reason="schedule")
    store_quotes([quote_of(symbol, price_at(symbol, now, origin), timezone.now()) for symbol in SYMBOLS])
    return momentum, origin


class DashboardBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shots = os.environ.get("TRADEAPP_SCREENSHOT_DIR")
        # no Celery worker here: keep the after-fill snapshot requests off the broker
        self.no_requests = mock.patch("portfolio.snapshot_requests.request_snapshot", return_value=False)
        self.no_requests.start()

    def tearDown(self) -> None:
        self.no_requests.stop()
        redis_client().delete(*(QUOTE_KEY.format(symbol=symbol) for symbol in SYMBOLS))

    def screenshot(self, page, name: str, **options) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(self.shots) / name), **options)

    @staticmethod
    def query(read):
        """Run ``read`` (ORM work) off this thread: Playwright's sync API runs an event loop here."""

        def run():
            try:
                return read()
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    @staticmethod
    def clip(page, first: str, last: str) -> dict[str, float]:
        """The page region from the top of ``first`` to the bottom of ``last`` (CSS selectors)."""
        box = page.evaluate(
            """([first, last]) => {
                const a = document.querySelector(first).getBoundingClientRect();
                const b = document.querySelector(last).getBoundingClientRect();
                const left = Math.min(a.left, b.left);
                return {x: left + window.scrollX, y: a.top + window.scrollY,
                        width: Math.max(a.right, b.right) - left, height: b.bottom - a.top};
            }""",
            [first, last],
        )
        return {
            "x": box["x"] - 8,
            "y": box["y"] - 8,
            "width": box["width"] + 16,
            "height": box["height"] + 16,
        }

    def test_the_dashboards_curve_ranges_analytics_and_live_refresh(self) -> None:
        from playwright.sync_api import expect, sync_playwright

        from accounts.services import register_user
        from orders.tests.factories import place
        from portfolio import selectors

        provider = SimulatorProvider()
        sync_instruments([spec for spec in provider.instruments() if spec.symbol in SYMBOLS])
        user = register_user(username="analyst", email="analyst@example.com", password=PASSWORD)
        account = user.trading_accounts.get()
        now = timezone.now()
        momentum, origin = seed_history(account, now)
        account.refresh_from_db()
        realized = selectors.account_analytics(account).realized_pnl

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                page = self.open_page(browser)
                self.log_in(page, "analyst", PASSWORD)
                expect(page).to_have_url(self.url("/"))
                chart = page.locator("#equity-chart")

                # --- the month's curve, drawn by lightweight-charts ------------------------------
                expect(chart).to_have_class(re.compile(r"\bhas-chart\b"))
                expect(chart).to_have_attribute("data-range", "1M")
                expect(page.locator("#equity-chart canvas").first).to_be_visible()
                expect(page.locator("#equity-ranges [aria-current=page]")).to_have_text("1M")
                assert int(chart.get_attribute("data-points")) > 100
                expect(page.get_by_role("link", name="Charts by TradingView")).to_be_visible()
                expect(page.get_by_test_id("realized-total")).to_contain_text(f"{realized:+,.2f}")
                strategy_row = page.locator(
                    f'[data-testid=realized-by-strategy] tr[data-key="{momentum.pk}"]'
                )
                expect(strategy_row).to_contain_text("ETH momentum")
                expect(page.locator('[data-testid=allocation-class] tr[data-key="etf"]')).to_contain_text(
                    "ETFs"
                )
                expect(page.get_by_test_id("metrics")).to_contain_text("Sharpe")
                page.wait_for_timeout(300)  # the chart's first paint
                self.screenshot(page, "dashboard.png", full_page=True)
                self.screenshot(
                    page,
                    "dashboard-analytics.png",
                    full_page=True,
                    clip=self.clip(page, "#day-pnl", "#realized"),
                )

                # --- ranges through the API; the address keeps the range ------------------------
                for name, label in (("1W", "past week"), ("1D", "past 24 hours"), ("ALL", "since opening")):
                    page.locator(f'#equity-ranges [data-range="{name}"]').click()
                    expect(chart).to_have_attribute("data-range", name)
                    expect(page).to_have_url(re.compile(rf"\?range={name}$"))
                    expect(page.locator("#equity-change [data-field=range-description]")).to_have_text(label)
                    expect(page.locator("#equity-ranges [aria-current=page]")).to_have_attribute(
                        "data-range", name
                    )
                day_points = int(page.evaluate("document.querySelector('#equity-chart').dataset.points"))
                assert day_points > 40, day_points  # ALL: 45 days of 6-hourly snapshots, thinned to buckets
                expect(page.locator("#equity-status")).to_have_text("")

                # --- a quote tick moves the last point; a fill refreshes the analytics ----------
                page.locator('#equity-ranges [data-range="1D"]').click()
                expect(chart).to_have_attribute("data-range", "1D")
                moved = dataclasses.replace(
                    quote_of("BTC/USD", price_at("BTC/USD", now, origin) + 500, timezone.now()),
                )
                store_quotes([moved])
                with ThreadPoolExecutor(max_workers=1) as pool:
                    pool.submit(publish, quote_stream("BTC/USD"), "quote", quote_payload(moved)).result()
                equity = self.query(lambda: selectors.account_valuation(account).equity)
                page.wait_for_function(  # the summary's live equity, to the cent (browser float maths)
                    "equity => Math.abs(Number(document.querySelector('#equity-chart').dataset.last)"
                    " - equity) <= 0.011",
                    arg=float(equity),
                )

                self.query(lambda: place(account, "BTC/USD", side="sell", quantity="0.1"))
                after = self.query(lambda: selectors.account_analytics(account).realized_pnl)
                assert after != realized
                expect(page.get_by_test_id("realized-total")).to_contain_text(f"{after:+,.2f}")
                expect(page.get_by_test_id("day-realized")).not_to_have_text("0.00")
                expect(page.locator("#toasts .toast-fill").last).to_contain_text("Sold 0.1 BTC/USD")

                # --- without JavaScript: the server's line and plain links ----------------------
                plain = browser.new_context(
                    java_script_enabled=False, storage_state=page.context.storage_state()
                )
                nojs = plain.new_page()
                self.watch(nojs)
                nojs.goto(self.url("/"))
                expect(nojs.locator(".equity-spark polyline")).to_be_visible()
                nojs.get_by_role("link", name="3M", exact=True).click()
                expect(nojs).to_have_url(re.compile(r"\?range=3M#equity$"))
                expect(nojs.locator("#equity-ranges [aria-current=page]")).to_have_text("3M")
                expect(nojs.locator("#equity-change [data-field=range-description]")).to_have_text(
                    "past 90 days"
                )
                plain.close()

                # --- the phone, in the dark theme -----------------------------------------------
                phone_context = browser.new_context(
                    viewport=PHONE,
                    is_mobile=True,
                    has_touch=True,
                    color_scheme="dark",
                    storage_state=page.context.storage_state(),
                )
                phone = phone_context.new_page()
                self.watch(phone)
                phone.goto(self.url("/?range=1W"))
                expect(phone.locator("#conn-state")).to_have_text("live")
                expect(phone.locator("html")).to_have_attribute("data-theme", "dark")
                expect(phone.locator("#equity-chart")).to_have_class(re.compile(r"\bhas-chart\b"))
                self.assert_no_horizontal_overflow(phone)
                surface = phone.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
                assert surface == "rgb(21, 27, 35)", surface  # app.css's dark --surface
                phone.wait_for_timeout(300)
                self.screenshot(phone, "dashboard-phone-dark.png", full_page=True)
            finally:
                browser.close()

        assert self.problems == []
