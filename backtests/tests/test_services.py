"""Backtest runs in the platform: create (every bad input refused by field, nothing written), run
(results, progress events, reproducibility), fail (a strategy that raises), cancel (queued, and in the
middle of a run), optimise, walk forward, Monte Carlo, compare."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from backtests import analysis, engine, reports, selectors, services
from backtests.engine import BacktestConfig, run_backtest
from backtests.models import Backtest
from backtests.services import kinds
from backtests.tests import factories
from backtests.tests.factories import START
from backtests.tests.strategies import EXPLODING, ONE_SYMBOL, SELF_CANCELING, SelfCanceling
from marketdata.domain import Timeframe
from orders.matching import ExecutionConfig
from orders.risk import RiskLimits
from strategies.builtins import MovingAverageCrossover
from strategies.tests.factories import random_walk
from tradeapp.core.errors import Conflict, DomainError, NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def wave(db):
    return factories.market()


def refused(user, **overrides) -> DomainError:
    with pytest.raises(DomainError) as caught:
        factories.create(user, **overrides)
    assert Backtest.objects.count() == 0  # nothing half-written
    assert caught.value.message
    return caught.value


# --- create -------------------------------------------------------------------------------------------


def test_a_run_is_queued_with_complete_checked_settings(
    user, wave, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = factories.create(user, symbols=["wave"], commission_model="bps", commission_rate=Decimal(5))

    assert (row.status, row.progress, row.attempts, row.symbols) == ("queued", 0, 0, ["WAVE"])
    assert row.parameters == {
        "fast": 10,
        "slow": 20,
        "average": "sma",
        "allow_short": False,
        "allocation_percent": 100.0,
    }
    assert row.warmup_bars == 60  # three times the longest window
    assert row.code_version
    assert enqueued == [str(row.pk)]  # after the commit


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"strategy": "no_such_strategy"}, "unknown_strategy", "strategy"),
        ({"strategy": "os:system"}, "unknown_strategy", "strategy"),
        ({"parameters": {"fast": 500}}, "parameter_out_of_range", "parameters.fast"),
        ({"parameters": {"fast": 30, "slow": 20}}, "invalid_parameter", "parameters.fast"),
        ({"parameters": {"fast": "ten"}}, "invalid_parameter", "parameters.fast"),
        ({"parameters": {"speed": 3}}, "unknown_parameter", "parameters.speed"),
        ({"timeframe": "2d"}, "invalid_timeframe", "timeframe"),
        ({"end": START}, "invalid_range", "start"),
        ({"timeframe": "1m", "end": START + timedelta(days=800)}, "range_too_large", "start"),
        ({"symbols": []}, "no_symbols", "symbols"),
        ({"symbols": ["NOPE"]}, "unknown_symbol", "symbols"),
        ({"starting_cash": Decimal(0)}, "invalid_cash", "starting_cash"),
        (
            {"commission_model": "bps", "commission_rate": Decimal(-1)},
            "invalid_commission",
            "commission_rate",
        ),
        ({"commission_rate": Decimal(1)}, "invalid_commission", "commission_rate"),
        (
            {"slippage_model": "ticks", "slippage_amount": Decimal(5000)},
            "invalid_slippage",
            "slippage_amount",
        ),
        ({"kind": "genetic"}, "invalid_kind", "kind"),
        ({"kind_settings": {"samples": 3}}, "invalid_setting", "kind_settings.samples"),
        (
            {"kind": "grid", "kind_settings": {"space": {"fast": [0]}}},
            "parameter_out_of_range",
            "kind_settings.space.fast",
        ),
        (
            {"kind": "grid", "kind_settings": {"space": {"speed": [1]}}},
            "unknown_parameter",
            "kind_settings.space.speed",
        ),
        ({"kind": "grid"}, "too_many_combinations", "kind_settings.space"),
        ({"kind": "random", "kind_settings": {"samples": 0}}, "invalid_setting", "kind_settings.samples"),
        (
            {"kind": "grid", "kind_settings": {"objective": "luck"}},
            "invalid_setting",
            "kind_settings.objective",
        ),
        (
            {"kind": "walk_forward", "kind_settings": {"in_sample": 50}},
            "invalid_setting",
            "kind_settings.space",
        ),
        (
            {"kind": "monte_carlo", "kind_settings": {"method": "magic"}},
            "invalid_setting",
            "kind_settings.method",
        ),
        ({"warmup_bars": -1}, "invalid_warmup", "warmup_bars"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_written(user, wave, overrides, code, field):
    error = refused(user, **overrides)

    assert (error.code, error.field) == (code, field), error.message


def test_a_one_symbol_strategy_is_refused_on_several_symbols(user, wave, registered):
    other = factories.market("SWELL")
    factories.store_bars(other, factories.wave_closes(300))

    error = refused(user, strategy=ONE_SYMBOL, parameters={}, symbols=["WAVE", "SWELL"])

    assert (error.code, error.field) == ("single_symbol_strategy", "symbols")
    alone = factories.completed(user, strategy=ONE_SYMBOL, parameters={}, symbols=["SWELL"])
    assert alone.status == "completed"


def test_a_symbol_without_bars_for_the_timeframe_is_refused_in_words(user, wave):
    error = refused(user, timeframe="1h", end=START + timedelta(days=60))

    assert (error.code, error.field) == ("no_data", "symbols")
    assert error.message == "WAVE has no 1h bars: load its history or pick another timeframe."


def test_a_period_without_data_is_refused_with_the_span_there_is(user, wave):
    error = refused(user, start=START - timedelta(days=400), end=START - timedelta(days=100))

    assert (error.code, error.field) == ("no_data", "start")
    assert "between 2022-11-27 and 2023-09-23" in error.message
    assert "from 2024-01-01 to 2024-10-26" in error.message


# --- run ----------------------------------------------------------------------------------------------


def test_a_run_stores_metrics_trades_curves_and_provenance(user, wave):
    row = factories.completed(user)

    results = row.results
    assert (row.status, row.progress, row.error_message) == ("completed", 100, "")
    assert results["kind"] == "single"
    assert results["metrics"]["trades"] == results["trades"]["count"] == len(row.trades) > 5
    assert results["orders"]["count"] >= results["fills"]["count"] > 10
    curve = results["equity_curve"]
    assert len(curve["time"]) == len(curve["equity"]) == len(curve["drawdown"]) == results["bars"]
    assert curve["time"][0] == int((START + timedelta(days=30)).timestamp())  # from the first traded bar
    assert (row.data_start, row.data_bars) == (START, 300)  # the warm-up is loaded too
    assert len(row.data_hash) == 64
    assert row.code_version
    assert row.started_at <= row.finished_at
    first = row.trades[0]
    assert set(first) >= {"entry_time", "exit_time", "entry_price", "exit_price", "pnl", "bars"}


def test_the_same_inputs_give_the_same_results(user, wave):
    first, second = factories.completed(user), factories.completed(user)

    assert first.results["fingerprint"] == second.results["fingerprint"]
    assert first.data_hash == second.data_hash
    assert first.trades == second.trades


def test_the_stored_run_is_the_engine_run_on_the_same_bars(user, wave):
    row = factories.completed(user)
    data = services.load_series(["WAVE"], Timeframe.D1, row.start, row.end, warmup_bars=row.warmup_bars)

    direct = run_backtest(
        MovingAverageCrossover(fast=10, slow=20),
        data,
        BacktestConfig(
            initial_cash=Decimal(10_000),
            execution=ExecutionConfig(),
            risk_limits=RiskLimits(allow_short=True),
            start=row.start,
            code_version=row.code_version,
        ),
    )

    assert row.results["fingerprint"] == direct.fingerprint()
    assert row.results["final_equity"] == reports.text(direct.final_equity)


def test_progress_and_the_outcome_go_to_the_owner_stream(
    user, wave, events, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(engine.loop, "_CHUNK", 64)  # progress is reported between chunks of bars
    with django_capture_on_commit_callbacks(execute=True):
        row = factories.create(user)
        services.run_backtest(backtest_id=row.pk)

    assert {(stream, event) for stream, event, _ in events} == {(f"user.{user.pk}", "backtest")}
    states = [(data["status"], data["progress"]) for _, _, data in events]
    assert states[:2] == [("queued", 0), ("running", 0)]
    assert states[-1] == ("completed", 100)
    progress = [percent for status, percent in states if status == "running"]
    assert progress == sorted(progress)
    assert len(progress) > 2


def test_a_run_of_several_symbols_shares_one_account(user, wave):
    other = factories.market("SWELL")
    factories.store_bars(other, factories.wave_closes(300)[::-1])  # in the other phase

    row = factories.completed(user, symbols=["WAVE", "SWELL"])

    assert {trade["symbol"] for trade in row.trades} == {"WAVE", "SWELL"}
    assert [item["symbol"] for item in row.results["data_ranges"]] == ["WAVE", "SWELL"]


def test_a_strategy_that_raises_fails_the_run_naming_the_bar_and_the_next_run_works(user, wave, registered):
    row = factories.create(user, strategy=EXPLODING, parameters={"fail_at": 40})

    failed = services.run_backtest(backtest_id=row.pk)

    row.refresh_from_db()
    assert (failed.status, row.status, row.error_code) == ("failed", "failed", "strategy_error")
    assert row.error_message == (
        "Exploding raised RuntimeError: boom on the bar of 2024-02-10T00:00:00+00:00."
    )  # the 41st bar seen, the 30 warm-up bars included
    assert (row.results, row.trades, row.progress) == (None, [], 0)
    assert row.finished_at is not None
    assert factories.completed(user).status == "completed"


def test_a_queued_run_canceled_is_never_run(user, wave):
    row = factories.create(user)

    canceled = services.cancel_backtest(owner=user, backtest_id=row.pk)
    again = services.cancel_backtest(owner=user, backtest_id=row.pk)
    after = services.run_backtest(backtest_id=row.pk)

    assert (canceled.status, again.status, after.status, after.attempts) == (
        "canceled",
        "canceled",
        "canceled",
        0,
    )
    assert after.error_message == "Cancelled at your request."


def test_a_run_canceled_midway_stops_and_keeps_nothing(user, wave, registered, monkeypatch):
    monkeypatch.setattr(engine.loop, "_CHUNK", 8)  # the engine asks "should I stop?" every 8 bars here
    row = factories.create(user, strategy=SELF_CANCELING, parameters={"cancel_at": 50})
    SelfCanceling.run.update(owner=user, id=row.pk)

    outcome = services.run_backtest(backtest_id=row.pk)

    row.refresh_from_db()
    assert (outcome.status, row.status, row.results, row.trades) == ("canceled", "canceled", None, [])
    assert row.error_message == "Cancelled at your request."


def test_another_users_run_cannot_be_canceled_and_a_finished_one_cannot_either(user, other_user, wave):
    row = factories.completed(user)

    with pytest.raises(NotFound):
        services.cancel_backtest(owner=other_user, backtest_id=row.pk)
    with pytest.raises(Conflict) as caught:
        services.cancel_backtest(owner=user, backtest_id=row.pk)

    assert caught.value.code == "already_finished"


# --- optimisation, walk-forward, Monte Carlo ----------------------------------------------------------


def test_a_grid_search_ranks_combinations_and_runs_the_best_in_full(user, wave):
    space = {"fast": [5, 10, 20], "slow": [20, 30]}
    row = factories.completed(user, kind="grid", kind_settings={"space": space, "objective": "total_return"})
    data = services.load_series(["WAVE"], Timeframe.D1, row.start, row.end, warmup_bars=row.warmup_bars)
    config = BacktestConfig(
        initial_cash=Decimal(10_000), risk_limits=RiskLimits(allow_short=True), start=row.start
    )
    expected = analysis.grid_search(MovingAverageCrossover, data, config, space, objective="total_return")

    optimisation = row.results["optimisation"]
    assert optimisation["combinations"] == 6
    assert [r["error"] is not None for r in optimisation["rows"]].count(True) == 1  # fast 20, slow 20
    assert optimisation["best"]["parameters"] == {**row.parameters, **expected.best.parameters}
    assert optimisation["best"]["objective"] == expected.best.objective
    assert row.results["parameters"] == optimisation["best"]["parameters"]  # the winner's full run
    assert row.results["metrics"]["total_return"] == pytest.approx(expected.best.objective)
    heatmap = optimisation["heatmap"]
    assert (heatmap["x"], heatmap["y"], len(heatmap["values"])) == ("fast", "slow", 2)


def test_a_search_on_the_process_pool_gives_the_same_results(user, wave, monkeypatch):
    options = {"space": {"fast": [5, 10], "slow": [20, 30]}, "objective": "total_return"}
    alone = factories.completed(user, kind="grid", kind_settings=options)
    monkeypatch.setattr(kinds, "POOL_MIN_BAR_RUNS", 0)  # any search goes to the 2-process pool

    pooled = factories.completed(user, kind="grid", kind_settings=options)

    assert pooled.results["optimisation"] == alone.results["optimisation"]
    assert pooled.results["fingerprint"] == alone.results["fingerprint"]


def test_a_search_canceled_between_combinations_stops(user, wave, registered):
    row = factories.create(
        user,
        strategy=SELF_CANCELING,
        parameters={},
        kind="grid",
        kind_settings={"space": {"cancel_at": [50, 60, 70]}},
    )
    SelfCanceling.run.update(owner=user, id=row.pk)

    outcome = services.run_backtest(backtest_id=row.pk)

    assert (outcome.status, outcome.results) == ("canceled", None)


def test_random_search_evaluates_the_reproducible_random_combinations():
    space = {"fast": [2, 4, 6, 8, 10], "slow": [20, 30, 40]}
    data = random_walk(200)
    config = BacktestConfig()

    ours = analysis.random_combinations(MovingAverageCrossover, samples=7, seed=3, space=space)
    theirs = analysis.random_search(MovingAverageCrossover, data, config, samples=7, seed=3, space=space)
    from_ranges = analysis.random_combinations(MovingAverageCrossover, samples=5, seed=1, space=None)
    ranged = analysis.random_search(MovingAverageCrossover, data, config, samples=5, seed=1)

    assert [{name: row.parameters[name] for name in space} for row in theirs.rows] == ours
    assert [{name: row.parameters[name] for name in from_ranges[0]} for row in ranged.rows] == from_ranges


def test_a_random_search_run_completes(user, wave):
    row = factories.completed(
        user, kind="random", kind_settings={"space": {"fast": [3, 5, 8], "slow": [15, 25]}, "samples": 4}
    )

    assert row.results["optimisation"]["combinations"] == 4
    assert row.kind_settings == {
        "objective": "sharpe",
        "maximize": True,
        "samples": 4,
        "seed": 0,
        "space": {"fast": [3, 5, 8], "slow": [15, 25]},
    }


def test_walk_forward_reports_windows_and_a_stitched_curve(user, wave):
    row = factories.completed(
        user,
        kind="walk_forward",
        kind_settings={"space": {"fast": [5, 10], "slow": [20]}, "in_sample": 100, "out_of_sample": 50},
    )

    walk = row.results["walk_forward"]
    assert len(walk["windows"]) == 3  # 270 bars: 100 + 50, moved by 50 while they fit
    assert all(window["parameters"]["slow"] == 20 for window in walk["windows"])
    assert len(walk["equity_curve"]["time"]) == 150
    assert "metrics" in walk
    assert row.trades == []


def test_a_walk_forward_canceled_in_its_first_window_stops_there(user, wave, registered, monkeypatch):
    row = factories.create(
        user,
        strategy=SELF_CANCELING,
        parameters={},
        kind="walk_forward",
        kind_settings={"space": {"cancel_at": [30]}, "in_sample": 100, "out_of_sample": 50},
    )
    SelfCanceling.run.update(owner=user, id=row.pk)
    windows: list[tuple[int, int]] = []
    real = analysis.walk_forward

    def watched(*args, **kwargs):
        hook = kwargs["on_window"]
        kwargs["on_window"] = lambda done, total: (windows.append((done, total)), hook(done, total))
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "walk_forward", watched)

    outcome = services.run_backtest(backtest_id=row.pk)

    assert (outcome.status, outcome.results) == ("canceled", None)
    assert windows == [(1, 3)]  # 3 windows planned, stopped after the first


def test_the_list_shows_a_walk_forward_with_its_out_of_sample_metrics(user, wave):
    row = factories.completed(
        user,
        kind="walk_forward",
        kind_settings={"space": {"fast": [5], "slow": [20]}, "in_sample": 100, "out_of_sample": 50},
    )

    listed = selectors.backtests_of(user).get(pk=row.pk)

    assert listed.metrics == row.results["walk_forward"]["metrics"]
    assert services.headline(listed.metrics)["total_return"] is not None


def test_walk_forward_on_too_short_a_period_fails_in_words(user, wave):
    row = factories.create(
        user,
        kind="walk_forward",
        kind_settings={"space": {"fast": [5]}, "in_sample": 250, "out_of_sample": 50},
    )

    outcome = services.run_backtest(backtest_id=row.pk)

    assert (outcome.status, outcome.error_code) == ("failed", "period_too_short")
    assert "needs in_sample + out_of_sample = 300" in outcome.error_message


def test_monte_carlo_resamples_the_trades(user, wave):
    row = factories.completed(user, kind="monte_carlo", kind_settings={"simulations": 500, "seed": 7})

    monte_carlo = row.results["monte_carlo"]
    assert monte_carlo["trades"] == row.results["trades"]["count"]
    assert set(monte_carlo["return_percentiles"]) == {"p5", "p25", "p50", "p75", "p95"}
    assert monte_carlo["return_percentiles"]["p5"] <= monte_carlo["return_percentiles"]["p95"]
    assert sum(monte_carlo["return_histogram"]["counts"]) == 500
    assert 0 <= monte_carlo["probability_of_loss"] <= 1


# --- compare ------------------------------------------------------------------------------------------


def test_compare_gives_metric_deltas_and_the_settings_that_differ(user, wave):
    first = factories.completed(user)
    second = factories.completed(user, parameters={"fast": 5, "slow": 20})

    comparison = services.compare_backtests(owner=user, first_id=first.pk, second_id=second.pk)

    by_name = {item["name"]: item for item in comparison.metrics}
    total = by_name["total_return"]
    assert total["delta"] == pytest.approx(total["b"] - total["a"])
    assert set(comparison.differences) == {"parameters"}


def test_compare_refuses_runs_without_results_and_other_users_runs(user, other_user, wave):
    done = factories.completed(user)
    queued = factories.create(user)

    with pytest.raises(Conflict) as unfinished:
        services.compare_backtests(owner=user, first_id=done.pk, second_id=queued.pk)
    with pytest.raises(NotFound) as foreign:
        services.compare_backtests(owner=other_user, first_id=done.pk, second_id=done.pk)

    assert (unfinished.value.code, unfinished.value.field) == ("not_completed", "b")
    assert foreign.value.field == "a"


# --- charts -------------------------------------------------------------------------------------------


def test_curves_are_thinned_keeping_peaks_troughs_and_the_deepest_drawdown():
    rng = np.random.default_rng(1)
    equity = 10_000 + np.cumsum(rng.normal(0, 10, 100_000))
    drawdown = equity / np.maximum.accumulate(equity) - 1
    times = np.arange(100_000, dtype=np.int64) * 60_000_000_000

    curve = reports.chart_curve(times, equity, drawdown)

    assert len(curve["time"]) <= 3 * reports.CHART_BUCKETS + 2
    assert curve["time"] == sorted(set(curve["time"]))
    assert min(curve["drawdown"]) == round(drawdown.min(), 6)
    assert max(curve["equity"]) == round(equity.max(), 2)
    assert curve["time"][-1] == times[-1] // 1_000_000_000
