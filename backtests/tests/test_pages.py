"""Backtest pages through the Django test client: the runs, the form (fields from the strategy's
parameters, prefilled from a configuration or a run, every refusal of the service next to its field
with the input kept), a run's results for each kind, cancel, compare; another user's run or
configuration is a 404. POSTs answer a plain form (redirect) and fetch (JSON)."""

from __future__ import annotations

import html as markup
import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from backtests import views
from backtests.models import Backtest
from backtests.tests import factories
from backtests.tests.factories import START
from backtests.tests.strategies import EXPLODING

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def wave(db):
    return factories.market()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def form(**fields: str) -> dict[str, str]:
    """A valid POST of the form: SMA(10/20) on WAVE's daily bars, 2024-01-31 to 2024-10-26."""
    data = {
        "strategy": "moving_average_crossover",
        "symbols": "WAVE",
        "timeframe": "1d",
        "start": "2024-01-31",
        "end": "2024-10-26",
        "starting_cash": "10000",
        "commission_model": "none",
        "slippage_model": "none",
        "kind": "single",
        "param_fast": "10",
        "param_slow": "20",
        "param_average": "sma",
        "param_allocation_percent": "100",
        "name": "",
    }
    data.update(fields)
    return data


def field_error(html: str, field: str) -> str:
    """The text of the error list rendered next to form field ``field`` (empty when none)."""
    match = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return markup.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def section_error(html: str, section: str) -> str:
    match = re.search(rf'<div class="form-errors" role="alert" id="{section}_error">(.*?)</div>', html, re.S)
    return markup.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).strip() if match else ""


def input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def text_of(html: str) -> str:
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


