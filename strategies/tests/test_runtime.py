"""The paper runtime: a tick places the strategy's orders through the paper broker (tagged with the
deployment, idempotent client ids), stores signals, notifies fills on the next tick; redelivery never
doubles anything; a strategy that raises pauses only its own deployment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from marketdata.hooks import BarClosed
from marketdata.services import upsert_bars
from marketdata.tasks import BAR_CLOSED_DONE_KEY, bar_closed
from orders.models import Order
from strategies import services
from strategies.models import DeploymentEvent, Signal
from strategies.tests.conftest import START, hour_bar
from tradeapp.core.clock import frozen_clock
from tradeapp.core.realtime import redis_client

pytestmark = pytest.mark.django_db

EVERY_BAR = "strategies.tests.sample_strategies:BuyEveryBar"


@pytest.fixture
def sample_definitions(db):
    services.register_definition(key="buy_every_bar", path=EVERY_BAR)
    services.register_definition(key="exploding", path="strategies.tests.sample_strategies:Exploding")
    services.register_definition(
        key="resting_then_cancel", path="strategies.tests.sample_strategies:RestingThenCancel"
    )


def deploy(account, strategy="buy_every_bar", **kwargs):
    return services.deploy(
        owner=account.owner,
        account=account,
        symbols=kwargs.pop("symbols", ["BTC/USD"]),
        timeframe="1h",
        strategy=strategy,
        **kwargs,
    )


def close_bar(instrument, index, price, set_price, *, next_open=None):
    """Store the ``index``-th hourly bar (flat at ``price``), quote the next open, return its key."""
    bar = hour_bar(instrument.symbol, index, price)
    upsert_bars(instrument=instrument, bars=[bar])
    set_price(instrument.symbol, next_open or price, bar.close_time)
    return BarClosed(instrument.pk, bar).key


def test_a_tick_places_the_strategys_order_through_the_paper_broker(
    account, btc, set_price, sample_definitions
):
    with frozen_clock(START) as clock:
        deployment = deploy(account)
        clock.set(START + timedelta(hours=1))
        key = close_bar(btc, 0, "20000.00", set_price, next_open="20010.00")

        outcome = services.tick_deployment(deployment_id=deployment.pk, bar_key=key)

    assert outcome.status == "ticked"
    order = Order.objects.get(deployment_id=deployment.pk)
    assert (order.source, order.side, order.order_type, order.quantity, order.status) == (
        "strategy",
        "buy",
        "market",
        Decimal("0.01"),
        "filled",
    )
    assert order.average_fill_price == Decimal("20010.00")  # the quote after the bar closed
    assert order.client_order_id == f"d{deployment.pk.hex}-{int(START.timestamp())}-00-001"
    signal = Signal.objects.get(deployment=deployment)
    assert (signal.symbol, signal.bar_time, signal.direction, signal.confidence) == (
        "BTC/USD",
        START,
        "buy",
        0.75,
    )
    assert (signal.stop_loss, signal.take_profit) == (Decimal("18000.00"), Decimal("22000.00"))
    deployment.refresh_from_db()
    assert deployment.last_bar_times == {"BTC/USD": START.isoformat()}
    assert deployment.state["tags"] == {}  # the order is no longer open: its tag is not kept


def test_a_redelivered_tick_is_skipped(account, btc, set_price, sample_definitions):
    with frozen_clock(START) as clock:
        deployment = deploy(account)
        clock.set(START + timedelta(hours=1))
        key = close_bar(btc, 0, "20000.00", set_price)

        first = services.tick_deployment(deployment_id=deployment.pk, bar_key=key)
        again = services.tick_deployment(deployment_id=deployment.pk, bar_key=key)

    assert (first.status, again.status, again.reason) == ("ticked", "skipped", "bar already processed")
    assert Order.objects.filter(deployment_id=deployment.pk).count() == 1


def test_running_a_bar_again_returns_the_orders_it_made_instead_of_new_ones(
    account, btc, set_price, sample_definitions
):
    with frozen_clock(START) as clock:
        deployment = deploy(account)
        clock.set(START + timedelta(hours=1))
        key = close_bar(btc, 0, "20000.00", set_price)
        services.tick_deployment(deployment_id=deployment.pk, bar_key=key)
        deployment.last_bar_times = {}  # as if the processed mark had been lost
        deployment.save(update_fields=["last_bar_times"])

        again = services.tick_deployment(deployment_id=deployment.pk, bar_key=key)

    assert again.status == "ticked"
    assert Order.objects.filter(deployment_id=deployment.pk).count() == 1  # same client_order_id


def test_fills_are_notified_on_the_next_tick_with_the_previous_bar_showing(
    account, btc, set_price, sample_definitions
):
    with frozen_clock(START) as clock:
        deployment = deploy(account)
        for index in range(3):
            clock.set(START + timedelta(hours=index + 1))
            key = close_bar(btc, index, "20000.00", set_price)
            services.tick_deployment(deployment_id=deployment.pk, bar_key=key)

    deployment.refresh_from_db()
    lines = [message for _, message in deployment.state["log"]]
    # the fill of the order decided on bar 0 happened at bar 1's open: heard before on_bar of bar 1
    hour = [(START + timedelta(hours=index)).isoformat() for index in range(3)]
    heard = "fill buy 0.0100000000 @ 20000.0000000000 at {} seen on {}"
    assert lines == [heard.format(hour[1], hour[0]), heard.format(hour[2], hour[1])]


def test_orders_wait_in_the_book_and_a_later_tick_cancels_them(account, btc, set_price, sample_definitions):
    with frozen_clock(START) as clock:
        deployment = deploy(account, "resting_then_cancel")
        clock.set(START + timedelta(hours=1))
        services.tick_deployment(
            deployment_id=deployment.pk, bar_key=close_bar(btc, 0, "20000.00", set_price)
        )
        resting = Order.objects.get(deployment_id=deployment.pk)
        assert (resting.status, resting.limit_price) == ("accepted", Decimal("10000.00"))
        assert services.selectors.deployment_of(account.owner, deployment.pk).state["tags"] == {
            str(resting.pk): "far"
        }
        clock.set(START + timedelta(hours=2))

        services.tick_deployment(
            deployment_id=deployment.pk, bar_key=close_bar(btc, 1, "20000.00", set_price)
        )

    resting.refresh_from_db()
    assert resting.status == "canceled"
    assert Order.objects.filter(deployment_id=deployment.pk).count() == 1


def test_an_order_the_market_refuses_is_recorded_with_its_code(account, btc, set_price, sample_definitions):
    with frozen_clock(START) as clock:
        deployment = deploy(account, parameters={"quantity": "50"})  # 50 BTC: far beyond the cash
        clock.set(START + timedelta(hours=1))

        outcome = services.tick_deployment(
            deployment_id=deployment.pk, bar_key=close_bar(btc, 0, "20000.00", set_price)
        )

    assert (outcome.status, outcome.rejected) == ("ticked", 1)
    assert not Order.objects.filter(deployment_id=deployment.pk).exists()
    event = DeploymentEvent.objects.get(deployment=deployment, kind="rejection")
    assert event.code == "insufficient_buying_power"
    assert event.data["client_order_id"].startswith(f"d{deployment.pk.hex}-")


def test_a_strategy_that_raises_pauses_its_deployment_and_the_others_still_tick(
    account, btc, set_price, sample_definitions, settings, django_capture_on_commit_callbacks
):
    from tradeapp.celery import app

    app.conf.task_always_eager = True
    with frozen_clock(START) as clock:
        broken = deploy(account, "exploding")
        working = deploy(account)
        clock.set(START + timedelta(hours=1))
        bar = hour_bar("BTC/USD", 0, "20000.00")
        upsert_bars(instrument=btc, bars=[bar])
        set_price("BTC/USD", "20000.00", bar.close_time)
        redis_client().delete(BAR_CLOSED_DONE_KEY.format(key=BarClosed(btc.pk, bar).key))
        try:
            with django_capture_on_commit_callbacks(execute=True):
                result = bar_closed(btc.pk, "1h", bar.open_time.isoformat())  # the feed's task, on a worker
        finally:
            app.conf.task_always_eager = False
            redis_client().delete(BAR_CLOSED_DONE_KEY.format(key=BarClosed(btc.pk, bar).key))

    assert result["handlers"] >= 1
    broken.refresh_from_db()
    working.refresh_from_db()
    assert broken.status == "paused"
    assert broken.last_error == (f"Exploding raised RuntimeError: boom on the bar of {START.isoformat()}.")
    error = DeploymentEvent.objects.get(deployment=broken, kind="error")
    assert (error.code, error.bar_time) == ("strategy_error", START)
    assert not Order.objects.filter(deployment_id=broken.pk).exists()
    assert working.status == "running"
    assert Order.objects.filter(deployment_id=working.pk, status="filled").count() == 1


def test_only_running_deployments_on_the_bars_symbol_and_timeframe_are_ticked(
    account, btc, eth, set_price, sample_definitions, monkeypatch, django_capture_on_commit_callbacks
):
    from strategies import tasks

    sent = []
    monkeypatch.setattr(tasks.tick, "delay", lambda *args: sent.append(args))
    with frozen_clock(START):
        on_btc = deploy(account)
        paused = deploy(account)
        services.pause_deployment(owner=account.owner, deployment_id=paused.pk)
        deploy(account, symbols=["ETH/USD"])
        daily = services.deploy(
            owner=account.owner,
            account=account,
            symbols=["BTC/USD"],
            timeframe="1d",
            strategy="buy_every_bar",
        )
    bar = hour_bar("BTC/USD", 0, "20000.00")

    with django_capture_on_commit_callbacks(execute=True):
        count = tasks.enqueue_ticks(BarClosed(btc.pk, bar))

    assert count == 1
    assert sent == [(str(on_btc.pk), BarClosed(btc.pk, bar).key)]
    assert daily.pk != on_btc.pk


def test_a_paused_deployment_does_not_tick_and_resumes_from_the_next_bar(
    account, btc, set_price, sample_definitions
):
    with frozen_clock(START) as clock:
        deployment = deploy(account)
        services.pause_deployment(owner=account.owner, deployment_id=deployment.pk)
        clock.set(START + timedelta(hours=1))
        missed = close_bar(btc, 0, "20000.00", set_price)

        skipped = services.tick_deployment(deployment_id=deployment.pk, bar_key=missed)
        services.resume_deployment(owner=account.owner, deployment_id=deployment.pk)
        late = services.tick_deployment(deployment_id=deployment.pk, bar_key=missed)
        clock.set(START + timedelta(hours=2))
        fresh = services.tick_deployment(
            deployment_id=deployment.pk, bar_key=close_bar(btc, 1, "20000.00", set_price)
        )

    assert (skipped.status, skipped.reason) == ("skipped", "the deployment is paused")
    assert (late.status, late.reason) == ("skipped", "bar already processed")
    assert fresh.status == "ticked"
    assert Order.objects.filter(deployment_id=deployment.pk).count() == 1


def test_a_multi_symbol_deployment_sees_every_symbol_up_to_the_bar(
    account, btc, eth, set_price, sample_definitions
):
    with frozen_clock(START) as clock:
        deployment = deploy(account, symbols=["BTC/USD", "ETH/USD"])
        clock.set(START + timedelta(hours=1))
        close_bar(eth, 0, "3000.00", set_price)
        outcome = services.tick_deployment(
            deployment_id=deployment.pk, bar_key=close_bar(btc, 0, "20000.00", set_price)
        )
        eth_late = services.tick_deployment(
            deployment_id=deployment.pk, bar_key=BarClosed(eth.pk, hour_bar("ETH/USD", 0, "3000.00")).key
        )

    assert outcome.status == "ticked"
    assert eth_late.reason == "bar already processed"  # the BTC tick already saw ETH's bar as new
    deployment.refresh_from_db()
    assert deployment.last_bar_times == {"BTC/USD": START.isoformat(), "ETH/USD": START.isoformat()}
    assert Order.objects.get(deployment_id=deployment.pk).instrument == btc  # buys ctx.symbol only


def test_a_bar_of_another_instrument_or_a_bad_key_is_ignored(account, btc, eth, sample_definitions):
    with frozen_clock(START):
        deployment = deploy(account)

    foreign = services.tick_deployment(
        deployment_id=deployment.pk, bar_key=BarClosed(eth.pk, hour_bar("ETH/USD", 0, "3000.00")).key
    )
    nonsense = services.tick_deployment(deployment_id=deployment.pk, bar_key="garbage")
    key = f"{btc.pk}:1h:{START.isoformat()}"
    missing = services.tick_deployment(deployment_id="not-a-uuid", bar_key=key)
    unstored = services.tick_deployment(deployment_id=deployment.pk, bar_key=key)

    assert [o.status for o in (foreign, nonsense, missing, unstored)] == ["skipped"] * 4
    assert unstored.reason == "no such bar"


def test_a_tick_announces_the_deployment_and_its_signals_to_the_owner_after_commit(
    account, btc, set_price, sample_definitions, monkeypatch, django_capture_on_commit_callbacks
):
    from strategies import streams

    published = []
    monkeypatch.setattr(streams, "publish_many", published.extend)
    with frozen_clock(START) as clock:
        deployment = deploy(account)
        clock.set(START + timedelta(hours=1))
        key = close_bar(btc, 0, "20000.00", set_price)

        with django_capture_on_commit_callbacks(execute=True):
            services.tick_deployment(deployment_id=deployment.pk, bar_key=key)

    assert [(stream, event) for stream, event, _ in published] == [
        (f"user.{account.owner_id}", "strategy_deployment"),
        (f"user.{account.owner_id}", "strategy_signal"),
    ]
    assert published[0][2]["last_bar_times"] == {"BTC/USD": START.isoformat()}
    assert published[1][2]["direction"] == "buy"


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_the_same_bar_at_once_place_its_orders_once(account, btc, set_price):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    services.register_definition(key="buy_every_bar", path=EVERY_BAR)
    with frozen_clock(START):
        deployment = deploy(account)
    bar = hour_bar("BTC/USD", 0, "20000.00")
    upsert_bars(instrument=btc, bars=[bar])
    set_price("BTC/USD", "20000.00", bar.close_time)
    key = BarClosed(btc.pk, bar).key

    def worker(_: int) -> str:
        try:
            with frozen_clock(bar.close_time):
                return services.tick_deployment(deployment_id=deployment.pk, bar_key=key).status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(worker, range(4)))

    assert outcomes == ["skipped", "skipped", "skipped", "ticked"]
    assert Order.objects.filter(deployment_id=deployment.pk).count() == 1
