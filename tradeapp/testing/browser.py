"""Base for browser tests: the real ASGI app under daphne (ChannelsLiveServerTestCase) driven by
Playwright in Debian's Chromium. Skips without a browser, unless TRADEAPP_REQUIRE_BROWSER=1 (CI)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.layers import channel_layers
from channels.testing import ChannelsLiveServerTestCase

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
WAIT_MS = 10_000


def require_browser() -> None:
    """Skip when there is no browser, unless TRADEAPP_REQUIRE_BROWSER=1 says it must be there (CI)."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing: install Chromium (apt-get install chromium) to run browser tests"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing: pip install -r requirements-dev.txt"
    if problem is None:
        return
    if os.environ.get("TRADEAPP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"TRADEAPP_REQUIRE_BROWSER=1 but {problem}", pytrace=False)
    pytest.skip(problem)


class BrowserTestCase(ChannelsLiveServerTestCase):
    """Collects console errors and uncaught exceptions of every watched page into ``self.problems``."""

    @classmethod
    def setUpClass(cls) -> None:
        require_browser()  # before daphne starts: nothing to clean up when skipping
        # daphne runs in a forked process. What earlier async tests left in this one must not leak
        # into it: asgiref's single-thread executor believes it still has its worker thread (threads
        # do not survive fork), so every database_sync_to_async call outside a request would wait
        # forever; a channel layer holds Redis connections bound to another event loop.
        SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
        channel_layers.backends.clear()
        # kombu closes the Celery connection pools it finds in a forked child, and a Redis channel a
        # test worker left waiting in BRPOP makes that close wait for ever (the child never serves):
        # empty the pools here, in the parent, first.
        from tradeapp.testing.celery import reset_connection_pools

        reset_connection_pools()
        super().setUpClass()

    def setUp(self) -> None:
        self.problems: list[str] = []

    def watch(self, page: Any) -> None:
        def on_console(message: Any) -> None:
            if message.type == "error":
                self.problems.append(f"console error on {page.url}: {message.text}")

        def on_page_error(error: Any) -> None:
            self.problems.append(f"uncaught exception on {page.url}: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.set_default_timeout(WAIT_MS)

    def url(self, path: str) -> str:
        return self.live_server_url + path

    def open_page(self, browser: Any, *, viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        """A watched page in a new browser context (light theme unless ``color_scheme`` says not)."""
        options.setdefault("color_scheme", "light")
        page = browser.new_context(viewport=viewport, **options).new_page()
        self.watch(page)
        return page

    def log_in(self, page: Any, username: str, password: str) -> None:
        """Log in through the form; returns once the page's websocket is live."""
        from playwright.sync_api import expect

        page.goto(self.url("/accounts/login/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#conn-state")).to_have_text("live")

    def assert_no_horizontal_overflow(self, page: Any) -> None:
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{page.url} is {width}px wide on a {PHONE['width']}px phone"

    @staticmethod
    def launch(playwright: Any) -> Any:
        return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