# --- access -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/backtests/",
        "/backtests/new/",
        "/backtests/00000000-0000-4000-8000-000000000001/",
        "/backtests/compare/?a=1&b=2",
    ],
)
def test_pages_need_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_another_users_run_is_not_found_on_every_page(signed_in, user, other_user, wave):
    theirs = factories.create(other_user)
    mine = factories.completed(user)

    assert signed_in.get(f"/backtests/{theirs.pk}/").status_code == 404
    assert signed_in.get(f"/backtests/{uuid.uuid4()}/").status_code == 404
    assert signed_in.get(f"/backtests/new/?from={theirs.pk}").status_code == 404
    assert signed_in.get(f"/backtests/compare/?a={mine.pk}&b={theirs.pk}").status_code == 404
    assert signed_in.post(f"/backtests/{theirs.pk}/cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "queued"


def test_every_page_renders_without_template_leftovers(signed_in, user, wave):
    done = factories.completed(user)
    grid = factories.completed(
        user, kind="grid", kind_settings={"space": {"fast": [5, 10], "slow": [20, 30]}}
    )
    queued = factories.create(user)
    pages = [
        "/backtests/",
        "/backtests/new/",
        f"/backtests/new/?from={grid.pk}",
        f"/backtests/{done.pk}/",
        f"/backtests/{grid.pk}/",
        f"/backtests/{queued.pk}/",
        f"/backtests/compare/?a={done.pk}&b={grid.pk}",
    ]

    for path in pages:
        response = signed_in.get(path)
        html = response.content.decode()
        assert response.status_code == 200, path
        shown = text_of(re.sub(r"<script.*?</script>", "", html, flags=re.S))
        assert not re.search(r"\{[#%{]|[#%}]\}", shown), path  # no template syntax shown as text


# --- the runs -----------------------------------------------------------------------------------------


def test_the_list_shows_each_run_with_status_progress_and_headline_metrics(signed_in, user, wave):
    done = factories.completed(user, name="Crossover 2024")
    queued = factories.create(user)

    html = signed_in.get("/backtests/").content.decode()

    assert html.index(str(queued.pk)) < html.index(str(done.pk))  # newest first
    total = done.results["metrics"]["total_return"] * 100
    assert f"{'+' if total > 0 else ''}{total:,.2f}%" in html
    assert "Crossover 2024" in html
    assert "Moving-average crossover on WAVE" in html  # a run without a name
    assert "2024-01-31 to 2024-10-26" in html
    assert re.search(rf'data-backtest-id="{queued.pk}" data-status="queued"', html)
    assert re.search(r'<progress max="100" value="0"', html)
    # only completed runs can be picked for comparison
    assert f'name="run" value="{done.pk}"' in html
    assert f'name="run" value="{queued.pk}"' not in html


def test_the_list_is_paginated(signed_in, user, wave, monkeypatch):
    monkeypatch.setattr(views, "LIST_PAGE_SIZE", 2)
    oldest, *_ = [factories.create(user, name=f"run {index}") for index in range(3)]

    first = signed_in.get("/backtests/").content.decode()
    second = signed_in.get("/backtests/?page=2").content.decode()

    assert "Page 1 of 2" in first
    assert str(oldest.pk) not in first
    assert str(oldest.pk) in second


def test_an_empty_list_points_to_the_form(signed_in):
    html = signed_in.get("/backtests/").content.decode()

    assert "No backtests yet." in html
    assert 'href="/backtests/new/"' in html


# --- the form -----------------------------------------------------------------------------------------


def test_the_form_has_the_strategys_parameters_with_defaults_ranges_and_help(signed_in, wave):
    html = signed_in.get("/backtests/new/").content.decode()

    assert re.search(
        r'<option value="moving_average_crossover" selected>Moving-average crossover</option>', html
    )
    assert '<option value="donchian_breakout">' in html
    fast = re.search(r'<input[^>]*name="param_fast"[^>]*>', html).group(0)
    assert all(part in fast for part in ('type="number"', 'value="10"', 'min="1"', 'max="200"', 'step="1"'))
    assert "Fast moving-average window, in bars. Default: 10 · 1 to 200." in html
    assert re.search(r'<select name="param_average"[^>]*>\s*<option value="sma" selected>', html)
    assert re.search(r'<input type="checkbox" name="param_allow_short"', html)
    assert "Buy when the fast average crosses above the slow one" in html  # the description
    assert 'name="space_fast"' in html  # values to try, for searches
    assert 'hx-get="/backtests/new/"' in html  # the strategy switch


def test_choosing_another_strategy_renders_its_parameters(signed_in, wave):
    html = signed_in.get("/backtests/new/?strategy=donchian_breakout").content.decode()

    assert 'name="param_entry_window"' in html
    assert 'name="space_atr_multiple"' in html
    assert 'name="param_fast"' not in html
    assert re.search(r'<input[^>]*name="param_atr_multiple"[^>]*step="0.5"', html)


def test_without_javascript_the_switch_button_renders_the_chosen_strategys_form(signed_in, wave):
    response = signed_in.post(
        "/backtests/new/",
        form(strategy="bollinger_mean_reversion", action="strategy", symbols="WAVE", name="Kept"),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert Backtest.objects.count() == 0
    assert input_value(html, "param_window") == "20"  # its defaults, nothing refused yet
    assert 'class="field-errors"' not in html
    assert (input_value(html, "name"), input_value(html, "symbols")) == ("Kept", "WAVE")


def test_the_form_is_prefilled_from_a_strategy_configuration(signed_in, user, other_user, wave):
    from strategies.services import create_config

    mine = create_config(
        owner=user, strategy="moving_average_crossover", name="Quick", parameters={"fast": 5, "slow": 30}
    )
    theirs = create_config(owner=other_user, strategy="moving_average_crossover", name="Quick")

    html = signed_in.get(f"/backtests/new/?config={mine.pk}").content.decode()

    assert (input_value(html, "param_fast"), input_value(html, "param_slow")) == ("5", "30")
    assert input_value(html, "name") == "Quick"
    assert signed_in.get(f"/backtests/new/?config={theirs.pk}").status_code == 404
    assert signed_in.get("/backtests/new/?config=not-a-uuid").status_code == 404


def test_the_form_is_prefilled_from_a_run_to_run_it_again(signed_in, user, wave):
    row = factories.create(
        user,
        name="Grid",
        kind="grid",
        kind_settings={"space": {"fast": [5, 10], "slow": [20]}, "objective": "total_return"},
        commission_model="bps",
        commission_rate=Decimal("2.5"),
    )

    html = signed_in.get(f"/backtests/new/?from={row.pk}").content.decode()

    assert input_value(html, "name") == "Grid"
    assert input_value(html, "symbols") == "WAVE"
    assert (input_value(html, "start"), input_value(html, "end")) == ("2024-01-31", "2024-10-26")
    assert input_value(html, "starting_cash") == "10000"
    assert input_value(html, "commission_rate") == "2.5"
    assert re.search(r'<option value="bps" selected>', html)
    assert re.search(r'<input type="radio" name="kind" value="grid"[^>]*checked', html)
    assert input_value(html, "space_fast") == "5, 10"
    assert input_value(html, "space_slow") == ""  # one value, the run's own: fixed, not searched
    assert re.search(r'<option value="total_return" selected>', html)


def test_a_valid_form_queues_the_run_and_opens_its_page(signed_in, user, wave, enqueued):
    response = signed_in.post(
        "/backtests/new/", form(name="First", param_fast="5", commission_model="bps", commission_rate="5")
    )

    row = Backtest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/backtests/{row.pk}/"
    assert (row.owner, row.name, row.symbols, row.status) == (user, "First", ["WAVE"], "queued")
    assert row.parameters["fast"] == 5
    assert row.start == START + timedelta(days=30)
    assert row.end == START + timedelta(days=300)  # the last day is included
    assert (row.commission_model, row.commission_rate) == ("bps", Decimal(5))
    page = signed_in.get(response["Location"]).content.decode()
    assert "Backtest queued: First." in page


def test_fetch_gets_json_for_a_valid_and_an_invalid_form(signed_in, wave, enqueued):
    created = signed_in.post("/backtests/new/", form(), **JSON)
    refused = signed_in.post("/backtests/new/", form(param_fast="500"), **JSON)

    body = created.json()
    assert created.status_code == 201
    assert body["url"] == f"/backtests/{body['backtest']['id']}/"
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"param_fast": ["fast must be at most 200, not 500."]}


def test_a_grid_search_tries_the_values_given_and_keeps_the_others_at_their_value(signed_in, wave, enqueued):
    signed_in.post(
        "/backtests/new/",
        form(kind="grid", space_fast="10:30:10", space_average="sma, ema", param_slow="40", goal="min"),
    )

    settings = Backtest.objects.get().kind_settings
    assert settings["space"] == {
        "fast": [10, 20, 30],
        "slow": [40],
        "average": ["sma", "ema"],
        "allow_short": [False],
        "allocation_percent": [100.0],
    }
    assert (settings["objective"], settings["maximize"]) == ("sharpe", False)


def test_the_settings_of_other_kinds_and_unused_costs_are_dropped(signed_in, wave, enqueued):
    signed_in.post(
        "/backtests/new/",
        form(
            kind="monte_carlo",
            simulations="500",
            seed="7",
            in_sample="20",  # a walk-forward setting: not this kind's
            commission_rate="3",  # typed before the model went back to none
        ),
    )

    row = Backtest.objects.get()
    assert row.kind_settings == {"simulations": 500, "method": "bootstrap", "seed": 7}
    assert row.commission_rate == 0


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"strategy": "no_such_strategy"}, "strategy", "Unknown strategy 'no_such_strategy'"),
        ({"param_fast": "500"}, "param_fast", "fast must be at most 200, not 500."),
        ({"param_fast": "0"}, "param_fast", "fast must be at least 1, not 0."),
        ({"param_fast": "30"}, "param_fast", "fast (30) must be shorter than slow (20)."),
        ({"param_average": "wma"}, "param_average", "average must be one of sma, ema"),
        (
            {"start": "2030-01-01", "end": "2030-06-30"},
            "start",
            "WAVE has no 1d bars between 2030-01-01 and 2030-07-01; its 1d bars run from 2024-01-01 to",
        ),
        ({"timeframe": "1h"}, "symbols", "WAVE has no 1h bars: load its history or pick another timeframe."),
        ({"symbols": "WAVE, NOPE"}, "symbols", "Unknown symbol 'NOPE'."),
        ({"symbols": " , "}, "symbols", "Choose at least one symbol."),
        ({"end": "2024-01-01"}, "start", "start must be before end."),
        ({"starting_cash": "0"}, "starting_cash", "Starting cash must be a positive amount."),
        ({"starting_cash": "lots"}, "starting_cash", "Enter a number."),
        (
            {"commission_model": "per_order", "commission_rate": "-1"},
            "commission_rate",
            "commission_rate must be zero or more.",
        ),
        ({"warmup_bars": "99999"}, "warmup_bars", "warmup_bars must be a whole number from 0 to 5000."),
        ({"kind": "grid", "space_fast": "10:5"}, "space_fast", "The range runs backwards"),
        ({"kind": "grid", "space_fast": "1:1000:1"}, "space_fast", "That range has 1,000 values"),
        ({"kind": "grid", "space_fast": "0, 5"}, "space_fast", "fast must be at least 1, not 0."),
        (
            {"kind": "grid", "space_average": "sma:ema"},
            "space_average",
            "A range (low:high:step) is for numbers",
        ),
        (
            {"kind": "random", "samples": "0", "space_fast": "5, 10"},
            "samples",
            "samples must be a whole number",
        ),
        (
            {"kind": "walk_forward", "space_fast": "5, 10"},
            "in_sample",
            "Give in_sample (a whole number of bars).",
        ),
        (
            {"kind": "monte_carlo", "simulations": "5"},
            "simulations",
            "simulations must be a whole number from 100",
        ),
    ],
)
def test_each_refusal_is_shown_next_to_its_field_and_the_input_is_kept(
    signed_in, wave, enqueued, fields, where, message
):
    response = signed_in.post("/backtests/new/", form(name="Keep me", **fields))

    html = response.content.decode()
    assert response.status_code == 400
    assert message in field_error(html, where), field_error(html, where) or text_of(html)[:3000]
    assert Backtest.objects.count() == 0
    assert input_value(html, "name") == "Keep me"
    assert input_value(html, "symbols") == form(**fields)["symbols"].strip(" ,") or fields.get("symbols")


