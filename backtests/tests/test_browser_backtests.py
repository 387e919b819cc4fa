"""Backtests in a real browser (headless Chromium via Playwright, daphne serving the ASGI app, a Celery
worker thread running the runs): the form (the strategy switch re-renders its parameters, the
instrument search adds a symbol, a refusal lands next to its field), a run queued and then followed
live to completed, its charts and metrics, a grid search's heatmap with other axes, two runs compared
from the list; the phone layout in the dark theme; not one console error on the way.

Set TRADEAPP_SCREENSHOT_DIR to keep the screenshots (docs/screenshots/ holds the committed ones)."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from backtests.models import Backtest
from backtests.tests import factories
from tradeapp.testing.browser import PHONE, BrowserTestCase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a-long-passphrase-9"
RUN_WAIT_MS = 30_000


def off_thread(call: Any) -> Any:
    """Run ``call`` in another thread: Playwright's sync API runs an event loop in this one, where
    Django refuses database work (and where the worker must not be started)."""

    def run() -> Any:
        try:
            return call()
        finally:
            connections.close_all()  # the thread's own connection: never left open at teardown

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


class Worker:
    """A Celery worker thread started when the test says so (after the page shows the run queued),
    consuming from the test's broker; stopped in tearDown."""

    def __init__(self) -> None:
        self.context: Any = None

    def start(self) -> None:
        from celery.contrib.testing.worker import start_worker

        from tradeapp.celery import app

        app.conf.task_always_eager = False
        self.context = start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30)
        off_thread(self.context.__enter__)

    def stop(self) -> None:
        if self.context is None:
            return
        from tradeapp.testing.celery import reset_connection_pools

        off_thread(lambda: self.context.__exit__(None, None, None))
        self.context = None
        reset_connection_pools()


class BacktestBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.shots = os.environ.get("TRADEAPP_SCREENSHOT_DIR")
        self.worker = Worker()

    def tearDown(self) -> None:
        self.worker.stop()
        super().tearDown()

    def screenshot(self, target: Any, name: str, **options: Any) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            target.screenshot(path=str(Path(self.shots) / name), **options)

    def provoked(self, page: Any, status: int) -> None:
        """Chromium logs a 4xx answer as a console error: take the one provoked on purpose off the list."""
        prefix = (
            f"console error on {page.url}: Failed to load resource: "
            f"the server responded with a status of {status}"
        )
        found = [problem for problem in self.problems if problem.startswith(prefix)]
        assert found, f"no {status} answer was logged: {self.problems}"
        self.problems.remove(found[0])

    def test_run_follow_and_compare_backtests(self) -> None:
        from playwright.sync_api import expect, sync_playwright

        from accounts.services import register_user

        def seed() -> None:
            factories.market("WAVE", 300)
            register_user(username="quant", email="quant@example.com", password=PASSWORD)

        off_thread(seed)

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                page = self.open_page(browser)
                self.log_in(page, "quant", PASSWORD)

                # --- the form ---------------------------------------------------------------------
                page.goto(self.url("/backtests/new/"))
                expect(page.locator("#conn-state")).to_have_text("live")
                strategy = page.get_by_label("Strategy", exact=True)
                expect(page.get_by_label("Fast", exact=True)).to_have_value("10")
                # another strategy: htmx swaps in its description, parameters and values to try
                strategy.select_option("donchian_breakout")
                expect(page.get_by_label("Entry window", exact=True)).to_have_value("20")
                expect(page.get_by_test_id("strategy-summary")).to_contain_text("Trade new highs")
                expect(page.locator('input[name="space_atr_multiple"]')).to_have_count(1)
                expect(page.get_by_label("Fast", exact=True)).to_have_count(0)
                strategy.select_option("moving_average_crossover")
                expect(page.get_by_label("Fast", exact=True)).to_have_value("10")

                # the instrument search adds to the symbols
                search = page.get_by_label("Add a symbol")
                search.fill("WAV")
                page.get_by_role("option", name=re.compile("WAVE")).click()
                expect(page.get_by_label("Symbols", exact=True)).to_have_value("WAVE")

                page.get_by_label("First day").fill("2024-01-31")
                page.get_by_label("Last day").fill("2024-10-26")
                page.get_by_label("Starting cash").fill("10000")
                # the cost fields and kind settings follow the chosen model and kind
                expect(page.get_by_label("Commission rate")).to_be_hidden()
                page.get_by_label("Commission", exact=True).select_option("bps")
                expect(page.get_by_label("Commission rate")).to_be_visible()
                page.get_by_label("Commission rate").fill("5")
                expect(page.get_by_label("Optimise for")).to_be_hidden()
                page.locator(".bt-kinds label", has_text="Grid search").click()
                expect(page.get_by_label("Optimise for")).to_be_visible()
                expect(page.locator('input[name="space_fast"]')).to_be_visible()
                page.locator(".bt-kinds label", has_text="Single run").click()
                expect(page.get_by_label("Optimise for")).to_be_hidden()
                page.get_by_label("Name", exact=True).fill("SMA 10/20 on WAVE")
                page.get_by_label("Fast", exact=True).fill("500")

                # the strategy refuses: the reason sits next to the field, the input is kept
                page.get_by_role("button", name="Run backtest").click()
                expect(page.locator("#id_param_fast_error")).to_have_text(
                    "fast must be at most 200, not 500."
                )
                self.provoked(page, 400)
                expect(page.get_by_label("Name", exact=True)).to_have_value("SMA 10/20 on WAVE")
                expect(page.get_by_label("Commission rate")).to_have_value("5")
                self.screenshot(page, "backtest-form.png", full_page=True)
                page.get_by_label("Fast", exact=True).fill("10")
                page.get_by_role("button", name="Run backtest").click()

                # --- the run: queued until a worker starts, then followed live ------------------
                expect(page.locator(".msg-success")).to_contain_text("Backtest queued: SMA 10/20 on WAVE.")
                status = page.locator('.bt-detail-head [data-field="status"]')
                expect(status).to_have_text("Queued")
                expect(page.locator("#conn-state")).to_have_text("live")
                self.worker.start()
                expect(status).to_have_text("Completed", timeout=RUN_WAIT_MS)
                expect(page.locator('.bt-detail-head [data-field="progress-box"]')).to_be_hidden()
                row = off_thread(lambda: Backtest.objects.get(name="SMA 10/20 on WAVE"))
                assert (row.status, row.commission_rate, row.parameters["fast"]) == ("completed", 5, 10)
                metrics = row.results["metrics"]
                expect(page.locator('[data-metric="trades"] dd')).to_have_text(str(metrics["trades"]))
                expect(page.locator("#equity-chart canvas").first).to_be_visible()
                expect(page.locator("#price-chart")).to_have_attribute(
                    "data-markers", re.compile(r"^[1-9]\d*$")
                )
                expect(page.locator("#price-chart")).to_have_attribute("data-bars", "270")
                expect(page.locator("#trades tbody tr").first).to_contain_text("Trade 1")
                page.wait_for_timeout(300)  # the charts' first paint
                self.screenshot(page, "backtest-results.png", full_page=True)

                # --- a grid search: its heatmap, other axes through htmx ----------------------------
                def analyses() -> list[Backtest]:
                    owner = Backtest.objects.get(pk=row.pk).owner
                    space = {"fast": [5, 10, 15, 20], "slow": [25, 30, 40], "average": ["sma", "ema"]}
                    windows = {"fast": [5, 10], "slow": [20, 30]}
                    walk = {"space": windows, "in_sample": 90, "out_of_sample": 45}
                    luck = {"simulations": 500}
                    return [
                        factories.create(
                            owner,
                            name="Grid: windows and averages",
                            kind="grid",
                            kind_settings={"space": space, "objective": "sharpe"},
                        ),
                        factories.create(owner, name="Walk forward", kind="walk_forward", kind_settings=walk),
                        factories.create(owner, name="Luck", kind="monte_carlo", kind_settings=luck),
                    ]

                search_run, walk_run, luck_run = off_thread(analyses)  # the worker thread runs them
                page.goto(self.url(f"/backtests/{search_run.pk}/"))
                expect(page.locator('.bt-detail-head [data-field="status"]')).to_have_text(
                    "Completed", timeout=RUN_WAIT_MS
                )
                heatmap = page.locator("#heatmap")
                expect(heatmap.locator("td[data-best]")).to_have_count(1)
                expect(heatmap.locator(".bt-heatmap thead th")).to_have_count(5)  # corner + 4 fast values
                heatmap.get_by_label("Across").select_option("average")
                expect(heatmap.locator(".bt-heatmap thead th")).to_have_count(3)  # corner + sma, ema
                heatmap.get_by_label("Across").select_option("fast")
                expect(heatmap.locator(".bt-heatmap thead th")).to_have_count(5)
                expect(heatmap).to_contain_text("the best over average")
                self.screenshot(heatmap, "backtest-heatmap.png")

                # --- two runs compared from the list ---------------------------------------------
                page.goto(self.url("/backtests/"))
                expect(page.locator("tr[data-backtest-id]")).to_have_count(4)
                expect(page.locator('tr[data-status="completed"]')).to_have_count(4, timeout=RUN_WAIT_MS)
                compare = page.get_by_role("button", name="Compare selected")
                expect(compare).to_be_disabled()
                page.get_by_label("Compare SMA 10/20 on WAVE").check()
                page.get_by_label("Compare Grid: windows and averages").check()
                expect(compare).to_be_enabled()
                compare.click()
                expect(page).to_have_url(re.compile(r"/backtests/compare/\?a=.+&b=.+"))
                expect(page.locator("#compare-chart")).to_have_attribute("data-series", "2")
                expect(page.locator("#compare-settings tr.is-different", has_text="Kind")).to_have_count(1)
                page.wait_for_timeout(300)
                self.screenshot(page, "backtest-compare.png", full_page=True)

                # --- the phone, in the dark theme: nothing wider than the screen ------------------
                phone_context = browser.new_context(
                    viewport=PHONE,
                    is_mobile=True,
                    has_touch=True,
                    color_scheme="dark",
                    storage_state=page.context.storage_state(),
                )
                phone = phone_context.new_page()
                self.watch(phone)
                for path in [
                    "/backtests/",
                    "/backtests/new/",
                    f"/backtests/{search_run.pk}/",
                    f"/backtests/{walk_run.pk}/",
                    f"/backtests/{luck_run.pk}/",
                    page.url.replace(self.live_server_url, ""),
                    f"/backtests/{row.pk}/",
                ]:
                    phone.goto(self.url(path))
                    expect(phone.locator("#conn-state")).to_have_text("live")
                    expect(phone.locator("html")).to_have_attribute("data-theme", "dark")
                    self.assert_no_horizontal_overflow(phone)
                expect(phone.locator("#equity-chart canvas").first).to_be_visible()
                # the charts follow the theme (there and back)
                phone.locator("#theme-toggle").click()
                expect(phone.locator("html")).to_have_attribute("data-theme", "light")
                phone.locator("#theme-toggle").click()
                expect(phone.locator("html")).to_have_attribute("data-theme", "dark")
                phone.wait_for_timeout(300)
                self.screenshot(phone, "backtest-results-phone-dark.png", full_page=True)
            finally:
                browser.close()

        assert self.problems == []
