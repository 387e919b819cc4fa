"""The account lifecycle reaches the order book through accounts.hooks: a halt cancels the account's
open orders, a reset clears orders, fills and the ledger together and funds the account again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts import services as account_services
from orders.models import Fill, Order
from orders.states import OrderStatus
from orders.tests.factories import place
from portfolio.models import CashEntry, Position
from portfolio.services import reconcile
from tradeapp.core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_halting_an_account_cancels_its_open_orders_and_refuses_new_ones(account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    resting = place(account, order_type="limit", limit_price="90.00", quantity="1")

    account_services.halt_account(account_id=account.pk, reason="Compliance review.")

    resting.refresh_from_db()
    assert resting.status == OrderStatus.CANCELED
    assert resting.reason_code == "account_halted"
    account.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        place(account, quantity="1")
    assert refused.value.code == "account_halted"


def test_a_reset_clears_the_book_and_funds_the_account_once(user, account, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    place(account, quantity="2")
    place(account, order_type="limit", limit_price="90.00", quantity="1")

    account_services.reset_paper_account(owner=user, account_id=account.pk, starting_cash="5000")

    account.refresh_from_db()
    assert not Order.objects.filter(account=account).exists()
    assert not Fill.objects.filter(account=account).exists()
    assert not Position.objects.filter(account=account).exists()
    assert list(CashEntry.objects.filter(account=account).values_list("amount", flat=True)) == [Decimal(5000)]
    assert account.cash == Decimal(5000)
    assert reconcile(account) == []
