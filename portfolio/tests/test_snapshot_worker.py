"""The snapshot after a fill through the real path: the order commits, its on-commit hook enqueues
portfolio.snapshot_account on the broker, a real Celery worker takes the snapshot after the delay."""

import time
from decimal import Decimal

import pytest

from orders.tests.factories import place
from portfolio.models import EquitySnapshot
from tradeapp.testing.wait import holds_for, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_a_committed_fill_is_snapshotted_by_a_worker(account, btc, quote, celery_worker_thread):
    quote("BTC/USD", bid="100.00", ask="101.00")
    started = time.monotonic()

    place(account, quantity="2")  # its own transaction: committed on return
    place(account, quantity="1")  # within the delay: the same snapshot

    snapshot = wait_until(lambda: EquitySnapshot.objects.filter(account=account).first())
    assert time.monotonic() - started >= 1.5  # after the throttle's delay, not at once
    assert (snapshot.reason, snapshot.positions_value) == ("fill", Decimal("300.00"))
    assert snapshot.equity == Decimal(100_000) - Decimal("3.00")
    holds_for(lambda: EquitySnapshot.objects.filter(account=account).count() == 1, seconds=0.5)
