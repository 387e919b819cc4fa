"""The snapshot after a fill through the real path: the order commits, its on-commit hook enqueues
portfolio.snapshot_account on the broker, a real Celery worker takes the snapshot after the delay."""

import time
from decimal import Decimal

import pytest

from orders.tests.factories import place
from portfolio.models import EquitySnapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_a_committed_fill_is_snapshotted_by_a_worker(account, btc, quote, celery_worker_thread):
    quote("BTC/USD", bid="100.00", ask="101.00")
    started = time.monotonic()

    place(account, quantity="2")  # its own transaction: committed on return
    place(account, quantity="1")  # within the delay: the same snapshot

    deadline = time.monotonic() + 20
    snapshot = None
    while snapshot is None and time.monotonic() < deadline:
        snapshot = EquitySnapshot.objects.filter(account=account).first()
        time.sleep(0.1)
    assert snapshot is not None
    assert time.monotonic() - started >= 1.5  # after the throttle's delay, not at once
    assert (snapshot.reason, snapshot.positions_value) == ("fill", Decimal("300.00"))
    assert snapshot.equity == Decimal(100_000) - Decimal("3.00")
    time.sleep(0.5)
    assert EquitySnapshot.objects.filter(account=account).count() == 1
