"""Market pages: watchlists, one symbol, the screener; login required, owners only, unknown symbol 404."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from marketdata.domain import Quote
from marketdata.models import Watchlist
from marketdata.services import create_watchlist
from marketdata.tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def instruments(db):
    return {
        "AAPL": InstrumentFactory(symbol="AAPL", name="Apple Inc."),
        "MSFT": InstrumentFactory(symbol="MSFT", name="Microsoft Corp."),
        "BTC/USD": InstrumentFactory(
            symbol="BTC/USD", name="Bitcoin", asset_class="crypto", venue="CRYPTO", tick_size=Decimal("0.01")
        ),
    }


@pytest.mark.parametrize("path", ["/markets/", "/markets/AAPL/", "/markets/screener/"])
def test_pages_need_login(client, instruments, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_first_visit_creates_the_default_watchlist_once(client, user, instruments):
    client.force_login(user)

    first = client.get("/markets/")
    second = client.get("/markets/")

    assert first.status_code == second.status_code == 200
    watchlist = Watchlist.objects.get(owner=user)
    assert watchlist.name == "My watchlist"
    assert [item.instrument.symbol for item in watchlist.items.order_by("position")] == [
        "AAPL",
        "MSFT",
        "BTC/USD",
    ]
    html = second.content.decode()
    assert 'href="/markets/BTC-USD/"' in html
    assert 'data-stream="quotes.BTC-USD"' in html
    assert 'href="/markets/"' in html  # the Markets nav link


def test_watchlist_page_shows_latest_quotes(client, user, instruments, stored_quotes):
    stored_quotes(
        Quote(
            "AAPL",
            datetime(2026, 3, 2, 15, tzinfo=UTC),
            Decimal("230.10"),
            Decimal("230.20"),
            Decimal(100),
            Decimal(100),
            Decimal("230.15"),
            Decimal(5000),
            Decimal("225.00"),
        )
    )
    client.force_login(user)

    html = client.get("/markets/").content.decode()

    assert "230.15" in html
    assert "+5.15" in html
    assert "+2.29%" in html


def test_another_users_watchlist_is_never_shown(client, user, other_user, instruments):
    mine = create_watchlist(owner=user, name="Mine", symbols=["AAPL"])
    theirs = create_watchlist(owner=other_user, name="Secret list", symbols=["MSFT"])
    client.force_login(user)

    response = client.get("/markets/", {"list": theirs.pk})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Secret list" not in html
    assert f'data-watchlist-id="{mine.pk}"' in html
    assert "MSFT" not in html.split('id="watchlist"')[1].split("</table>")[0]


def test_watchlist_tabs_choose_one_of_your_lists(client, user, instruments):
    create_watchlist(owner=user, name="First", symbols=["AAPL"])
    second = create_watchlist(owner=user, name="Second", symbols=["MSFT"])
    client.force_login(user)

    html = client.get("/markets/", {"list": second.pk}).content.decode()

    assert f'data-watchlist-id="{second.pk}"' in html
    assert 'href="?list=' in html
    assert "Microsoft Corp." in html


@pytest.mark.parametrize(
    "path", ["/markets/AAPL/", "/markets/aapl/", "/markets/BTC-USD/", "/markets/BTC/USD/"]
)
def test_symbol_page(client, user, instruments, path):
    client.force_login(user)

    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    instrument = response.context["instrument"]
    assert instrument.symbol in html
    assert instrument.name in html
    assert 'id="price-chart"' in html
    assert 'href="https://www.tradingview.com/"' in html
    assert "Charts by TradingView" in html
    assert "lightweight-charts.standalone.production.js" in html
    assert "Market open" in html or "Market closed" in html
    assert "<script>" not in html  # no inline scripts (CSP)


def test_unknown_symbol_is_a_404_page(client, user, instruments):
    client.force_login(user)

    response = client.get("/markets/NOPE/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_screener_page(client, user, instruments):
    client.force_login(user)

    response = client.get("/markets/screener/", {"max_price": "100"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Top gainers" in html
    assert "Top losers" in html
    assert 'value="100"' in html


def test_global_search_box_is_on_signed_in_pages_only(client, user, instruments):
    assert 'id="global-search"' not in client.get(reverse("accounts:login")).content.decode()
    client.force_login(user)
    assert 'id="global-search"' in client.get("/markets/screener/").content.decode()
