"""Bars are written by idempotent upserts; bad rows are reported, never stored."""

import dataclasses
from decimal import Decimal

import pytest

from marketdata.models import Bar as BarRow
from marketdata.services import upsert_bars
from marketdata.tests.factories import InstrumentFactory, make_bars

pytestmark = pytest.mark.django_db


def test_the_same_batch_twice_stores_each_bar_once():
    instrument = InstrumentFactory(symbol="AAPL")
    bars = make_bars("AAPL", 50)

    first = upsert_bars(instrument=instrument, bars=bars)
    second = upsert_bars(instrument=instrument, bars=bars)

    assert (first.written, second.written, first.skipped) == (50, 50, 0)
    assert BarRow.objects.filter(instrument=instrument).count() == 50


def test_a_corrected_bar_replaces_the_old_one():
    instrument = InstrumentFactory(symbol="AAPL")
    bars = make_bars("AAPL", 3)
    upsert_bars(instrument=instrument, bars=bars)
    corrected = dataclasses.replace(bars[1], close=bars[1].high, volume=Decimal(5))

    upsert_bars(instrument=instrument, bars=[corrected])

    row = BarRow.objects.get(instrument=instrument, open_time=bars[1].open_time)
    assert (row.close, row.volume) == (corrected.close, Decimal(5))


def test_bad_rows_are_reported_with_reasons_and_the_rest_stored():
    instrument = InstrumentFactory(symbol="AAPL")
    bars = make_bars("AAPL", 5)
    bars[1] = dataclasses.replace(bars[1], high=bars[1].low - Decimal("0.01"))
    bars[2] = dataclasses.replace(bars[2], volume=Decimal(-1))
    bars[4] = dataclasses.replace(bars[4], open_time=bars[0].open_time)

    report = upsert_bars(instrument=instrument, bars=bars)

    assert report.written == 2
    assert [r.row for r in report.rejected] == [2, 3, 5]
    assert "below low" in " ".join(report.rejected[0].reasons)
    assert "negative" in " ".join(report.rejected[1].reasons)
    assert "goes back" in " ".join(report.rejected[2].reasons)
    assert BarRow.objects.filter(instrument=instrument).count() == 2


def test_bars_of_two_instruments_do_not_collide():
    apple, spy = InstrumentFactory(symbol="AAPL"), InstrumentFactory(symbol="SPY")

    upsert_bars(instrument=apple, bars=make_bars("AAPL", 4))
    upsert_bars(instrument=spy, bars=make_bars("SPY", 4))

    assert BarRow.objects.count() == 8


def test_two_upserts_inside_one_outer_transaction_do_not_resend_rows():
    from django.db import transaction

    instrument = InstrumentFactory(symbol="AAPL")
    bars = make_bars("AAPL", 3)

    with transaction.atomic():
        upsert_bars(instrument=instrument, bars=bars)
        second = upsert_bars(instrument=instrument, bars=bars[:1])

    assert second.written == 1
    assert BarRow.objects.filter(instrument=instrument).count() == 3
