"""CSV bar import: every row accounted for, each bad input reported, a malformed file writes nothing."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from marketdata.csv_import import MalformedCsv, import_bar_csv
from marketdata.models import Bar as BarRow
from marketdata.tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

HEADER = "open_time,open,high,low,close,volume,trade_count\n"


@pytest.fixture
def apple():
    return InstrumentFactory(symbol="AAPL")


def stored(instrument):
    return list(BarRow.objects.filter(instrument=instrument).order_by("open_time"))


def test_a_sound_file_is_imported_and_reported(apple):
    data = (
        HEADER
        + "2026-03-02T14:30:00Z,100.00,100.50,99.90,100.20,1500,12\n"
        + "2026-03-02T09:31:00-05:00,100.20,100.30,100.10,100.25,900,\n"  # 14:31 UTC; no trade count
        + "\n"  # blank lines are not rows
        + "1772461920,100.25,100.40,100.20,100.30,700,3\n"  # unix seconds: 14:32 UTC
    ).encode()

    report = import_bar_csv(instrument=apple, timeframe="1m", data=data)

    assert (report.rows_read, report.imported, report.skipped) == (3, 3, [])
    rows = stored(apple)
    assert [row.open_time for row in rows] == [
        datetime(2026, 3, 2, 14, minute, tzinfo=UTC) for minute in (30, 31, 32)
    ]
    assert (rows[0].close, rows[0].volume, rows[0].trade_count, rows[1].trade_count) == (
        Decimal("100.20"),
        Decimal(1500),
        12,
        None,
    )


def test_columns_in_any_order_and_case_without_trade_count_and_with_a_bom(apple):
    data = "\ufeffClose,Open,High,Low,Volume,Open_Time\r\n100.2,100,100.5,99.9,10,2026-03-02T14:30:00Z\r\n"

    report = import_bar_csv(instrument=apple, timeframe="1m", data=data.encode())

    assert report.imported == 1
    assert stored(apple)[0].close == Decimal("100.2")


def test_importing_the_same_file_twice_stores_each_bar_once(apple):
    data = (HEADER + "2026-03-02T14:30:00Z,100,101,99,100,10,1\n").encode()

    import_bar_csv(instrument=apple, timeframe="1m", data=data)
    import_bar_csv(instrument=apple, timeframe="1m", data=data)

    assert len(stored(apple)) == 1


def test_bad_rows_are_skipped_with_line_numbers_and_reasons(apple):
    rows = [
        "2026-03-02T14:30:00Z,100,101,99,100,10,1",  # line 2: fine
        "2026-03-02T14:31:00Z,abc,101,99,100,10,1",  # 3: malformed number
        "2026-03-02T14:32:00Z,100,101,99",  # 4: missing columns
        "yesterday,100,101,99,100,10,1",  # 5: bad timestamp
        "2026-03-02T14:34:00,100,101,99,100,10,1",  # 6: no offset
        "2026-03-02T14:35:00Z,100,99,101,100,10,1",  # 7: high below low (bar_problems)
        "2026-03-02T14:36:30Z,100,101,99,100,10,1",  # 8: not aligned to 1m (bar_problems)
        "2026-03-02T14:37:00Z,100,101,99,100,10,1",  # 9: fine
        "2026-03-02T14:33:00Z,100,101,99,100,10,1",  # 10: out of order
        "2026-03-02T14:38:00Z,100,101,99,100,-5,1",  # 11: negative volume
        "2026-03-02T14:39:00Z,100.123456789012,101,99,100,10,1",  # 12: beyond the column's precision
        "1772461920000,100,101,99,100,10,1",  # 13: milliseconds, not seconds
        "2026-03-02T14:41:00Z,100,101,99,100,10,2.5",  # 14: fractional trade count
        "2026-03-02T14:42:00Z,100,101,,100,10,1",  # 15: empty low
        "2026-03-02T14:43:00Z,NaN,101,99,100,10,1",  # 16: not finite
        "2026-03-02T14:44:00Z,1e20,1e20,99,100,10,1",  # 17: too large for the column
    ]
    data = (HEADER + "\n".join(rows) + "\n").encode()

    report = import_bar_csv(instrument=apple, timeframe="1m", data=data)

    reasons = {row.line: " ".join(row.reasons) for row in report.skipped}
    assert (report.rows_read, report.imported) == (16, 2)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17]
    assert "open 'abc' is not a number" in reasons[3]
    assert "expected 7 columns, found 4" in reasons[4]
    assert "not an ISO 8601 time or unix seconds" in reasons[5]
    assert "no UTC offset" in reasons[6]
    assert "below low" in reasons[7]
    assert "not aligned" in reasons[8]
    assert "goes back" in reasons[10]
    assert "negative" in reasons[11]
    assert "more than 10 decimal places" in reasons[12]
    assert "milliseconds" in reasons[13]
    assert "trade_count" in reasons[14]
    assert "empty low" in reasons[15]
    assert "not a finite number" in reasons[16]
    assert "too large" in reasons[17]
    assert [row.open_time.minute for row in stored(apple)] == [30, 37]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"2026-03-02T14:30:00Z,100,101,99,100,10\n", "not a header"),
        (b"1772461800,100,101,99,100,10\n", "not a header"),
        (b"time,open,high,low,close,volume\n", "missing open_time; unknown time"),
        (b"open_time,open,high,low,close\n", "missing volume"),
        (b"open_time,open,high,low,close,volume,volume\n", "repeated volume"),
        (b"open_time;open;high;low;close;volume\n", "Wrong columns"),
        (
            "open_time,open,high,low,close,volume\n2026-03-02T14:30:00Z,1\u20ac,1,1,1,1\n".encode("cp1252"),
            "UTF-8",
        ),
        (b"\xff\xfeo\x00p\x00", "UTF-8"),
        (b'open_time,open,high,low,close,volume\n"2026-03-02T14:30:00Z,1,1,1,1,1\n', "not valid CSV"),
        (b"open_time,open,high,low,close,volume\n\x00\x00\n", "NUL"),
    ],
)
def test_a_malformed_file_is_refused_and_nothing_is_written(apple, data, words):
    with pytest.raises(MalformedCsv) as error:
        import_bar_csv(instrument=apple, timeframe="1m", data=data)

    assert words in error.value.message
    assert (error.value.code, error.value.field) == ("malformed_csv", "file")
    assert stored(apple) == []


def test_the_command_prints_the_report(apple, tmp_path):
    path = tmp_path / "aapl.csv"
    path.write_text(
        HEADER + "2026-03-02T14:30:00Z,100,101,99,100,10,1\n2026-03-02T14:31:00Z,x,101,99,100,10,1\n"
    )
    out = StringIO()

    call_command("import_bars", "aapl", "1m", str(path), stdout=out)

    assert "AAPL 1m" in out.getvalue()
    assert "2 rows read, 1 imported, 1 skipped." in out.getvalue()
    assert "skipped line 3: open 'x' is not a number" in out.getvalue()
    assert len(stored(apple)) == 1


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["NOPE", "1m"], "Unknown symbol 'NOPE'"),
        (["AAPL", "2m"], "unknown timeframe"),
        (["AAPL", "1m", "missing.csv"], "Cannot read"),
        (["AAPL", "1m", "bad.csv"], "is data, not a header"),
    ],
)
def test_the_command_fails_clearly(apple, tmp_path, monkeypatch, arguments, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.csv").write_text(HEADER)
    (tmp_path / "bad.csv").write_text("1772461800,1,1,1,1,1\n")
    if len(arguments) == 2:
        arguments = [*arguments, "good.csv"]

    with pytest.raises(CommandError, match=words):
        call_command("import_bars", *arguments)

    assert stored(apple) == []


# --- admin ---------------------------------------------------------------------------------------------

UPLOAD_URL = "/admin/marketdata/instrument/import-bars/"


def upload(client, instrument, content: bytes, timeframe="1m"):
    file = SimpleUploadedFile("bars.csv", content, content_type="text/csv")
    return client.post(UPLOAD_URL, {"instrument": instrument.pk, "timeframe": timeframe, "file": file})


def test_the_instrument_list_links_to_the_import_page(admin_client, apple):
    page = admin_client.get("/admin/marketdata/instrument/")

    assert UPLOAD_URL.encode() in page.content
    assert b"Import bars from CSV" in page.content


def test_the_admin_upload_shows_the_report(admin_client, apple):
    form = admin_client.get(UPLOAD_URL, {"instrument": apple.pk})
    response = upload(
        admin_client,
        apple,
        (
            HEADER + "2026-03-02T14:30:00Z,100,101,99,100,10,1\n2026-03-02T14:29:00Z,100,101,99,100,10,1\n"
        ).encode(),
    )

    assert form.status_code == 200
    assert response.status_code == 200
    assert response.context["report"].imported == 1
    html = response.content.decode()
    assert "Rows read: <strong>2</strong>" in html
    assert "line 3: open_time 2026-03-02T14:29:00+00:00 goes back before the previous row" in html
    assert len(stored(apple)) == 1


def test_the_admin_upload_of_a_malformed_file_shows_the_error_and_writes_nothing(admin_client, apple):
    response = upload(admin_client, apple, b"\xff\xfe\x00garbage")

    assert response.status_code == 200
    assert response.context["report"] is None
    assert "not UTF-8" in " ".join(response.context["form"].errors["file"])
    assert stored(apple) == []


def test_the_import_page_needs_the_bar_permissions(client, apple):
    from accounts.tests.factories import UserFactory

    staff = UserFactory(is_staff=True)
    client.force_login(staff)

    assert client.get(UPLOAD_URL).status_code == 403