@pytest.mark.parametrize(
    ("fields", "section", "message"),
    [
        ({"kind": "grid"}, "space", "Give the values to try for at least one parameter."),
        (
            {"kind": "grid", "space_fast": "1:100", "space_slow": "2:40"},
            "space",
            "The search has 3,900 combinations; at most 500 run in one grid run",
        ),
    ],
)
def test_refusals_about_the_whole_search_space_are_shown_above_it(signed_in, wave, fields, section, message):
    response = signed_in.post("/backtests/new/", form(**fields))

    assert response.status_code == 400
    assert message in section_error(response.content.decode(), section)
    assert Backtest.objects.count() == 0


def test_a_strategy_that_cannot_be_set_up_is_refused_at_its_parameters(
    signed_in, wave, registered, monkeypatch
):
    from backtests.tests.strategies import Exploding

    def broken(self, **values):
        raise RuntimeError("no licence")

    monkeypatch.setattr(Exploding, "__init__", broken)
    response = signed_in.post("/backtests/new/", {**form(), "strategy": EXPLODING})

    assert response.status_code == 400
    error = section_error(response.content.decode(), "parameters")
    assert "Exploding could not be set up: RuntimeError: no licence." in error


# --- one run ------------------------------------------------------------------------------------------


def test_a_completed_run_shows_metrics_charts_trades_and_how_to_reproduce_it(signed_in, user, wave):
    row = factories.completed(user, name="Waves", commission_model="bps", commission_rate=Decimal(5))
    metrics = row.results["metrics"]

    response = signed_in.get(f"/backtests/{row.pk}/")

    html = response.content.decode()
    text = text_of(html)
    assert response.status_code == 200
    assert re.search(r'data-field="status">Completed<', html)
    sharpe = re.search(
        r'data-metric="sharpe"><dt>Sharpe ratio</dt><dd class="num[^"]*">([^<]+)<', html
    ).group(1)
    assert sharpe == f"{'+' if metrics['sharpe'] > 0 else ''}{metrics['sharpe']:,.2f}"
    assert re.search(r'data-metric="max_drawdown"><dt>Max drawdown</dt><dd class="num ">([\d.]+%)<', html)
    assert "VaR 95%, historical (1 bar)" in text
    trades = len(row.trades)
    assert f"Trades {trades}" in text
    assert f"Trade {min(trades, views.TRADES_PAGE_SIZE)}" in text
    assert f'href="/api/v1/backtests/{row.pk}/trades?export=csv"' in html
    assert f'href="/backtests/new/?from={row.pk}"' in html  # run again / copy
    for reproducible in (
        row.data_hash,
        row.code_version,
        row.results["fingerprint"],
        "Basis points of notional: 5",
    ):
        assert reproducible in text
    data = json.loads(
        re.search(r'<script id="backtest-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert data["equity_curve"]["time"] == row.results["equity_curve"]["time"]
    assert len(data["trades"]) == trades
    assert (data["symbols"], data["timeframe"]) == (["WAVE"], "1d")
    assert "Cancel run" not in html


def test_the_trades_are_paged(signed_in, user, wave, monkeypatch):
    monkeypatch.setattr(views, "TRADES_PAGE_SIZE", 2)
    row = factories.completed(user)
    third = row.trades[2]

    html = signed_in.get(f"/backtests/{row.pk}/?trades_page=2").content.decode()

    assert f"Trades 3\N{EN DASH}4 of {len(row.trades)}" in html
    assert "Trade 3<" in html
    assert "Trade 1<" not in html
    assert f'datetime="{third["entry_time"]}"' in html


def test_a_queued_run_shows_its_progress_and_can_be_canceled(signed_in, user, wave):
    row = factories.create(user)

    html = signed_in.get(f"/backtests/{row.pk}/").content.decode()

    assert re.search(r'data-field="status">Queued<', html)
    assert '<progress max="100" value="0"' in html
    assert "Waiting for a worker" in html
    assert f'action="/backtests/{row.pk}/cancel/"' in html
    assert 'id="backtest-data"' not in html  # nothing to chart yet


def test_a_failed_run_says_why(signed_in, user, wave, registered):
    from backtests import services

    row = factories.create(user, strategy=EXPLODING, parameters={"fail_at": 40})
    services.run_backtest(backtest_id=row.pk)

    text = text_of(signed_in.get(f"/backtests/{row.pk}/").content.decode())

    assert "The run failed. Exploding raised RuntimeError: boom on the bar of 2024-02-10" in text
    assert "strategy_error" in text


def test_cancel_stops_a_run_and_the_run_shows_as_canceled(signed_in, user, wave):
    row = factories.create(user)

    response = signed_in.post(f"/backtests/{row.pk}/cancel/")

    row.refresh_from_db()
    assert row.status == "canceled"
    assert response.status_code == 302
    assert response["Location"] == f"/backtests/{row.pk}/"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Backtest canceled." in page
    assert re.search(r'data-field="status">Canceled<', page)
    assert "Canceled. Cancelled at your request." in text_of(page)
    assert "Cancel run" not in page
    listed = signed_in.get("/backtests/").content.decode()
    assert re.search(rf'data-backtest-id="{row.pk}" data-status="canceled"', listed)


def test_cancel_answers_fetch_with_json_and_refuses_a_finished_run(signed_in, user, wave):
    queued = factories.create(user)
    done = factories.completed(user)

    canceled = signed_in.post(f"/backtests/{queued.pk}/cancel/", **JSON)
    refused = signed_in.post(f"/backtests/{done.pk}/cancel/", **JSON)
    plain = signed_in.post(f"/backtests/{done.pk}/cancel/", {"next": "/backtests/"})

    assert (canceled.status_code, canceled.json()["backtest"]["status"]) == (200, "canceled")
    assert (refused.status_code, refused.json()["code"]) == (409, "already_finished")
    assert plain["Location"] == "/backtests/"
    assert (
        "The run has completed: there is nothing to cancel." in signed_in.get("/backtests/").content.decode()
    )
    done.refresh_from_db()
    assert done.status == "completed"
    assert signed_in.get(f"/backtests/{queued.pk}/cancel/").status_code == 405


def test_a_grid_search_shows_its_ranking_and_a_heatmap_with_the_best_cell(signed_in, user, wave):
    space = {"fast": [5, 10, 15], "slow": [20, 30], "average": ["sma", "ema"]}
    row = factories.completed(user, kind="grid", kind_settings={"space": space, "objective": "total_return"})
    optimisation = row.results["optimisation"]
    best = optimisation["best"]

    html = signed_in.get(f"/backtests/{row.pk}/").content.decode()

    text = text_of(html)
    assert "Best of 12 combinations by Total return" in text
    assert "#1 best" in text
    best_cell = re.search(r'<td class="num bt-heat heat-9 is-best" title="([^"]+)"', html).group(1)
    x, y = (
        re.search(r'<select id="heat-x" name="x">.*?selected>(\w+)<', html, re.S).group(1),
        re.search(r'<select id="heat-y" name="y">.*?selected>(\w+)<', html, re.S).group(1),
    )
    assert {x, y} == {"fast", "slow"}  # the two parameters with the most values
    assert best_cell.startswith(f"{x} {best['parameters'][x]}, {y} {best['parameters'][y]}: ")
    assert "the best over average" in text  # the third parameter
    assert html.count(" data-best>") == 1


def test_the_heatmap_axes_can_be_chosen_and_htmx_gets_only_the_heatmap(signed_in, user, wave):
    space = {"fast": [5, 10], "slow": [20, 30], "average": ["sma", "ema"]}
    row = factories.completed(user, kind="grid", kind_settings={"space": space, "objective": "total_return"})

    page = signed_in.get(f"/backtests/{row.pk}/?x=average&y=fast").content.decode()
    partial = signed_in.get(
        f"/backtests/{row.pk}/?x=slow&y=average", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="heatmap-grid"
    ).content.decode()

    assert re.search(r'<option value="average" selected>average</option>', page)
    columns = re.search(r'<table class="bt-heatmap".*?<thead>(.*?)</thead>', page, re.S).group(1)
    assert re.findall(r">(\w+)</th>", columns) == [
        "ema",
        "sma",
    ]  # average across: its values head the columns
    assert partial.lstrip().startswith('<div id="heatmap-grid"')
    assert "<html" not in partial
    assert "slow 20, average" in partial or "slow 30, average" in partial


def test_a_walk_forward_shows_its_windows_and_the_stitched_out_of_sample_curve(signed_in, user, wave):
    row = factories.completed(
        user,
        kind="walk_forward",
        kind_settings={"space": {"fast": [5, 10], "slow": [20]}, "in_sample": 100, "out_of_sample": 50},
    )

    html = signed_in.get(f"/backtests/{row.pk}/").content.decode()

    text = text_of(html)
    assert "Windows 3" in text
    first = row.results["walk_forward"]["windows"][0]
    assert f"{first['in_sample'][0][:10]} to {first['in_sample'][1][:10]}" in text
    winners = re.findall(r'<td data-label="Best parameters" class="bt-wrap">([^<]+)</td>', html)
    assert winners == [
        f"fast {window['parameters']['fast']}" for window in row.results["walk_forward"]["windows"]
    ]
    assert 'data-metric="sharpe"' in html
    assert 'data-metric="trades"' not in html  # the stitched curve has no trades of its own
    data = json.loads(
        re.search(r'<script id="backtest-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert len(data["walk_forward_curve"]["time"]) == 150
    assert 'id="price-chart"' not in html  # no single run's trades to mark


def test_a_monte_carlo_run_shows_percentiles_and_histograms(signed_in, user, wave):
    row = factories.completed(user, kind="monte_carlo", kind_settings={"simulations": 500, "seed": 7})
    monte_carlo = row.results["monte_carlo"]

    html = signed_in.get(f"/backtests/{row.pk}/").content.decode()

    text = text_of(html)
    assert "500 bootstrap resamplings" in text
    assert f"{monte_carlo['probability_of_loss'] * 100:,.2f}%" in text
    assert re.findall(r"(\d+)th ", text) == ["5", "25", "50", "75", "95"]
    bars = len(monte_carlo["return_histogram"]["counts"]) + len(monte_carlo["drawdown_histogram"]["counts"])
    assert html.count("<rect ") == bars
    assert bars > 2
    assert "simulations</title>" in html


# --- compare ------------------------------------------------------------------------------------------


def test_compare_shows_both_runs_side_by_side_with_the_differences(signed_in, user, wave):
    first = factories.completed(user, name="Slow")
    second = factories.completed(user, name="Fast", parameters={"fast": 5, "slow": 20})

    html = signed_in.get(f"/backtests/compare/?a={first.pk}&b={second.pk}").content.decode()

    assert re.search(r'id="run-a-title"><a href="[^"]+">Slow</a>', html)
    assert re.search(r'id="run-b-title"><a href="[^"]+">Fast</a>', html)
    parameters = re.search(r'<tr class="is-different">\s*<td class="cell-title">Parameters', html)
    assert parameters
    assert not re.search(r'<tr class="is-different">\s*<td class="cell-title">Symbols', html)
    a, b = first.results["metrics"]["total_return"], second.results["metrics"]["total_return"]
    better = "a" if a > b else "b"
    row = re.search(r"<td class=\"cell-title\">Total return</td>(.*?)</tr>", html, re.S).group(1)
    assert f'data-label="{better.upper()}"' in row.split("is-better")[1][:40]
    data = json.loads(
        re.search(r'<script id="compare-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert data["a"]["curve"]["equity"] == first.results["equity_curve"]["equity"]


def test_the_lists_two_ticks_lead_to_compare(signed_in, user, wave):
    first, second = factories.completed(user), factories.completed(user)

    response = signed_in.get(f"/backtests/compare/?run={first.pk}&run={second.pk}")

    assert response.status_code == 302
    assert response["Location"] == f"/backtests/compare/?a={first.pk}&b={second.pk}"


@pytest.mark.parametrize("query", ["", "?run={done}", "?a={done}&b={queued}"])
def test_compare_needs_two_completed_runs(signed_in, user, wave, query):
    done, queued = factories.completed(user), factories.create(user)

    response = signed_in.get(
        "/backtests/compare/" + query.format(done=done.pk, queued=queued.pk), follow=True
    )

    assert response.redirect_chain[-1][0] == "/backtests/"
    text = text_of(response.content.decode())
    assert (
        "Select two completed runs to compare." in text or "Run b has no results to compare (queued)." in text
    )


def test_a_random_search_without_values_draws_from_the_parameters_ranges(signed_in, wave, enqueued):
    signed_in.post("/backtests/new/", form(kind="random", samples="5", seed="3", objective="total_return"))

    assert Backtest.objects.get().kind_settings == {
        "objective": "total_return",
        "maximize": True,
        "samples": 5,
        "seed": 3,
    }


def test_a_walk_forward_takes_its_windows_and_values_to_try(signed_in, wave, enqueued):
    signed_in.post(
        "/backtests/new/",
        form(kind="walk_forward", space_fast="5, 10", in_sample="100", out_of_sample="50", anchored="on"),
    )

    settings = Backtest.objects.get().kind_settings
    assert (settings["in_sample"], settings["out_of_sample"], settings["step"]) == (100, 50, 50)
    assert settings["anchored"] is True
    assert settings["space"]["fast"] == [5, 10]
    assert settings["space"]["slow"] == [20]


def test_a_run_on_several_symbols_charts_each_of_them(signed_in, user, wave):
    factories.market("SWELL")
    row = factories.completed(user, symbols=["WAVE", "SWELL"])

    html = signed_in.get(f"/backtests/{row.pk}/").content.decode()

    buttons = re.findall(r'data-chart-symbol="(\w+)" aria-pressed="(true|false)"', html)
    assert buttons == [("WAVE", "true"), ("SWELL", "false")]
    data = json.loads(
        re.search(r'<script id="backtest-data" type="application/json">(.*?)</script>', html).group(1)
    )
    assert {trade["symbol"] for trade in data["trades"]} == {"WAVE", "SWELL"}
