"""``default`` in an API path or body means one account everywhere: the user's oldest paper account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.models import AccountKind, TradingAccount
from accounts.selectors import default_account
from accounts.tests.factories import TradingAccountFactory
from orders.models import Order
from orders.states import OrderStatus, OrderType, Side
from strategies.tests.conftest import START
from tradeapp.core import clock
from tradeapp.core.clock import frozen_clock
from tradeapp.core.errors import NotFound

pytestmark = pytest.mark.django_db


def resting_order(account: TradingAccount, instrument) -> None:
    now = clock.now()
    Order.objects.create(
        account=account,
        instrument=instrument,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(1),
        limit_price=Decimal("1.00"),
        status=OrderStatus.CANCELED,
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def accounts(user):
    """A live-looking account opened before the paper one, and a second, newer paper account: "the
    first account" and "the newest paper account" would both be wrong answers."""
    paper = user.trading_accounts.get()
    live = TradingAccountFactory(owner=user, name="Live", kind=AccountKind.LIVE)
    newer_paper = TradingAccountFactory(owner=user, name="Second paper")
    TradingAccount.objects.filter(pk=live.pk).update(created_at=paper.created_at - timedelta(days=1))
    TradingAccount.objects.filter(pk=newer_paper.pk).update(created_at=paper.created_at + timedelta(days=1))
    return {"paper": paper, "live": live, "newer_paper": newer_paper}


def test_orders_portfolio_and_strategies_resolve_default_to_the_oldest_paper_account(
    auth_client, user, btc, accounts
):
    for account in accounts.values():
        resting_order(account, btc)
    expected = str(accounts["paper"].pk)

    orders = auth_client.get("/api/v1/accounts/default/orders").json()["results"]
    summary = auth_client.get("/api/v1/accounts/default/summary").json()
    with frozen_clock(START):
        deployment = auth_client.post(
            "/api/v1/strategies/deployments",
            {"strategy": "momentum", "symbols": ["BTC/USD"], "timeframe": "1h", "account_id": "default"},
            format="json",
        )

    assert [order["account_id"] for order in orders] == [expected]
    assert summary["account_id"] == expected
    assert deployment.status_code == 201, deployment.json()
    assert deployment.json()["account_id"] == expected
    assert default_account(user) == accounts["paper"]


def test_default_is_not_found_without_a_paper_account(auth_client, user):
    TradingAccount.objects.filter(owner=user).update(kind=AccountKind.LIVE)

    response = auth_client.get("/api/v1/accounts/default/summary")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    with pytest.raises(NotFound):
        default_account(user)
