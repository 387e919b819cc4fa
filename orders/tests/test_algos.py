"""TWAP and VWAP: the pure schedule and the parent working its children through the paper broker."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders import services
from orders.algos import twap_target, vwap_target
from orders.models import AlgoOrder, Order
from orders.states import Side
from tradeapp.core.clock import frozen_clock
from tradeapp.core.errors import DomainError

START = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
END = START + timedelta(minutes=10)
LOT = Decimal("0.0001")


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(-1, "0"), (0, "0"), (2.5, "0.25"), (5, "0.5"), (9.99, "0.999"), (10, "1"), (11, "1")],
)
def test_twap_is_linear_in_time_and_complete_at_the_end(minutes, expected):
    now = START + timedelta(minutes=minutes)
    assert twap_target(quantity=Decimal(1), start=START, end=END, now=now, lot_size=LOT) == Decimal(expected)


def test_vwap_front_loads_where_the_profile_has_more_volume():
    first_minute = START.hour * 60 + START.minute
    profile = {first_minute + offset: Decimal(10 if offset < 2 else 1) for offset in range(10)}  # 20 of 28

    early = vwap_target(
        quantity=Decimal(28),
        start=START,
        end=END,
        now=START + timedelta(minutes=2),
        lot_size=LOT,
        profile=profile,
    )
    flat = vwap_target(
        quantity=Decimal(28), start=START, end=END, now=START + timedelta(minutes=2), lot_size=LOT, profile={}
    )

    assert early == Decimal(20)
    assert flat == Decimal("5.6")  # no profile: TWAP
    assert (
        vwap_target(quantity=Decimal(28), start=START, end=END, now=END, lot_size=LOT, profile=profile) == 28
    )


@pytest.mark.django_db
def test_a_twap_parent_sends_due_slices_completes_and_can_be_canceled(account, btc, quote):
    def at(minutes: float):
        moment = START + timedelta(minutes=minutes)
        quote("BTC/USD", bid="100.00", ask="100.10", at=moment)
        return moment

    with frozen_clock(at(0)) as clock:
        algo = services.start_algo(
            account=account,
            symbol="BTC/USD",
            side=Side.BUY,
            quantity=Decimal(1),
            algo="twap",
            start_at=START,
            end_at=END,
            interval_seconds=60,
        )
        clock.set(at(2.5))
        assert services.run_algos() == 1
        clock.set(at(2.6))
        assert services.run_algos() == 0  # the next slice waits for the interval
        clock.set(at(10))
        services.run_algos()

    algo.refresh_from_db()
    children = Order.objects.filter(algo=algo).order_by("created_at")
    assert [c.quantity for c in children] == [Decimal("0.25"), Decimal("0.75")]
    assert {c.source for c in children} == {"algo"}
    assert (algo.status, algo.filled_quantity) == ("completed", Decimal(1))

    with frozen_clock(at(0)):
        second = services.start_algo(
            account=account,
            symbol="BTC/USD",
            side=Side.BUY,
            quantity=Decimal(1),
            algo="vwap",
            start_at=START,
            end_at=END,
        )
        canceled = services.cancel_algo(account=account, algo_id=second.pk)
        assert canceled.status == AlgoOrder.Status.CANCELED
        with pytest.raises(DomainError) as raised:
            services.cancel_algo(account=account, algo_id=second.pk)
    assert raised.value.code == "algo_not_working"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"end_at": START - timedelta(minutes=1)}, "invalid_range", "end_at"),
        ({"end_at": START + timedelta(days=2)}, "range_too_large", "end_at"),
        ({"interval_seconds": 1}, "invalid_interval", "interval_seconds"),
        ({"quantity": Decimal("0.00001")}, "off_lot_size", "quantity"),
        ({"quantity": Decimal(5000)}, "insufficient_buying_power", "quantity"),
    ],
)
def test_bad_algo_requests_are_refused(account, btc, quote, change, code, field):
    arguments = {
        "account": account,
        "symbol": "BTC/USD",
        "side": Side.BUY,
        "quantity": Decimal(1),
        "algo": "twap",
        "start_at": START,
        "end_at": END,
        "interval_seconds": 60,
        **change,
    }
    with frozen_clock(START):
        quote("BTC/USD", bid="100.00", ask="100.10", at=START)
        with pytest.raises(DomainError) as raised:
            services.start_algo(**arguments)
    assert (raised.value.code, raised.value.field) == (code, field)
    assert not AlgoOrder.objects.exists()


def test_the_api_starts_and_reports_an_algo(token_client, btc, quote):
    quote("BTC/USD", bid="100.00", ask="100.10")
    from tradeapp.core import clock

    response = token_client.post(
        "/api/v1/accounts/default/algos",
        {
            "symbol": "BTC-USD",
            "side": "buy",
            "quantity": "0.5",
            "algo": "twap",
            "end_at": (clock.now() + timedelta(minutes=30)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["progress_pct"], body["filled_quantity"]) == ("working", "0.0", "0")
    detail = token_client.get(f"/api/v1/accounts/default/algos/{body['id']}").json()
    assert detail["id"] == body["id"]
    assert token_client.delete(f"/api/v1/accounts/default/algos/{body['id']}").json()["status"] == "canceled"
