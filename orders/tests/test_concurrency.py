"""Real concurrency on the real PostgreSQL: many threads (and two processes) trading one account at
once. Cash never goes below zero, each order fills or is rejected for buying power, the position is
the sum of the fills, the ledger reconciles, and one client_order_id makes one order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.services import create_api_token
from accounts.tests.factories import TradingAccountFactory
from orders.models import Fill, Order
from portfolio.models import Position
from portfolio.services import reconcile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

ASK = Decimal("100.10")


@pytest.fixture
def funded(user, btc, quote):
    """An account whose cash covers about 120 buys of one BTC/USD at the ask."""
    quote("BTC/USD", bid="100.00", ask=str(ASK))
    return TradingAccountFactory(owner=user, name="Tight", starting_cash=ASK * 120 + Decimal("50"))


def client_for(user) -> APIClient:
    _, key = create_api_token(owner=user, name="load")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def assert_consistent(account, attempts: int, outcomes: Counter) -> None:
    account.refresh_from_db()
    fills = Fill.objects.filter(account=account)
    filled_quantity = sum((f.quantity for f in fills), Decimal(0))
    assert account.cash >= 0
    assert outcomes["filled"] + outcomes["insufficient_buying_power"] == attempts, outcomes
    assert outcomes["filled"] == Order.objects.filter(account=account, status="filled").count() == 120
    assert Position.objects.get(account=account).quantity == filled_quantity == 120
    assert account.cash == ASK * 120 + Decimal("50") - filled_quantity * ASK
    assert reconcile(account) == []


def test_twenty_threads_two_hundred_buys(user, funded):
    clients = [client_for(user) for _ in range(20)]
    url = f"/api/v1/accounts/{funded.pk}/orders"
    body = {"symbol": "BTC-USD", "side": "buy", "type": "market", "quantity": "1", "time_in_force": "gtc"}

    def trade(client: APIClient) -> list[str]:
        results = []
        try:
            for _ in range(10):
                response = client.post(url, body, format="json")
                assert response.status_code in (201, 422), response.content  # never a 500
                data = response.json()
                results.append(data["status"] if response.status_code == 201 else data["code"])
        finally:
            connections.close_all()
        return results

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = Counter(outcome for batch in pool.map(trade, clients) for outcome in batch)

    assert_consistent(funded, 200, outcomes)


def test_two_processes_two_hundred_buys(funded):
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}"
            f"@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": "tradeapp.settings",
    }
    command = [sys.executable, "-m", "orders.tests.buyer", str(funded.pk), "100", "BTC/USD"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes: Counter = Counter()
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-2000:]
        outcomes.update(json.loads(out.strip().splitlines()[-1]))

    assert_consistent(funded, 200, outcomes)


def test_one_client_order_id_fifty_times_at_once_makes_one_order(user, funded):
    clients = [client_for(user) for _ in range(10)]
    url = f"/api/v1/accounts/{funded.pk}/orders"
    body = {
        "symbol": "BTC-USD",
        "side": "buy",
        "type": "market",
        "quantity": "1",
        "time_in_force": "gtc",
        "client_order_id": "only-once",
    }

    def submit(index: int) -> tuple[int, str]:
        try:
            response = clients[index % 10].post(url, body, format="json")
            return response.status_code, response.json()["id"]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=25) as pool:
        results = list(pool.map(submit, range(50)))

    assert sorted({status for status, _ in results}) == [200, 201]
    assert [status for status, _ in results].count(201) == 1
    assert len({order_id for _, order_id in results}) == 1
    assert Order.objects.filter(account=funded).count() == 1
    assert Position.objects.get(account=funded).quantity == 1
