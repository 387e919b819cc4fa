"""The account pages in a real browser: headless Chromium (Playwright) against the real ASGI app under
daphne, so the websocket connects too. One journey: sign up, dashboard, theme, API token, a second
account, the account switcher, a reset behind its confirm step, the phone layout, log out; and not a
single console error or uncaught exception on the way."""

from __future__ import annotations

import re

import pytest

from accounts.models import ApiToken, User
from tradeapp.testing.browser import PHONE, BrowserTestCase

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class BrowserJourneyTests(BrowserTestCase):
    def test_sign_up_and_use_the_account_pages(self) -> None:
        from playwright.sync_api import expect, sync_playwright

        username, password = "browser-tester", "a-long-passphrase-9"

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                page = self.open_page(browser)
                desktop = page.context

                # Sign up through the form; it logs in and lands on the dashboard.
                page.goto(self.url("/accounts/signup/"))
                page.get_by_label("Username").fill(username)
                page.get_by_label("Email").fill("browser-tester@example.com")
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign up").click()
                expect(page).to_have_url(self.url("/"))
                expect(page.locator(".msg-success")).to_contain_text("paper account")
                expect(page.locator(".account-bar .badge-paper")).to_have_text(re.compile("paper", re.I))
                expect(page.get_by_test_id("cash")).to_contain_text("100,000.00")
                expect(page.locator("#conn-state")).to_have_text("live")

                # The theme toggle switches to dark and the choice survives a reload.
                light_background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                page.locator("#theme-toggle").click()
                expect(page.locator("html")).to_have_attribute("data-theme", "dark")
                page.reload()
                expect(page.locator("html")).to_have_attribute("data-theme", "dark")
                assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light_background

                page.goto(self.url("/accounts/settings/"))
                page.get_by_label("Name", exact=True).fill("browser bot")
                page.get_by_role("button", name="Create token").click()
                expect(page.locator(".msg-success")).to_contain_text("browser bot")
                page.locator(".msg-success [data-dismiss]").click()  # messages can be dismissed
                expect(page.locator(".msg-success")).to_have_count(0)

                # The new key is shown once, with a working Copy button.
                key = page.locator("#new-key-value").input_value()
                assert key.startswith("ta_")
                page.get_by_role("button", name="Copy").click()
                expect(page.locator("#copy-status")).not_to_be_empty()
                page.goto(self.url("/accounts/settings/"))
                expect(page.locator("#new-key-value")).to_have_count(0)
                expect(page.locator(".token-table")).to_contain_text("browser bot")
                assert key not in page.content()

                # Open a second paper account: it becomes the current one.
                page.get_by_role("link", name="Accounts").click()
                page.get_by_label("Name", exact=True).fill("Swing")
                page.get_by_label("Starting cash", exact=True).fill("2500")
                page.get_by_role("button", name="Open account").click()
                expect(page.locator(".msg-success")).to_contain_text("Swing")
                expect(page.locator(".account-table tbody tr")).to_have_count(2)
                expect(page.locator(".account-table tr.is-current")).to_contain_text("Swing")
                expect(page.locator(".account-current-name")).to_have_text("Swing")

                # The header switcher submits on change.
                page.get_by_label("Account", exact=True).select_option(label="Paper")
                expect(page.locator(".account-current-name")).to_have_text("Paper")
                expect(page).to_have_url(self.url("/accounts/"))

                # Reset asks first: dismissing the question sends nothing, accepting resets.
                swing_row = page.locator(".account-table tbody tr", has_text="Swing")
                swing_row.locator("input[name=starting_cash]").fill("3000")
                page.evaluate("window.stillHere = true")
                page.once("dialog", lambda dialog: dialog.dismiss())
                swing_row.get_by_role("button", name="Reset").click()
                page.wait_for_timeout(500)
                assert page.evaluate("window.stillHere === true"), "a dismissed reset must not submit"
                page.once("dialog", lambda dialog: dialog.accept())
                swing_row.get_by_role("button", name="Reset").click()
                expect(page.locator(".msg-success")).to_contain_text("3,000.00")
                expect(page.locator("#conn-state")).to_have_text("live")

                # The phone layout: nothing wider than the screen, the menu folds open and shut.
                phone_context = browser.new_context(
                    viewport=PHONE, is_mobile=True, has_touch=True, storage_state=desktop.storage_state()
                )
                phone = phone_context.new_page()
                self.watch(phone)
                for path in ("/", "/accounts/", "/accounts/settings/", "/accounts/password/change/"):
                    phone.goto(self.url(path))
                    expect(phone.locator("#conn-state")).to_have_text("live")
                    self.assert_no_horizontal_overflow(phone)
                menu_link = phone.get_by_role("link", name="Settings")
                expect(menu_link).to_be_hidden()
                phone.locator("#nav-toggle").click()
                expect(menu_link).to_be_visible()

                # Log out through the POST form in the menu.
                phone.get_by_role("button", name="Log out").click()
                expect(phone).to_have_url(re.compile(r"/accounts/login/"))
                self.assert_no_horizontal_overflow(phone)
                expect(phone.locator("#conn-state")).to_have_count(0)
            finally:
                browser.close()

        assert self.problems == []
        user = User.objects.get(username=username)
        assert sorted(user.trading_accounts.values_list("name", flat=True)) == ["Paper", "Swing"]
        assert user.trading_accounts.get(name="Swing").cash == 3000
        assert ApiToken.objects.filter(owner=user, name="browser bot", revoked_at__isnull=True).count() == 1

    def test_websocket_stays_connected_while_the_page_is_open(self) -> None:
        """Idle for longer than the channel layer's 5 s blocking read: the socket must not drop."""
        from playwright.sync_api import expect, sync_playwright

        from accounts.services import register_user

        register_user(username="idle-watcher", email="idle@example.com", password="a-long-passphrase-9")

        with sync_playwright() as playwright:
            browser = self.launch(playwright)
            try:
                # No saved theme: the page follows the system's dark preference.
                page = self.open_page(browser, color_scheme="dark")
                self.log_in(page, "idle-watcher", "a-long-passphrase-9")
                expect(page.locator("html")).to_have_attribute("data-theme", "dark")
                page.evaluate(
                    """window.connectionChanges = [];
                    document.addEventListener("tradeapp:connection",
                        (event) => window.connectionChanges.push(event.detail.state));"""
                )

                page.wait_for_timeout(12_000)

                changes = page.evaluate("window.connectionChanges")
                assert changes == [], f"the websocket dropped while idle: {changes}"
                expect(page.locator("#conn-state")).to_have_text("live")
            finally:
                browser.close()

        assert self.problems == []
