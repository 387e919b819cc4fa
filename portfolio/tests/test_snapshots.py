"""Equity snapshots: one after the fills of an account (after the commit, throttled per account, none on
a rollback), every 5 minutes for accounts holding positions, daily for all, thinned after 35 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from accounts.tests.factories import UserFactory
from orders.tests.factories import place
from portfolio import selectors, services, snapshot_requests, tasks
from portfolio.models import EquitySnapshot, SnapshotReason
from tradeapp.core import clock
from tradeapp.core.errors import DomainError
from tradeapp.core.realtime import redis_client
from tradeapp.schedules import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db

D = Decimal
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[tuple[str, ...], int]]:
    """(args, countdown) of every snapshot task enqueued (nothing reaches the broker)."""
    calls: list[tuple[tuple[str, ...], int]] = []
    monkeypatch.setattr(
        tasks.snapshot_account, "apply_async", lambda args, countdown: calls.append((args, countdown))
    )
    return calls


def pending(account) -> bool:
    return bool(redis_client().exists(snapshot_requests.SNAPSHOT_PENDING_KEY.format(account=account.pk)))


# --- after fills ----------------------------------------------------------------------------------------


def test_a_committed_fill_is_followed_by_a_snapshot_valued_after_it(
    account, btc, quote, eager, django_capture_on_commit_callbacks
):
    quote("BTC/USD", bid="100.00", ask="101.00", last="100.50")

    with django_capture_on_commit_callbacks(execute=True):
        place(account, quantity="2")
        assert not EquitySnapshot.objects.exists()  # nothing before the commit

    snapshot = EquitySnapshot.objects.get(account=account)
    assert snapshot.reason == SnapshotReason.FILL
    assert snapshot.cash == D(100_000) - D("202.00")  # bought 2 at the ask
    assert snapshot.positions_value == D("201.00")  # valued at the last trade
    assert snapshot.equity == D(100_000) - D("1.00")
    assert not pending(account)  # the task freed the slot


def test_fills_within_the_delay_share_one_snapshot_and_the_task_frees_the_slot(
    account, btc, quote, sent, django_capture_on_commit_callbacks
):
    quote("BTC/USD", bid="100.00", ask="101.00")

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            place(account, quantity="1")

    assert sent == [((str(account.pk),), snapshot_requests.SNAPSHOT_DELAY_SECONDS)]
    ttl = redis_client().ttl(snapshot_requests.SNAPSHOT_PENDING_KEY.format(account=account.pk))
    assert 0 < ttl <= snapshot_requests.SNAPSHOT_PENDING_SECONDS

    assert tasks.snapshot_account(str(account.pk)) is True  # the worker runs it
    assert EquitySnapshot.objects.get(account=account).positions_value == D("300.00")
    with django_capture_on_commit_callbacks(execute=True):
        place(account, quantity="1")
    assert len(sent) == 2  # a fill after the snapshot asks for the next one


def test_each_account_has_its_own_slot(account, btc, quote, sent, django_capture_on_commit_callbacks):
    other = UserFactory().trading_accounts.get()
    quote("BTC/USD", bid="100.00", ask="101.00")

    with django_capture_on_commit_callbacks(execute=True):
        place(account, quantity="1")
        place(other, quantity="1")

    assert sorted(args for args, _ in sent) == sorted([(str(account.pk),), (str(other.pk),)])
    redis_client().delete(snapshot_requests.SNAPSHOT_PENDING_KEY.format(account=other.pk))


def test_a_rolled_back_fill_asks_for_nothing(account, btc, quote, sent, django_capture_on_commit_callbacks):
    quote("BTC/USD", bid="100.00", ask="101.00")

    with (  # noqa: PT012 - the fill, then the failure that rolls it back
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        place(account, quantity="1")
        raise RuntimeError("the caller's transaction fails after the fill")

    assert sent == []
    assert not pending(account)
    assert not EquitySnapshot.objects.exists()


def test_a_refused_order_asks_for_nothing(account, btc, quote, sent, django_capture_on_commit_callbacks):
    quote("BTC/USD", bid="100.00", ask="101.00")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        place(account, quantity="5000")  # 505,000 > the 100,000 of cash

    assert sent == []


def test_a_broker_failure_never_fails_the_committed_order_and_frees_the_slot(
    account, btc, quote, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(args, countdown):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.snapshot_account, "apply_async", broker_down)
    quote("BTC/USD", bid="100.00", ask="101.00")

    with django_capture_on_commit_callbacks(execute=True):
        order = place(account, quantity="1")

    assert order.status == "filled"
    assert not pending(account)  # the next fill tries again


def test_the_task_for_a_deleted_account_does_nothing(user):
    missing = "00000000-0000-0000-0000-000000000001"

    assert tasks.snapshot_account(missing) is False
    assert not EquitySnapshot.objects.exists()


# --- the valuation of a snapshot ------------------------------------------------------------------------


def test_a_snapshot_values_positions_at_the_latest_quotes_and_is_one_per_instant(account, btc, eth, quote):
    quote("BTC/USD", bid="100.00", ask="101.00")
    quote("ETH/USD", bid="10.00", ask="10.10")
    place(account, quantity="2")
    place(account, "ETH/USD", quantity="3")
    quote("BTC/USD", bid="110.00", ask="111.00", last="110.50")
    quote("ETH/USD", bid="9.00", ask="9.20", last="9.10")

    with clock.frozen_clock(NOON):
        first = services.take_equity_snapshot(account=account, reason=SnapshotReason.SCHEDULE)
        again = services.take_equity_snapshot(account=account, reason=SnapshotReason.FILL)

    assert first.taken_at == NOON
    assert first.positions_value == D("221.00") + D("27.30")  # marked at the last trades
    assert first.cash == D(100_000) - D("202.00") - D("30.30")
    assert first.equity == first.cash + first.positions_value
    assert again.pk == first.pk  # one snapshot per account and instant
    assert EquitySnapshot.objects.count() == 1


def test_book_values_match_the_account_valuation(account, btc, eth, quote):
    other = UserFactory().trading_accounts.get()
    quote("BTC/USD", bid="100.00", ask="101.00")
    quote("ETH/USD", bid="10.00", ask="10.10")
    place(account, quantity="2")
    place(account, "ETH/USD", quantity="3")
    place(account, "ETH/USD", side="sell", quantity="3")  # flat again: not valued

    values = selectors.book_values([account.pk, other.pk])

    valuation = selectors.account_valuation(account)
    assert values[account.pk].cash == valuation.cash
    assert values[account.pk].positions_value == valuation.positions_value == D("200.00")
    assert values[other.pk].equity == other.starting_cash


# --- on a schedule --------------------------------------------------------------------------------------


def test_the_five_minute_run_snapshots_accounts_with_positions_once_a_minute(account, btc, quote):
    idle = UserFactory().trading_accounts.get()
    quote("BTC/USD", bid="100.00", ask="101.00")
    place(account, quantity="1")

    with clock.frozen_clock(NOON + timedelta(seconds=17)):
        taken = tasks.snapshot_open_accounts()
        again = tasks.snapshot_open_accounts()  # a redelivered task

    assert (taken, again) == (1, 0)
    snapshot = EquitySnapshot.objects.get()
    assert (snapshot.account_id, snapshot.taken_at, snapshot.reason) == (account.pk, NOON, "schedule")
    assert snapshot.positions_value == D("100.00")
    assert not EquitySnapshot.objects.filter(account=idle).exists()


def test_the_daily_run_snapshots_every_account(account, btc, quote):
    idle = UserFactory().trading_accounts.get()
    midnight = datetime(2026, 3, 3, tzinfo=UTC)

    with clock.frozen_clock(midnight):
        assert tasks.snapshot_equity() == 2
        assert tasks.snapshot_equity() == 0

    rows = EquitySnapshot.objects.order_by("account_id")
    assert {(row.account_id, row.taken_at, row.reason, row.equity) for row in rows} == {
        (account.pk, midnight, "daily", account.starting_cash),
        (idle.pk, midnight, "daily", idle.starting_cash),
    }


def test_the_beat_table_runs_both_snapshot_tasks():
    every_five = BEAT_SCHEDULE["portfolio.snapshot_open_accounts"]
    daily = BEAT_SCHEDULE["portfolio.snapshot_equity"]

    assert every_five["task"] == "portfolio.snapshot_open_accounts"
    assert every_five["schedule"].minute == set(range(0, 60, 5))
    assert every_five["options"]["expires"] < 5 * 60  # a late run is dropped, not stacked
    assert (daily["schedule"].hour, daily["schedule"].minute) == ({0}, {0})


def test_old_intraday_snapshots_are_thinned_to_the_last_of_each_day(account):
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    old_day = now - timedelta(days=services.INTRADAY_RETENTION_DAYS + 2)
    recent_day = now - timedelta(days=2)
    times = [
        old_day.replace(hour=0, minute=0),
        old_day.replace(hour=9, minute=5),
        old_day.replace(hour=23, minute=55),
        recent_day.replace(hour=9, minute=5),
        recent_day.replace(hour=9, minute=10),
    ]
    for index, moment in enumerate(times):
        EquitySnapshot.objects.create(
            account=account,
            taken_at=moment,
            cash=D(index),
            positions_value=D(0),
            equity=D(index),
            reason="fill",
        )

    deleted = services.thin_snapshots(now=now)

    assert deleted == 2
    kept = list(EquitySnapshot.objects.order_by("taken_at").values_list("taken_at", flat=True))
    assert kept == [times[2], times[3], times[4]]
    assert services.thin_snapshots(now=now) == 0
