"""The ``backtests.run`` task: one end-to-end run through the REST API, the broker and a real Celery
worker (a failing run first: the worker keeps working); idempotent on redelivery; a bug of ours
leaves the run ``failed``, never stuck ``running``."""

from __future__ import annotations

import uuid

import pytest

from backtests import tasks
from backtests.models import Backtest
from backtests.services import running
from backtests.tests import factories
from backtests.tests.strategies import EXPLODING
from tradeapp.testing.wait import wait_until


def wait_for_finish(backtest_id: str, seconds: float = 30) -> Backtest:
    def finished() -> Backtest | None:
        row = Backtest.objects.get(pk=backtest_id)
        return row if row.is_finished else None

    return wait_until(finished, timeout=seconds, message=f"backtest {backtest_id} finished")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_runs_go_through_a_real_worker_which_survives_a_failing_strategy(
    token_client, registered, celery_worker_thread
):
    factories.market()
    body = {
        "symbols": ["WAVE"],
        "timeframe": "1d",
        "start": "2024-01-31T00:00:00Z",
        "end": "2024-10-27T00:00:00Z",
        "starting_cash": "10000",
    }

    exploding = token_client.post(
        "/api/v1/backtests", {**body, "strategy": EXPLODING, "parameters": {"fail_at": 40}}, format="json"
    ).json()
    good = token_client.post(
        "/api/v1/backtests", {**body, "strategy": "moving_average_crossover"}, format="json"
    ).json()
    failed, completed = wait_for_finish(exploding["id"]), wait_for_finish(good["id"])

    assert (failed.status, failed.error_code) == ("failed", "strategy_error")
    assert "Exploding raised RuntimeError: boom on the bar of 2024-02-10" in failed.error_message
    assert (completed.status, completed.progress, completed.attempts) == ("completed", 100, 1)
    detail = token_client.get(f"/api/v1/backtests/{good['id']}").json()
    assert detail["results"]["metrics"]["trades"] == len(completed.trades) > 0


@pytest.mark.django_db
def test_a_finished_run_is_not_run_again(user):
    factories.market()
    row = factories.completed(user)

    status = tasks.run(str(row.pk))

    again = Backtest.objects.get(pk=row.pk)
    assert (status, again.attempts, again.started_at) == ("completed", 1, row.started_at)


@pytest.mark.django_db
def test_a_redelivered_running_run_starts_again_from_scratch(user):
    factories.market()
    row = factories.create(user)
    Backtest.objects.filter(pk=row.pk).update(status="running", attempts=1, progress=40)  # its worker died

    status = tasks.run(str(row.pk))

    row.refresh_from_db()
    assert (status, row.attempts, row.progress) == ("completed", 2, 100)
    assert row.results["trades"]["count"] == len(row.trades)


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_run_and_is_raised_for_the_log(user, monkeypatch):
    factories.market()
    row = factories.create(user)

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(running, "_execute", broken)
    with pytest.raises(KeyError):
        tasks.run(str(row.pk))

    row.refresh_from_db()
    assert (row.status, row.error_code) == ("failed", "internal_error")
    assert row.finished_at is not None


@pytest.mark.django_db
def test_a_deleted_run_is_nothing_to_do():
    assert tasks.run(str(uuid.uuid4())) is None
