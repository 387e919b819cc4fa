"""The strategy pages in a real browser (headless Chromium via Playwright, daphne serving the ASGI app):
browse the library, configure a moving-average crossover (the strategy switch swaps the parameter
fields, a parameter out of range is refused next to its field), deploy it on the paper account, pause
and resume it from its page, see a pause made elsewhere arrive over the websocket, stop it from the
dialog; then a crossover deployment that has traded: its P&L, curve, signals and orders, a new signal
appearing live; the phone layout in the dark theme; not one console error on the way.

BTC/USD trades around the clock, so the test does not depend on the weekday.
Set TRADEAPP_SCREENSHOT_DIR to keep the screenshots (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from marketdata.hooks import BarClosed
from marketdata.models import Instrument
from marketdata.providers.simulator import SimulatorProvider
from marketdata.quotes import QUOTE_KEY, store_quotes
from marketdata.services import sync_instruments, upsert_bars
from strategies import services
from strategies.builtins import MovingAverageCrossover
from strategies.models import Signal, StrategyDeployment
from strategies.sdk import Context
from strategies.tests.conftest import START, hour_bar, quote_of
from tradeapp.core.clock import frozen_clock
from tradeapp.core.realtime import redis_client
from tradeapp.testing.browser import PHONE, BrowserTestCase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SYMBOL = "BTC/USD"
PASSWORD = "a-long-passphrase-9"
SIGNALLING = "strategies.tests.test_browser_strategies:SignallingCrossover"
BARS_BEFORE = 45  # bars ticked before the deployment's page opens
BARS_LIVE = 30  # at most this many more, one at a time, until one emits a signal


class SignallingCrossover(MovingAverageCrossover):
    """The moving-average crossover, also emitting its view on every cross as a signal.

    Buys on a cross above and exits on a cross below, as the built-in does; each cross is also a
    BUY or SELL signal with a stop-loss and a take-profit 3 % and 6 % away."""

    title = "Crossover with signals"

    def on_bar(self, ctx: Context) -> None:
        super().on_bar(ctx)
        for symbol, crossing in self._crossings:
            direction = crossing()
            if not direction:
                continue
            close = ctx.close_price(symbol)
            away = 1 if direction > 0 else -1
            ctx.signal(
                "buy" if direction > 0 else "sell",
                0.8 if direction > 0 else 0.65,
                stop_loss=close * (1 - 0.03 * away),
                take_profit=close * (1 + 0.06 * away),
                symbol=symbol,
                note=f"fast {'above' if direction > 0 else 'below'} slow",
            )


def price(index: int) -> str:
    """A wavy hourly BTC/USD close: two cycles and a slow drift, whole dollars."""
    value = 64_000 + 1_800 * math.sin(index / 6) + 600 * math.sin(index / 2.2) + 30 * index
    return f"{round(value)}.00"


def seed_bitcoin() -> Instrument:
    provider = SimulatorProvider()
    sync_instruments([spec for spec in provider.instruments() if spec.symbol == SYMBOL])
    return Instrument.objects.get(symbol=SYMBOL)


def close_bar(instrument: Instrument, deployment: StrategyDeployment, index: int, clock: Any) -> None:
    """Store the ``index``-th hourly bar, quote its close, tick the deployment on it."""
    clock.set(START + timedelta(hours=index + 1))
    bar = hour_bar(SYMBOL, index, price(index))
    upsert_bars(instrument=instrument, bars=[bar])
    store_quotes([quote_of(SYMBOL, Decimal(price(index)), bar.close_time)])
    services.tick_deployment(deployment_id=deployment.pk, bar_key=BarClosed(instrument.pk, bar).key)


class StrategyBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shots = os.environ.get("TRADEAPP_SCREENSHOT_DIR")

    def tearDown(self) -> None:
        redis_client().delete(QUOTE_KEY.format(symbol=SYMBOL))

    def screenshot(self, page: Any, name: str, **options: Any) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(self.shots) / name), **options)

    @staticmethod
    def off_thread(work: Callable[[], Any]) -> Any:
        """Run ``work`` (ORM, services, publishing) off this thread: Playwright's sync API runs an event
        loop here, where Django refuses synchronous database access."""

        def run() -> Any:
            try:
                return work()
            finally:
                connections.close_all()  # the thread's own connection: never left open at teardown

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    def provoked(self, page: Any, status: int) -> None:
        """Chromium logs a 4xx answer as a console error: take off the list the one the test provoked
        on purpose (a refused form), so any other error still fails it."""
        for _ in range(20):
            found = [
                problem
                for problem in self.problems
                if f"the server responded with a status of {status}" in problem
            ]
            if found:
                self.problems.remove(found[0])
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"no {status} answer was logged: {self.problems}")

    def test_configure_deploy_and_follow_a_strategy(self) -> None:
        from playwright.sync_api import expect, sync_playwright

        from accounts.services import register_user

        instrument = seed_bitcoin()
        user = register_user(username="quant", email="quant@example.com", password=PASSWORD)
        account = user.trading_accounts.get()
        services.register_definition(key="signalling_crossover", path=SIGNALLING)
        with frozen_clock(START) as clock:
            traded = services.deploy(
                owner=user,
                account=account,
                symbols=[SYMBOL],
                timeframe="1h",
                strategy="signalling_crossover",
                parameters={"fast": 3, "slow": 8, "allocation_percent": 50},
                name="BTC hourly crossover",
            )
            for index in range(BARS_BEFORE):
                close_bar(instrument, traded, index, clock)

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                page = self.open_page(browser)
                desktop = page.context
                self.log_in(page, "quant", PASSWORD)

                # --- the library: every strategy with its parameters ----------------------------
                page.get_by_role("link", name="Strategies", exact=True).click()
                expect(page).to_have_url(self.url("/strategies/"))
                crossover = page.locator('[data-strategy-card="moving_average_crossover"]')
                expect(crossover).to_contain_text("Multi-symbol")
                expect(crossover.locator(".params-table tbody tr")).to_have_count(5)
                expect(crossover.locator(".params-table")).to_contain_text("Fast moving-average window")
                expect(page.locator('[data-strategy-card="signalling_crossover"]')).to_contain_text("Custom")
                crossover.get_by_text("How it trades").click()
                expect(crossover.locator(".strategy-doc-text")).to_contain_text("was at or below")
                expect(page.locator("#configs")).to_contain_text("No configurations yet.")
                self.screenshot(page, "strategy-library.png", full_page=True)

                # --- configure: the strategy switch swaps the parameter fields (htmx) ----------
                crossover.get_by_role("link", name=re.compile("^Configure")).click()
                expect(page.get_by_label("Fast", exact=True)).to_have_value("10")
                page.get_by_label("Strategy").select_option("momentum")
                expect(page.get_by_label("Macd fast")).to_have_value("12")
                expect(page.get_by_label("Fast", exact=True)).to_have_count(0)
                page.get_by_label("Strategy").select_option("moving_average_crossover")
                expect(page.get_by_label("Fast", exact=True)).to_have_value("10")
                page.get_by_label("Name").fill("BTC trend 5/20")
                page.get_by_label("Fast", exact=True).fill("500")
                page.get_by_label("Average").select_option("ema")
                page.get_by_role("button", name="Save configuration").click()
                # the strategy's own check, next to its field, the input kept
                expect(page.locator("#id_param_fast_error")).to_have_text(
                    "fast must be at most 200, not 500."
                )
                expect(page.get_by_label("Fast", exact=True)).to_have_value("500")
                expect(page.get_by_label("Average")).to_have_value("ema")
                self.provoked(page, 400)
                self.screenshot(page, "strategy-config.png", full_page=True)
                page.get_by_label("Fast", exact=True).fill("5")
                page.get_by_role("button", name="Save configuration").click()
                expect(page.locator(".msg-success")).to_contain_text("Saved BTC trend 5/20")
                row = page.locator("#configs tbody tr").first
                expect(row).to_contain_text("fast 5 · slow 20 · average ema")

                # --- deploy it on the paper account -------------------------------------------
                row.get_by_role("link", name=re.compile("^Deploy")).click()
                form = page.locator("form").filter(has=page.get_by_role("button", name="Deploy"))
                expect(form.get_by_label("Account")).to_have_value(str(account.pk))
                form.get_by_label("Symbols").fill("btc-usd")
                page.get_by_role("button", name="Deploy").click()
                expect(page.locator(".msg-success")).to_contain_text("Deployed BTC trend 5/20")
                status = page.get_by_test_id("deployment-status")
                expect(status).to_have_text("running")
                expect(page.locator("#deployment-facts")).to_contain_text(SYMBOL)

                # pause and resume from the page (fetch, toast), the controls follow the status
                head = page.locator(".deployment-head")
                head.get_by_role("button", name=re.compile("^Pause")).click()
                expect(status).to_have_text("paused")
                expect(page.locator("#toasts .toast-success").last).to_contain_text("Paused BTC trend 5/20")
                expect(head.get_by_role("button", name=re.compile("^Pause"))).to_be_hidden()
                head.get_by_role("button", name=re.compile("^Resume")).click()
                expect(status).to_have_text("running")

                # a pause made elsewhere (the API, another tab) arrives over the websocket
                deployment_id = page.locator(".deployment-head").get_attribute("data-deployment-id")
                self.off_thread(lambda: services.pause_deployment(owner=user, deployment_id=deployment_id))
                expect(status).to_have_text("paused")
                expect(page.locator("#deployment-events tbody tr").first).to_contain_text("pause")

                # stop: the dialog asks, and offers to close the positions
                head.get_by_role("link", name=re.compile("^Stop")).click()
                dialog = page.locator("#stop-dialog")
                expect(dialog).to_be_visible()
                expect(dialog).to_contain_text("Stop BTC trend 5/20?")
                dialog.get_by_label("Also close its positions at market").check()
                dialog.get_by_role("button", name="Stop deployment").click()
                expect(dialog).to_be_hidden()
                expect(status).to_have_text("stopped")
                expect(page.locator("#toasts .toast-success").last).to_contain_text("Stopped BTC trend 5/20")
                for control in ("Pause", "Resume", "Stop"):  # a stopped deployment has nothing left to do
                    expect(head.locator("[data-controls]").get_by_text(control)).to_be_hidden()
                stored = self.off_thread(lambda: StrategyDeployment.objects.get(pk=deployment_id).status)
                assert stored == "stopped"

                # --- the deployments list: both, with their status and P&L ----------------------
                page.get_by_role("link", name="All deployments").click()
                rows = page.locator("#deployments tbody tr")
                expect(rows).to_have_count(2)
                expect(
                    page.locator(f'tr[data-deployment-id="{deployment_id}"] [data-field="status"]')
                ).to_have_text("stopped")
                traded_row = page.locator(f'tr[data-deployment-id="{traded.pk}"]')
                expect(traded_row.locator('[data-field="status"]')).to_have_text("running")

                # --- a deployment that has traded: P&L, the curve, signals, orders --------------
                traded_row.get_by_role("link", name="BTC hourly crossover", exact=True).click()
                expect(page.get_by_test_id("deployment-status")).to_have_text("running")
                expect(page.locator("#pnl-chart")).to_have_attribute("data-points", str(BARS_BEFORE))
                expect(page.locator("#pnl-chart canvas").first).to_be_visible()
                signals = page.locator("#deployment-signals tbody tr")
                before = self.off_thread(lambda: Signal.objects.filter(deployment_id=traded.pk).count())
                assert before >= 4, before
                expect(signals).to_have_count(before)
                expect(signals.first.locator(".direction")).to_have_text(re.compile("^(BUY|SELL)$"))
                expect(page.locator("#deployment-orders tbody tr").first).to_contain_text("BTC/USD")
                assert page.get_by_test_id("trades").inner_text() != "0"
                self.screenshot(page, "strategy-deployment.png", full_page=True)

                # a new signal appears live (strategy_signal over the websocket, the table refreshed)
                def tick_until_a_signal() -> int:
                    with frozen_clock(START) as clock:
                        for index in range(BARS_BEFORE, BARS_BEFORE + BARS_LIVE):
                            close_bar(instrument, traded, index, clock)
                            count = Signal.objects.filter(deployment_id=traded.pk).count()
                            if count > before:
                                return count
                    raise AssertionError("no signal in the live bars")

                after = self.off_thread(tick_until_a_signal)
                expect(signals).to_have_count(after)
                expect(signals.first).to_have_class(re.compile(r"\bis-new\b"))

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
                config_id = self.off_thread(lambda: str(user.strategy_configs.get().pk))
                paths = [
                    "/strategies/",
                    f"/strategies/configs/{config_id}/edit/",
                    f"/strategies/configs/{config_id}/deploy/",
                    "/strategies/deployments/",
                    f"/strategies/deployments/{deployment_id}/",
                    f"/strategies/deployments/{traded.pk}/",
                ]
                for path in paths:
                    phone.goto(self.url(path))
                    expect(phone.locator("#conn-state")).to_have_text("live")
                    expect(phone.locator("html")).to_have_attribute("data-theme", "dark")
                    self.assert_no_horizontal_overflow(phone)
                expect(phone.locator("#pnl-chart canvas").first).to_be_visible()
                surface = phone.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
                assert surface == "rgb(21, 27, 35)", surface  # app.css's dark --surface
                self.screenshot(phone, "strategy-deployment-phone-dark.png", full_page=True)
            finally:
                browser.close()

        assert self.problems == []
