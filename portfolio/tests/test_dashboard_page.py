"""The dashboard through the Django test client: its analytics sections render (curve, today, allocation,
performance, realised P&L), the range links work without JavaScript, a bad range is a message next to
the switch (never a 500), the page only shows the signed-in user's account, and its queries are
bounded whatever the history."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import TradingAccount
from accounts.tests.factories import UserFactory
from orders.tests.factories import place
from portfolio.models import EquitySnapshot
from tradeapp.core import clock

pytestmark = pytest.mark.django_db

D = Decimal
# session, user, accounts; the summary and positions (one valuation); open orders; the curve (2); the
# analytics (fills, equity per period); the quick-trade dialog's own summary; the session's save
QUERY_BUDGET = 24


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def traded(account, btc, eth, quote):
    TradingAccount.objects.filter(pk=account.pk).update(created_at=clock.now() - timedelta(days=20))
    account.refresh_from_db()
    quote("BTC/USD", bid="100.00", ask="100.00")
    quote("ETH/USD", bid="10.00", ask="10.00")
    place(account, quantity="3")
    place(account, "ETH/USD", quantity="5")
    quote("BTC/USD", bid="120.00", ask="120.00")
    place(account, side="sell", quantity="3")
    return account


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]* id="{section_id}"[^>]*>(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_dashboard_needs_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_dashboard_shows_the_analytics_of_the_account(signed_in, traded):
    response = signed_in.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    today = text(section(html, "day-pnl"))
    assert "+60.00 USD" in today  # BTC bought at 100, sold at 120
    assert "Realized today +60.00" in today
    allocation = section(html, "allocation")
    assert 'data-key="ETH/USD"' in allocation
    assert '<rect class="alloc-fill alloc-long" width="0.5"' in allocation  # 50 of 100,060: a sliver
    assert "99.95%" in text(allocation)
    performance = text(section(html, "performance"))
    for label in (
        "Total return",
        "Sharpe ratio",
        "Sortino ratio",
        "Calmar ratio",
        "Max drawdown",
        "Longest drawdown",
        "Win rate",
        "Profit factor",
        "Expectancy",
        "Time in the market",
        "VaR 95%, historical",
        "VaR 95%, Monte Carlo",
    ):
        assert label in performance
    assert "Trades 1 closed round trips" in performance
    assert "Win rate 100.00%" in performance
    realized = text(section(html, "realized"))
    assert "BTC/USD +60.00" in realized
    assert "Manual BTC/USD, ETH/USD +60.00" in realized
    for live in ("day-pnl", "allocation", "performance", "realized"):
        assert re.search(rf'id="{live}" data-live="fill"', html)


def test_the_curve_is_drawn_by_the_server_with_its_data_for_the_script(signed_in, traded):
    response = signed_in.get("/?range=1W")

    html = response.content.decode()
    curve = section(html, "equity")
    assert 'data-range="1W" data-description="past week" aria-current="page"' in curve
    assert '<polyline points="0.0,' in curve
    data = json.loads(
        re.search(r'<script id="equity-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert data["range"] == "1W"
    assert data["end_equity"] == "100060.00"
    assert data["points"][0]["equity"] == "100000.00"
    assert 'data-url="/api/v1/accounts/' in curve
    for name in ("1D", "1W", "1M", "3M", "1Y", "ALL"):
        assert f'href="?range={name}#equity"' in curve  # links: no JavaScript needed
    assert "style=" not in html  # strict CSP: no inline styles
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)  # nor inline scripts


@pytest.mark.parametrize("bad", ["5Y", "<b>"])
def test_a_bad_range_is_a_message_next_to_the_switch(signed_in, account, bad):
    response = signed_in.get("/", {"range": bad})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose a range among 1D, 1W, 1M, 3M, 1Y, ALL." in text(section(html, "equity"))
    assert 'data-range="1M" data-description="past 30 days" aria-current="page"' in html
    assert "<b>" not in section(html, "equity")


def test_the_dashboard_only_shows_the_users_own_account(signed_in, traded):
    stranger = UserFactory().trading_accounts.get()
    EquitySnapshot.objects.create(
        account=stranger,
        taken_at=clock.now() - timedelta(hours=1),
        cash=D("123456.78"),
        positions_value=D(0),
        equity=D("123456.78"),
        reason="fill",
    )

    html = signed_in.get("/?range=1D").content.decode()

    assert "123,456.78" not in html
    assert "123456.78" not in html
    assert str(stranger.pk) not in html


def test_the_dashboards_queries_do_not_grow_with_the_history(
    signed_in, traded, django_assert_max_num_queries
):
    start = clock.now() - timedelta(days=15)
    EquitySnapshot.objects.bulk_create(
        EquitySnapshot(
            account=traded,
            taken_at=start + timedelta(minutes=5 * k),
            cash=D(100_000),
            positions_value=D(k),
            equity=D(100_000 + k),
            reason="schedule",
        )
        for k in range(15 * 288)
    )
    for _ in range(10):
        place(traded, "ETH/USD", quantity="1")

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = signed_in.get("/?range=ALL")

    assert response.status_code == 200
    with django_assert_max_num_queries(QUERY_BUDGET):
        assert signed_in.get("/?range=1D").status_code == 200
